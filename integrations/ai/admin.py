"""Superusers' panel for the AI attendant: settings per company, every company's buffers,
reply attempts and reservations. Registered from IntegrationsConfig.ready()."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integrations import crypto

from . import services
from .forms import AISettingsForm
from .models import AIPendingConversation, AIReplyLog, AIReservation, AISettings


class AISettingsAdminForm(forms.ModelForm):
    api_key = forms.CharField(
        label=_("API key"),
        required=False,
        widget=forms.PasswordInput,
        help_text=_("Leave empty to keep the saved key."),
    )
    sheets_service_account = forms.CharField(
        label=_("Google service account (JSON)"),
        required=False,
        widget=forms.Textarea,
        help_text=_("Leave empty to keep the saved one."),
    )

    class Meta:
        model = AISettings
        fields = ["company", *AISettingsForm.Meta.fields]

    def save(self, commit: bool = True) -> AISettings:
        ai = super().save(commit=False)
        for name in ("api_key", "sheets_service_account"):
            if self.cleaned_data.get(name):
                ai.set_secret(name, self.cleaned_data[name])
        if commit:
            ai.save()
        return ai


@admin.register(AISettings)
class AISettingsAdmin(admin.ModelAdmin):
    form = AISettingsAdminForm
    list_display = [
        "company",
        "enabled",
        "active",
        "model",
        "base_url",
        "buffer_seconds",
        "masked_key",
        "updated_at",
    ]
    list_filter = ["enabled"]
    search_fields = ["company__name", "company__slug", "model"]
    list_select_related = ["company"]
    raw_id_fields = ["company", "handoff_queue"]

    @admin.display(boolean=True, description=_("active"))
    def active(self, obj: AISettings) -> bool:
        return obj.is_active

    @admin.display(description=_("API key"))
    def masked_key(self, obj: AISettings) -> str:
        return crypto.mask(obj.api_key)


@admin.register(AIPendingConversation)
class AIPendingConversationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "company",
        "contact",
        "ai_pending_since",
        "waiting_seconds",
        "ai_cursor_message_id",
    ]
    list_select_related = ["company", "contact"]
    list_filter = ["company"]
    ordering = ["ai_pending_since"]
    actions = ["reply_now"]
    fields = ["company", "contact", "integration", "ai_pending_since", "ai_cursor_message_id"]
    readonly_fields = [
        "company",
        "contact",
        "integration",
        "ai_pending_since",
        "ai_cursor_message_id",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).filter(ai_pending_since__isnull=False)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("waiting (s)"))
    def waiting_seconds(self, obj: Any) -> int:
        return int((timezone.now() - obj.ai_pending_since).total_seconds())

    @admin.action(description=_("Reply now"))
    def reply_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = sum(services.reply_now(conversation=c, actor=request.user) for c in queryset)
        self.message_user(request, _("%(n)d replies scheduled.") % {"n": done})


@admin.register(AIReplyLog)
class AIReplyLogAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "company",
        "conversation_id",
        "status",
        "attempt",
        "model",
        "messages_answered",
        "latency_ms",
        "total_tokens",
        "started_at",
    ]
    list_filter = ["status", "company"]
    list_select_related = ["company"]
    date_hierarchy = "started_at"
    raw_id_fields = ["conversation", "ticket"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AIReservation)
class AIReservationAdmin(admin.ModelAdmin):
    list_display = ["reservation_id", "company", "action", "created_at"]
    list_filter = ["action", "company"]
    list_select_related = ["company"]
    raw_id_fields = ["conversation", "ticket"]
    search_fields = ["reservation_id"]
