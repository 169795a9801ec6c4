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
