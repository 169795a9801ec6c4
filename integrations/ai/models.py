"""Per-company AI settings, the log of every reply attempt, and reservations made by the AI.

Imported by integrations/models.py so Django registers them under the integrations app.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as dj_settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from conversations.models import Conversation
from integrations import crypto
from tenants.models import Company, CompanyOwned

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe"


class AISettings(CompanyOwned):
    """One row per company. ``is_active`` (computed) is what the pipeline obeys."""

    company = models.OneToOneField(
        Company, on_delete=models.CASCADE, related_name="ai_settings", verbose_name=_("company")
    )
    enabled = models.BooleanField(_("enabled"), default=False)
    base_url = models.URLField(
        _("provider base URL"),
        max_length=500,
        blank=True,
        default="",
        help_text=_(
            "OpenAI or any OpenAI-compatible server, e.g. http://localhost:11434/v1. "
            "Empty: the installation default (OPENAI_BASE_URL) or api.openai.com."
        ),
    )
    model = models.CharField(_("model"), max_length=120, default=DEFAULT_MODEL)
    transcription_model = models.CharField(
        _("transcription model"),
        max_length=120,
        default=DEFAULT_TRANSCRIPTION_MODEL,
        blank=True,
        help_text=_("Empty: audio messages are not transcribed."),
    )
    system_prompt = models.TextField(_("system prompt"), blank=True, default="")
    buffer_seconds = models.PositiveSmallIntegerField(
        _("buffer (seconds)"),
        default=10,
        validators=[MinValueValidator(0), MaxValueValidator(600)],
        help_text=_("Wait this long after the customer's last message before answering."),
    )
    max_wait_seconds = models.PositiveSmallIntegerField(
        _("maximum wait (seconds)"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(3600)],
        help_text=_("A customer who keeps typing is answered after this long anyway."),
    )
    split_long_replies = models.BooleanField(
        _("split long replies"),
        default=True,
        help_text=_("Send each paragraph as its own message, with a short pause between them."),
    )
    split_pause_seconds = models.FloatField(
        _("pause between parts (seconds)"),
        default=1.5,
        validators=[MinValueValidator(0), MaxValueValidator(30)],
    )
    tool_reservations = models.BooleanField(_("reservations tool (Google Sheets)"), default=False)
    tool_handoff = models.BooleanField(_("hand-off-to-a-human tool"), default=True)
    fallback_message = models.TextField(
        _("fallback message"),
        blank=True,
        default=_("Sorry, I could not answer right now. A person from our team will reply soon."),
        help_text=_(
            "Sent when the model fails after every retry; the ticket then goes to the "
            "hand-off queue."
        ),
    )
    handoff_queue = models.ForeignKey(
        "tickets.Queue",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("hand-off queue"),
    )
    sheets_spreadsheet_key = models.CharField(
        _("spreadsheet key"),
        max_length=200,
        blank=True,
        default="",
        help_text=_("The id in the sheet's URL: docs.google.com/spreadsheets/d/<key>/"),
    )
    sheets_worksheet = models.CharField(
        _("worksheet"),
        max_length=100,
        blank=True,
        default="Reservas",
    )
    max_context_chars = models.PositiveIntegerField(
        _("context budget (characters)"),
        default=8000,
        validators=[MinValueValidator(500), MaxValueValidator(200_000)],
    )
    request_timeout_seconds = models.PositiveSmallIntegerField(
        _("model timeout (seconds)"),
        default=45,
        validators=[MinValueValidator(1), MaxValueValidator(300)],
    )
    # {"api_key": ..., "sheets_service_account": "<json>"}, Fernet-encrypted.
    secrets_encrypted = models.TextField(_("secrets (encrypted)"), blank=True, default="")
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("AI settings")
        verbose_name_plural = _("AI settings")

    def __str__(self) -> str:
        return f"AI · {self.company}"

    # --- secrets ----------------------------------------------------------------------

    def get_secrets(self) -> dict[str, Any]:
        return crypto.decrypt_json(self.secrets_encrypted)

    def set_secret(self, name: str, value: str | None) -> None:
        """Set (non-empty) or remove (empty/None) one secret."""
        values = self.get_secrets()
        if value:
            values[name] = value
        else:
            values.pop(name, None)
        self.secrets_encrypted = crypto.encrypt_json(values)

    @property
    def api_key(self) -> str:
        return str(self.get_secrets().get("api_key", ""))

    @property
    def sheets_service_account(self) -> str:
        return str(self.get_secrets().get("sheets_service_account", ""))

    # --- effective state --------------------------------------------------------------

    @property
    def effective_base_url(self) -> str | None:
        return self.base_url or dj_settings.OPENAI_BASE_URL or None

    def inactive_reason(self) -> str:
        """Why the attendant is off ("" when it is on)."""
        if not self.enabled:
            return str(_("The attendant is turned off."))
        if not self.api_key:
            return str(_("No API key: the attendant stays off until one is saved."))
        if not self.model:
            return str(_("No model is set."))
        return ""

    @property
    def is_active(self) -> bool:
        return not self.inactive_reason()

    @property
    def sheets_configured(self) -> bool:
        return bool(self.sheets_spreadsheet_key and self.sheets_service_account)


class ReplyStatus(models.TextChoices):
    CALLING = "calling", _("Calling the model")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Nothing to do")
    FAILED = "failed", _("Failed")


class AIReplyLog(CompanyOwned):
    """One row per reply attempt that reached the model: what the monitor shows (state of
    a waiting conversation, latency and tokens of recent replies)."""

    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="ai_replies"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=ReplyStatus.choices, default=ReplyStatus.CALLING
    )
    attempt = models.PositiveSmallIntegerField(default=0)
    model = models.CharField(max_length=120, blank=True, default="")
    first_message_id = models.BigIntegerField(null=True, blank=True)
    last_message_id = models.BigIntegerField(null=True, blank=True)
    messages_answered = models.PositiveIntegerField(default=0)
    model_calls = models.PositiveSmallIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)  # model time only
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    total_tokens = models.PositiveIntegerField(default=0)
    tool_calls = models.JSONField(default=list, blank=True)  # ["reservation_create", ...]
    # Parts of a split reply: part 1 is stored with the reply, the rest by ai_send_part.
    parts = models.JSONField(default=list, blank=True)
    parts_sent = models.PositiveSmallIntegerField(default=0)
    reply_message_ids = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("AI reply")
        verbose_name_plural = _("AI replies")
        indexes = [
            models.Index(fields=["company", "started_at"]),
            models.Index(fields=["conversation", "started_at"]),
        ]

    def __str__(self) -> str:
        return f"AI reply #{self.pk} ({self.status})"


class ReservationAction(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")
    CANCELLED = "cancelled", _("Cancelled")


class AIReservation(CompanyOwned):
    """Each reservation change the AI made in the company's sheet. Metrics count
    ``action="created"`` rows as reservations made by the AI."""

    conversation = models.ForeignKey(
        "conversations.Conversation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reservation_id = models.CharField(max_length=64)
    action = models.CharField(max_length=10, choices=ReservationAction.choices)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("AI reservation")
        verbose_name_plural = _("AI reservations")
        indexes = [models.Index(fields=["company", "action", "created_at"])]
        constraints = [
            # A retried task re-running the same tool call records it once.
            models.UniqueConstraint(
                fields=["company", "reservation_id", "action"],
                condition=models.Q(action="created"),
                name="ai_reservation_created_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reservation_id} {self.action}"


class AIPendingConversation(Conversation):
    """Conversations waiting for an AI reply, across companies (the superusers' admin)."""

    class Meta:
        proxy = True
        verbose_name = _("AI buffer (pending conversation)")
        verbose_name_plural = _("AI buffers (pending conversations)")
