"""The AI settings form for company admins (secrets write-only, masked on display)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tickets.models import Queue

from .models import AISettings


class AISettingsForm(forms.ModelForm):
    api_key = forms.CharField(
        label=_("API key"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text=_("Leave empty to keep the saved key."),
    )
    clear_api_key = forms.BooleanField(label=_("Remove the saved key"), required=False)
    sheets_service_account = forms.CharField(
        label=_("Google service account (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}),
        help_text=_(
            "Paste the key file of a service account the sheet is shared with. "
            "Leave empty to keep the saved one."
        ),
    )
    clear_sheets_service_account = forms.BooleanField(
        label=_("Remove the saved service account"), required=False
    )

    # How the settings page lays the model fields out (secrets are placed by hand).
    GROUPS = {
        "model": ["enabled", "base_url", "model", "transcription_model", "system_prompt"],
        "replies": [
            "buffer_seconds",
            "max_wait_seconds",
            "split_long_replies",
            "split_pause_seconds",
            "fallback_message",
            "handoff_queue",
            "max_context_chars",
            "request_timeout_seconds",
        ],
        "tools": [
            "tool_handoff",
            "tool_reservations",
            "sheets_spreadsheet_key",
            "sheets_worksheet",
        ],
    }

    class Meta:
        model = AISettings
        fields = [
            "enabled",
            "base_url",
            "model",
            "transcription_model",
            "system_prompt",
            "buffer_seconds",
            "max_wait_seconds",
            "split_long_replies",
            "split_pause_seconds",
            "tool_handoff",
            "tool_reservations",
            "fallback_message",
            "handoff_queue",
            "sheets_spreadsheet_key",
            "sheets_worksheet",
            "max_context_chars",
            "request_timeout_seconds",
        ]
        widgets = {
            "system_prompt": forms.Textarea(attrs={"rows": 6}),
            "fallback_message": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, company: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["handoff_queue"].queryset = Queue.objects.for_company(company)  # type: ignore[attr-defined]

    def clean_sheets_service_account(self) -> str:
        raw = self.cleaned_data.get("sheets_service_account", "").strip()
        if not raw:
            return ""
        try:
            info = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(_("This is not valid JSON.")) from exc
        if (
            not isinstance(info, dict)
            or not info.get("client_email")
            or not info.get("private_key")
        ):
            raise forms.ValidationError(
                _("A service-account key file has client_email and private_key.")
            )
        return json.dumps(info)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        buffer_s, max_wait = data.get("buffer_seconds"), data.get("max_wait_seconds")
        if buffer_s is not None and max_wait is not None and max_wait < buffer_s:
            self.add_error(
                "max_wait_seconds", _("The maximum wait cannot be shorter than the buffer.")
            )
        return data

    def save(self, commit: bool = True) -> AISettings:
        ai = super().save(commit=False)
        for name in ("api_key", "sheets_service_account"):
            if self.cleaned_data.get(f"clear_{name}"):
                ai.set_secret(name, None)
            elif self.cleaned_data.get(name):
                ai.set_secret(name, self.cleaned_data[name])
        if commit:
            ai.save()
        return ai
