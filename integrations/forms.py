"""The staff form for an integration, built from its kind's fields (integrations.kinds).

Secret inputs never carry the stored value: a set secret shows a placeholder, and an
empty input keeps it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from integrations.kinds import spec_for
from integrations.models import Integration

SECRET_SET_PLACEHOLDER = _("•••• set — leave empty to keep")


class IntegrationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)

    def __init__(self, *args: Any, kind: str, instance: Integration | None = None, **kwargs: Any):
        self.kind = kind
        self.instance = instance
        spec = spec_for(kind)
        stored_settings = dict(instance.settings or {}) if instance else {}
        try:
            stored_secret_names = set(instance.get_secrets()) if instance else set()
        except ValueError:  # unreadable with the current keys: let the admin re-enter
            stored_secret_names = set()
        initial: dict[str, Any] = {"name": instance.name} if instance else {}
        initial.update({f"setting_{k}": v for k, v in stored_settings.items()})
        if instance is not None:
            initial["is_active"] = instance.is_active
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.setting_fields = []
        for field in spec.settings:
            name = f"setting_{field.name}"
            self.fields[name] = forms.CharField(
                label=str(field.label),
                help_text=str(field.help),
                required=False,
                max_length=500,
                widget=forms.URLInput() if field.kind == "url" else forms.TextInput(),
            )
            self.setting_fields.append(name)
        self.secret_fields = []
        for field in spec.secrets:
            name = f"secret_{field.name}"
            is_set = field.name in stored_secret_names
            attrs = {"autocomplete": "new-password"}
            if is_set:
                attrs["placeholder"] = str(SECRET_SET_PLACEHOLDER)
            self.fields[name] = forms.CharField(
                label=str(field.label),
                help_text=str(field.help),
                required=False,
                max_length=2000,
                strip=True,
                widget=forms.PasswordInput(render_value=False, attrs=attrs),
            )
            self.secret_fields.append(name)
            if is_set:
                self.fields[f"clear_{field.name}"] = forms.BooleanField(
                    label=_("Remove the stored value"), required=False
                )
        if instance is not None:
            self.fields["is_active"] = forms.BooleanField(label=_("Active"), required=False)

    def secret_rows(self) -> list[tuple[forms.BoundField, forms.BoundField | None]]:
        rows = []
        for name in self.secret_fields:
            clear = f"clear_{name.removeprefix('secret_')}"
            rows.append((self[name], self[clear] if clear in self.fields else None))
        return rows

    def settings_values(self) -> dict[str, str]:
        return {
            name.removeprefix("setting_"): self.cleaned_data.get(name, "")
            for name in self.setting_fields
        }

    def secrets_values(self) -> dict[str, str]:
        return {
            name.removeprefix("secret_"): self.cleaned_data.get(name, "")
            for name in self.secret_fields
        }

    def clear_values(self) -> list[str]:
        return [
            name.removeprefix("clear_")
            for name in self.fields
            if name.startswith("clear_") and self.cleaned_data.get(name)
        ]

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Put a service's ValidationError on the matching inputs."""
        for key, messages in errors.items():
            target = None
            for candidate in (key, f"setting_{key}", f"secret_{key}"):
                if candidate in self.fields:
                    target = candidate
                    break
            for message in messages:
                self.add_error(target, message)
