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
    seconds = models.FloatField()
    is_first = models.BooleanField(default=False)  # first reply since the ticket (re)opened

    class Meta:
        verbose_name = _("response time")
        verbose_name_plural = _("response times")
        indexes = [
            models.Index(fields=["company", "answered_at"]),
            models.Index(fields=["company", "responder", "answered_at"]),
        ]
