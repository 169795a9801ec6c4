"""Queues (sectors), tickets (the unit of work on a conversation) and their timeline."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tenants.models import CompanyOwned


class DistributionRule(models.TextChoices):
    MANUAL = "manual", _("Manual")
    ROUND_ROBIN = "round_robin", _("Round robin")
    LEAST_BUSY = "least_busy", _("Least busy")


class Queue(CompanyOwned):
    name = models.CharField(_("name"), max_length=100)
    color = models.CharField(_("color"), max_length=7, default="#0f766e")
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="queues", verbose_name=_("members")
    )
    greeting = models.TextField(_("greeting message"), blank=True, default="")
    distribution = models.CharField(
        _("distribution"), max_length=20, choices=DistributionRule.choices,
        default=DistributionRule.MANUAL,
    )
    # {"mon": [["08:00", "18:00"]], ...}; empty = follow the company's hours.
    business_hours = models.JSONField(_("business hours"), default=dict, blank=True)
    out_of_hours_message = models.TextField(_("out-of-hours reply"), blank=True, default="")
    is_default = models.BooleanField(_("default queue"), default=False)
    # Ids of the matching team/sector on platforms: {"<integration id>": "<team id>"}.
    external_refs = models.JSONField(default=dict, blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # Round robin: the member who got the last ticket (tickets.services.routing).
    last_routed_user_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="queue_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class TicketStatus(models.TextChoices):
    PENDING = "pending", _("Pending")  # waiting in a queue
    OPEN = "open", _("Open")  # with an agent
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Complexity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


ACTIVE_STATUSES = (TicketStatus.PENDING, TicketStatus.OPEN)


class TicketCounter(models.Model):
    """Per-company ticket numbers, taken with a row lock (gap-free, no races)."""

    company = models.OneToOneField("tenants.Company", on_delete=models.CASCADE, primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.company_id}: {self.last_number}"


class Ticket(CompanyOwned):
    number = models.PositiveIntegerField(_("number"))
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="tickets"
    )
    contact = models.ForeignKey(
        "conversations.Contact", on_delete=models.CASCADE, related_name="tickets"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=TicketStatus.choices, default=TicketStatus.PENDING
    )
    queue = models.ForeignKey(
        Queue, on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="assigned_tickets", verbose_name=_("assignee"),
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.MEDIUM
    )
    tags = models.JSONField(_("tags"), default=list, blank=True)
    # Web form ("Abrir chamado") fields.
    title = models.CharField(_("title"), max_length=200, blank=True, default="")
    description = models.TextField(_("description"), blank=True, default="")
    complexity = models.CharField(
        _("complexity"), max_length=10, choices=Complexity.choices, blank=True, default=""
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="requested_tickets", verbose_name=_("requester"),
    )
    requested_for_name = models.CharField(max_length=200, blank=True, default="")
    requested_for_email = models.EmailField(blank=True, default="")
    requested_for_phone = models.CharField(max_length=32, blank=True, default="")
    # The AI attendant: paused when staff take over.
    ai_paused = models.BooleanField(_("AI paused"), default=False)
    unread_count = models.PositiveIntegerField(default=0)
    # Oldest customer message not yet answered (None when nothing waits).
    waiting_since = models.DateTimeField(null=True, blank=True)
    out_of_hours_sent = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    queued_at = models.DateTimeField(null=True, blank=True)  # entered its current queue
    assigned_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)  # since last (re)open
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [
            models.UniqueConstraint(fields=["company", "number"], name="ticket_unique_number"),
            # One active (pending/open) ticket per conversation.
            models.UniqueConstraint(
                fields=["conversation"], condition=Q(status__in=["pending", "open"]),
                name="ticket_one_active_per_conversation",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "status", "queue"]),
            models.Index(fields=["company", "assignee", "status"]),
            models.Index(fields=["company", "last_message_at"]),
            models.Index(fields=["company", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"


class TicketEventKind(models.TextChoices):
    CREATED = "created", _("Created")
    ASSIGNED = "assigned", _("Assigned")
    UNASSIGNED = "unassigned", _("Unassigned")
    TRANSFERRED = "transferred", _("Transferred")
    STATUS_CHANGED = "status_changed", _("Status changed")
    RESOLVED = "resolved", _("Resolved")
    REOPENED = "reopened", _("Reopened")
    PRIORITY_CHANGED = "priority_changed", _("Priority changed")
    TAGS_CHANGED = "tags_changed", _("Tags changed")
    AI_PAUSED = "ai_paused", _("AI paused")
    AI_RESUMED = "ai_resumed", _("AI resumed")
    NOTE = "note", _("Note")


class TicketEvent(CompanyOwned):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=TicketEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who did it when not a user of ours: "Chatwoot: Douglas", "AI", "system".
    actor_label = models.CharField(max_length=200, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)  # {from, to, queue ids, ...}
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        indexes = [models.Index(fields=["ticket", "created_at"])]
        ordering = ["created_at", "id"]


class QuickReply(CompanyOwned):
    """A canned answer typed as ``/shortcut``: company-wide (owner empty) or personal."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
        related_name="quick_replies", verbose_name=_("owner"),
        help_text=_("Empty: available to everyone in the company."),
    )
    shortcut = models.SlugField(_("shortcut"), max_length=40, allow_unicode=True)
    content = models.TextField(_("content"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("quick reply")
        verbose_name_plural = _("quick replies")
        ordering = ["shortcut"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "shortcut"], condition=Q(owner__isnull=True),
                name="quick_reply_unique_company_shortcut",
            ),
            models.UniqueConstraint(
                fields=["company", "owner", "shortcut"], condition=Q(owner__isnull=False),
                name="quick_reply_unique_personal_shortcut",
            ),
        ]

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class ScheduledStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


class ScheduledMessage(CompanyOwned):
    """A reply to send later (Celery beat: tickets.tasks.send_due_scheduled_messages)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="scheduled_messages")
    content = models.TextField(_("content"))
    send_at = models.DateTimeField(_("send at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ScheduledStatus.choices,
        default=ScheduledStatus.SCHEDULED,
    )
    message = models.ForeignKey(
        "conversations.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("scheduled message")
        verbose_name_plural = _("scheduled messages")
        ordering = ["send_at", "id"]
        indexes = [
            models.Index(
                fields=["send_at"], condition=Q(status="scheduled"), name="scheduled_due"
            ),
            models.Index(fields=["company", "ticket", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.ticket} @ {self.send_at:%Y-%m-%d %H:%M}"


class ChatwootContactLink(CompanyOwned):
    """One Chatwoot Client API contact per user and inbox (the web form mirrors requests
    there): kept so every request of a user lands on the same Chatwoot contact."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chatwoot_links"
    )
    inbox_identifier = models.CharField(max_length=100)
    contact_identifier = models.CharField(max_length=100)
    pubsub_token = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "user", "inbox_identifier"], name="chatwoot_link_unique"
            )
        ]
