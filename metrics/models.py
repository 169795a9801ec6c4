"""Response times, recorded as replies are ingested or sent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.models import CompanyOwned


class ResponderType(models.TextChoices):
    AGENT = "agent", _("Agent")
    BOT = "bot", _("Bot")


class ResponseTime(CompanyOwned):
    """One row each time a reply answers one or more waiting customer messages."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    message = models.OneToOneField(
        "conversations.Message", on_delete=models.CASCADE, related_name="response_time"
    )
    responder_type = models.CharField(max_length=10, choices=ResponderType.choices)
    responder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    queue = models.ForeignKey(
        "tickets.Queue", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    waited_since = models.DateTimeField()
    answered_at = models.DateTimeField()
    seconds = models.FloatField()  # answered_at - waited_since
    is_first = models.BooleanField(default=False)  # first reply since the ticket (re)opened
    # First reply by a person (the bot never counts) since the ticket (re)opened: the
    # row agent metrics use for "first response".
    is_first_agent = models.BooleanField(default=False)
    # Which open/reopen cycle of the ticket this reply belongs to (Ticket.reopen_count).
    cycle = models.PositiveIntegerField(default=0)
    # On first replies only: from the ticket entering its queue (sector metrics) and from
    # its assignment (agent metrics); None when the clock never started.
    seconds_from_queue = models.FloatField(null=True, blank=True)
    seconds_from_assignment = models.FloatField(null=True, blank=True)
    # The same three durations counted in business hours only, computed when the row is
    # recorded with the hours in force then (docs/metrics.md: when hours change).
    business_seconds = models.FloatField(null=True, blank=True)
    business_seconds_from_queue = models.FloatField(null=True, blank=True)
    business_seconds_from_assignment = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = _("response time")
        verbose_name_plural = _("response times")
        indexes = [
            models.Index(fields=["company", "answered_at"]),
            models.Index(fields=["company", "responder", "answered_at"]),
            models.Index(fields=["company", "queue", "answered_at"]),
            models.Index(fields=["ticket", "cycle"]),
        ]


# --- roll-ups ----------------------------------------------------------------------------
# Maintained on write by metrics.rollups (same transaction as the source rows) and rebuilt
# from the source rows by `manage.py metrics_rebuild`. Days and hours are the company's
# local ones. Key columns that would be nullable hold 0 instead ("none"), so the unique
# keys that INSERT ... ON CONFLICT targets stay plain. See docs/metrics.md.


class MessageVolume(CompanyOwned):
    """Non-private messages per local day x hour x direction x sender type (x the agent
    who sent them, for agents' outbound messages)."""

    day = models.DateField()
    hour = models.PositiveSmallIntegerField()
    direction = models.CharField(max_length=10)
    sender_type = models.CharField(max_length=10)
    sender_user_id = models.BigIntegerField(default=0)  # agent replies only; 0 otherwise
    n = models.PositiveIntegerField(default=0)
    # Bit i set: a message in minutes 15i..15i+14 of the hour (the agents' activity slots).
    quarters = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("message volume")
        verbose_name_plural = _("message volumes")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "day", "hour", "direction", "sender_type", "sender_user_id"],
                name="metrics_msgvolume_key",
            )
        ]


class ContactDay(CompanyOwned):
    """A contact who sent at least one (non-private) message on a local day."""

    day = models.DateField()
    contact_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("active contact")
        verbose_name_plural = _("active contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "day", "contact_id"], name="metrics_contactday_key"
            )
        ]


class AgentTicketDay(CompanyOwned):
    """An agent who sent at least one (non-private) message on a ticket on a local day."""

    day = models.DateField()
    agent_id = models.BigIntegerField()
    ticket_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("agent ticket day")
        verbose_name_plural = _("agent ticket days")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "day", "agent_id", "ticket_id"],
                name="metrics_agentticketday_key",
            )
        ]


class RollupScope(models.TextChoices):
    COMPANY = "company", _("Company")
    AGENT = "agent", _("Agent")
    QUEUE = "queue", _("Queue")


class HistogramBucket(CompanyOwned):
    """One bucket of a figure's histogram for a scope (the whole company, one agent or
    one queue): how many values fell in it, their sum, smallest and largest. The
    period column (day or week) belongs to each table."""

    scope = models.CharField(max_length=10, choices=RollupScope.choices)
    scope_id = models.BigIntegerField(default=0)  # the agent's or queue's id; 0 for company
    metric = models.CharField(max_length=20)
    bucket = models.PositiveSmallIntegerField()
    n = models.PositiveIntegerField(default=0)
    total = models.FloatField(default=0.0)
    lo = models.FloatField(default=0.0)
    hi = models.FloatField(default=0.0)

    class Meta:
        abstract = True


class ResponseTimeBucket(HistogramBucket):
    """A histogram bucket of one response-time figure for a local day and a scope (the
    whole company, one agent or one queue), in wall-clock or business-hours seconds:
    how many values fell in it, their sum, smallest and largest (metrics.rollups)."""

    business = models.BooleanField(default=False)
    day = models.DateField()

    class Meta:
        verbose_name = _("response-time bucket")
        verbose_name_plural = _("response-time buckets")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "business", "day", "scope", "scope_id", "metric", "bucket"],
                name="metrics_rtbucket_key",
            )
        ]


class ResponseTimeWeek(HistogramBucket):
    """The same buckets as ResponseTimeBucket summed over a local ISO week (``week`` is
    its Monday): kept on write by the same statement as the daily rows, rebuilt from
    them. Long periods read whole weeks here and only the partial weeks at either end
    from the daily rows (metrics.selectors, docs/metrics.md "Weekly buckets")."""

    business = models.BooleanField(default=False)
    week = models.DateField()

    class Meta:
        verbose_name = _("weekly response-time bucket")
        verbose_name_plural = _("weekly response-time buckets")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "business", "week", "scope", "scope_id", "metric", "bucket"],
                name="metrics_rtweek_key",
            )
        ]


class TicketBucket(HistogramBucket):
    """Ticket figures per local day and scope, kept by a PostgreSQL trigger on
    tickets_ticket (migration 0007, docs/metrics.md): counters (bucket 0) "created" (by
    creation day; company and current queue), "resolved" and "reopened"; histograms
    "resolution", "handling" (by resolution day) and "queue_wait" (by assignment day) of
    the ticket's current state, in wall-clock seconds."""

    day = models.DateField()
    # Signed: the trigger also subtracts from it when a ticket leaves the bucket.
    n = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("ticket bucket")
        verbose_name_plural = _("ticket buckets")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "day", "scope", "scope_id", "metric", "bucket"],
                name="metrics_ticketbucket_key",
            )
        ]


class TicketWeek(HistogramBucket):
    """The same ticket figures as TicketBucket summed over a local ISO week (``week`` is
    its Monday). Kept by the same trigger, which recomputes a touched week's bucket from
    its days, so a weekly row always equals its days' rows (sums, smallest, largest);
    rebuilt from them. Long periods read whole weeks here (docs/metrics.md)."""

    week = models.DateField()
    n = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("weekly ticket bucket")
        verbose_name_plural = _("weekly ticket buckets")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "week", "scope", "scope_id", "metric", "bucket"],
                name="metrics_ticketweek_key",
            )
        ]
