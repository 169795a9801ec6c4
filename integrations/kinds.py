"""What each kind of integration is configured with: settings (plain) and secrets
(encrypted, write-only). One table drives the staff form, the API and the admin."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from conversations.phones import normalize_phone


@dataclass(frozen=True)
class Field:
    name: str
    label: str | Promise
    help: str | Promise = ""
    kind: str = "text"  # text | url | phone


@dataclass(frozen=True)
class KindSpec:
    settings: tuple[Field, ...] = ()
    secrets: tuple[Field, ...] = ()

    def setting_names(self) -> set[str]:
        return {f.name for f in self.settings}

    def secret_names(self) -> set[str]:
        return {f.name for f in self.secrets}


_BASE_URL_HELP = gettext_lazy("Leave empty for the platform's public service.")

KINDS: dict[str, KindSpec] = {
    "chatwoot": KindSpec(
        settings=(
            Field(
                "base_url",
                gettext_lazy("Chatwoot URL"),
                gettext_lazy("Your Chatwoot's address, e.g. https://chat.example.com"),
                kind="url",
            ),
            Field(
                "account_id",
                gettext_lazy("Account id"),
                gettext_lazy("The number after /accounts/ in Chatwoot's address bar."),
            ),
            Field(
                "inbox_id",
                gettext_lazy("Inbox id"),
                gettext_lazy("Optional: only this inbox's conversations."),
            ),
        ),
        secrets=(
            Field(
                "api_token",
                gettext_lazy("API access token"),
                gettext_lazy(
                    "Profile settings → Access token (or an agent bot's token): sends replies."
                ),
            ),
            Field(
                "webhook_secret",
                gettext_lazy("Webhook secret"),
                gettext_lazy(
                    "The secret Chatwoot shows for the webhook; verifies what Chatwoot sends."
                ),
            ),
            Field(
                "url_token",
                gettext_lazy("URL token"),
                gettext_lazy(
                    "For old Chatwoot without signatures: append ?token=<this> to the webhook URL."
                ),
            ),
        ),
    ),
    "twilio": KindSpec(
        settings=(
            Field("account_sid", gettext_lazy("Account SID"), gettext_lazy("Starts with AC.")),
            Field(
                "phone_number",
                gettext_lazy("WhatsApp sender number"),
                gettext_lazy("E.164, e.g. +14155238886"),
                kind="phone",
            ),
            Field(
                "messaging_service_sid",
                gettext_lazy("Messaging Service SID"),
                gettext_lazy(
                    "Optional: send through a Messaging Service (MG…) instead of the number."
                ),
            ),
            Field("base_url", gettext_lazy("API base URL"), _BASE_URL_HELP, kind="url"),
        ),
        secrets=(
            Field(
                "auth_token",
                gettext_lazy("Auth token"),
                gettext_lazy("Twilio Console → Account info; signs webhooks and sends replies."),
            ),
            Field(
                "shared_key_secret",
                gettext_lazy("Webhook signing key secret"),
                gettext_lazy("Only if the account signs webhooks with a SharedKey."),
            ),
        ),
    ),
    "umbler": KindSpec(
        settings=(
            Field("organization_id", gettext_lazy("Organization id")),
            Field(
                "phone_number",
                gettext_lazy("Channel phone number"),
                gettext_lazy("The WhatsApp number replies are sent from, E.164."),
                kind="phone",
            ),
            Field("base_url", gettext_lazy("API base URL"), _BASE_URL_HELP, kind="url"),
        ),
        secrets=(
            Field(
                "api_token",
                gettext_lazy("API token"),
                gettext_lazy("Umbler Talk API token (Enterprise plan); used to send replies."),
            ),
            Field(
                "url_token",
                gettext_lazy("Webhook token"),
                gettext_lazy("Append ?token=<this> to the webhook URL you paste into Umbler."),
            ),
        ),
    ),
    "web": KindSpec(),
}


def spec_for(kind: str) -> KindSpec:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValidationError({"kind": _("Unknown integration kind.")}) from None


def _private_host(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def clean_url(value: str) -> str:
    """An http(s) URL; loopback and private addresses only where allowed (SSRF guard:
    company admins choose where our workers send requests)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(_("Enter a full http(s) URL."))
    allow_private = django_settings.OUTBOUND_ALLOW_PRIVATE_URLS
    if not allow_private and _private_host(parts.hostname.lower()):
        raise ValidationError(_("Private and loopback addresses are not allowed."))
    return value.rstrip("/")


def clean_settings(kind: str, values: dict[str, Any]) -> dict[str, str]:
    """Validate and normalise ``values`` for ``kind``; "" removes a setting."""
    spec = spec_for(kind)
    unknown = set(values) - spec.setting_names()
    if unknown:
        raise ValidationError(
            {"settings": _("Unknown settings: %(names)s") % {"names": ", ".join(sorted(unknown))}}
        )
    cleaned: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for field in spec.settings:
        if field.name not in values:
            continue
        raw = values[field.name]
        if raw is not None and not isinstance(raw, str | int):
            errors[field.name] = [_("Enter text.")]
            continue
        value = str(raw if raw is not None else "").strip()
        try:
            if value and field.kind == "url":
                value = clean_url(value)
            elif value and field.kind == "phone":
                phone = normalize_phone(value)
                if not phone:
                    raise ValidationError(_("Enter a phone number in E.164, e.g. +5511999990000."))
                value = phone
        except ValidationError as exc:
            errors[field.name] = exc.messages
            continue
        if len(value) > 500:
            errors[field.name] = [_("Too long.")]
            continue
        cleaned[field.name] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def clean_secrets(kind: str, values: dict[str, Any]) -> dict[str, str]:
    spec = spec_for(kind)
    unknown = set(values) - spec.secret_names()
    if unknown:
        raise ValidationError(
            {"secrets": _("Unknown secrets: %(names)s") % {"names": ", ".join(sorted(unknown))}}
        )
    cleaned = {}
    for name, raw in values.items():
        if raw is not None and not isinstance(raw, str):
            raise ValidationError({name: _("Enter text.")})
        value = (raw or "").strip()
        if len(value) > 2000:
            raise ValidationError({name: _("Too long.")})
        cleaned[name] = value
    return cleaned
