"""Superuser panel: integrations (write-only secrets), the raw webhook log with replay, logs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from integrations import kinds
from integrations.api.serializers import body_text
from integrations.forms import SECRET_SET_PLACEHOLDER
from integrations.models import Integration, LogEntry, WebhookEvent

SECRET_NAMES = sorted({f.name for spec in kinds.KINDS.values() for f in spec.secrets})


class IntegrationAdminForm(forms.ModelForm):
    """Secrets are typed in, never shown: an empty input keeps the stored value."""

    class Meta:
        model = Integration
        fields = ["company", "kind", "name", "is_active", "settings"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        try:
            stored = set(self.instance.get_secrets()) if self.instance.pk else set()
        except ValueError:
            stored = set()
        for name in SECRET_NAMES:
            attrs = {"autocomplete": "new-password"}
            if name in stored:
                attrs["placeholder"] = str(SECRET_SET_PLACEHOLDER)
            self.fields[f"secret_{name}"] = forms.CharField(
                label=name,
                required=False,
                strip=True,
                widget=forms.PasswordInput(render_value=False, attrs=attrs),
            )
            if name in stored:
                self.fields[f"clear_{name}"] = forms.BooleanField(
                    label=_("Remove %(name)s") % {"name": name}, required=False
                )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind") or self.instance.kind
        if not kind:
            return data
        try:
            data["settings"] = kinds.clean_settings(kind, dict(data.get("settings") or {}))
            given = {
                n: data.get(f"secret_{n}", "") for n in SECRET_NAMES if data.get(f"secret_{n}")
            }
            self.new_secrets = kinds.clean_secrets(kind, given)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc
        return data

    def save(self, commit: bool = True) -> Integration:
        integration = super().save(commit=False)
        try:
            current = integration.get_secrets() if integration.pk else {}
        except ValueError:
            current = {}
        for name in SECRET_NAMES:
            if self.cleaned_data.get(f"clear_{name}"):
                current.pop(name, None)
        current.update(getattr(self, "new_secrets", {}))
        integration.set_secrets(current)
        if commit:
            integration.save()
        return integration


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    form = IntegrationAdminForm
    list_display = [
        "name",
        "company",
        "kind",
        "is_active",
        "masked",
        "webhook",
        "last_event_at",
        "last_send_ok_at",
        "last_send_error_at",
    ]
    list_filter = ["kind", "is_active", "company"]
    search_fields = ["name", "public_id", "company__name", "company__slug"]
    list_select_related = ["company"]
    autocomplete_fields = ["company"]
    readonly_fields = [
        "public_id",
        "webhook",
        "masked",
        "last_event_at",
        "last_send_ok_at",
        "last_send_error_at",
        "last_send_error",
        "created_at",
    ]

    @admin.display(description=_("secrets"))
    def masked(self, obj: Integration) -> str:
        try:
            values = obj.masked_secrets()
        except ValueError:
            return str(_("unreadable: check ATENDE_ENCRYPTION_KEYS"))
        return ", ".join(f"{k}={v}" for k, v in sorted(values.items())) or "—"

    @admin.display(description=_("webhook URL"))
    def webhook(self, obj: Integration) -> str:
        return obj.webhook_url() if obj.pk else "—"


@admin.action(description=_("Replay selected"))
def replay_selected(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    from integrations.services.webhooks import webhook_replay

    done = 0
    for event in queryset.order_by("id"):
        webhook_replay(event=event, actor=request.user)
        done += 1
    modeladmin.message_user(
        request, _("%(count)d events replayed.") % {"count": done}, messages.SUCCESS
    )


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "company",
        "integration",
        "kind",
        "status",
        "delivery_id",
        "http_status",
        "attempts",
        "received_at",
        "processing_ms",
    ]
    list_filter = ["status", "kind", "company"]
    search_fields = ["delivery_id"]
    list_select_related = ["company", "integration"]
    date_hierarchy = "received_at"
    actions = [replay_selected]
    exclude = ["body"]
    readonly_fields = [
        "company",
        "integration",
        "kind",
        "delivery_id",
        "status",
        "error",
        "http_status",
        "attempts",
        "received_at",
        "processed_at",
        "processing_ms",
        "content_type",
        "url",
        "headers",
        "query",
        "body_truncated",
        "body_as_text",
    ]

    @admin.display(description=_("body"))
    def body_as_text(self, obj: WebhookEvent) -> str:
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', body_text(obj))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(LogEntry)
class LogEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "company", "integration", "level", "source", "message"]
    list_filter = ["level", "source", "company"]
    search_fields = ["message", "source"]
    list_select_related = ["company", "integration"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "company",
        "integration",
        "level",
        "source",
        "message",
        "context",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
