"""Outbound sending: the contract every platform client follows, and its errors.

A client (``integrations/<platform>/client.py``) takes an integration's settings and
decrypted secrets and sends one ``OutboundMessage``. It does network I/O only, never the
ORM, so the send task can call it outside any transaction. It raises:

- ``TransientSendError`` for what may work later (timeouts, connection errors, 429, 5xx):
  the task retries with backoff;
- ``PermanentSendError`` for what never will (4xx, missing configuration): the message is
  marked failed with the platform's reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import requests
from django.conf import settings as django_settings

if TYPE_CHECKING:
    from integrations.models import Integration

__all__ = [
    "Client",
    "OutboundMessage",
    "PermanentSendError",
    "SendError",
    "SendResult",
    "TransientSendError",
    "client_for",
    "post_json",
]

# Error texts from platforms end up on screen and in logs: keep them readable.
MAX_ERROR_TEXT = 500


class SendError(Exception):
    """A send did not happen. ``code`` is short and machine-readable (an HTTP status, a
    platform error code or one of ours such as ``not_configured``); ``reason`` is for people."""

    def __init__(self, reason: str, *, code: str = "", status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason[:MAX_ERROR_TEXT]
        self.code = code[:40]
        self.status = status

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}" if self.code else self.reason


class TransientSendError(SendError):
    """Timeouts, connection errors, 429 and 5xx: retried with backoff."""


class PermanentSendError(SendError):
    """4xx with the platform's reason, or a configuration problem: marked failed."""


@dataclass(frozen=True)
class OutboundMessage:
    """What a client needs to send one message; built by the send task from the rows."""

    client_id: str  # our Message.client_id: platforms that echo carry it back
    content: str
    conversation_external_id: str = ""
    contact_phone: str = ""  # E.164, for phone-addressed platforms
    contact_name: str = ""
    attachments: tuple[Mapping[str, Any], ...] = ()  # [{url, kind, mime_type, filename}]
    status_callback: str = ""  # our webhook URL, for platforms that report delivery there


@dataclass(frozen=True)
class SendResult:
    external_id: str  # the platform's message id ("" when it does not give one)
    raw: Mapping[str, Any] = field(default_factory=dict)


class Client(Protocol):
    def send(self, message: OutboundMessage) -> SendResult: ...


def timeout() -> float:
    return float(django_settings.OUTBOUND_HTTP_TIMEOUT)


def require(values: Mapping[str, Any], *names: str, what: str) -> list[str]:
    """The named values, or PermanentSendError naming the ones that are missing."""
    missing = [n for n in names if not str(values.get(n) or "").strip()]
    if missing:
        raise PermanentSendError(
            f"{what} is not configured: {', '.join(missing)}", code="not_configured"
        )
    return [str(values[n]).strip() for n in names]


def error_reason(response: requests.Response) -> str:
    """The platform's own words for a failed request, whatever its error shape."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:MAX_ERROR_TEXT] or response.reason or ""
    if isinstance(body, dict):
        for key in ("message", "error", "errors", "detail", "Message", "title", "description"):
            value = body.get(key)
            if value:
                if isinstance(value, list | tuple):
                    value = "; ".join(str(v) for v in value)
                return str(value)[:MAX_ERROR_TEXT]
    return str(body)[:MAX_ERROR_TEXT]


def classify_status(status: int, reason: str) -> SendError:
    """429 and 5xx may work later; any other 4xx will not."""
    if status == 429 or status >= 500:
        return TransientSendError(reason or f"HTTP {status}", code=str(status), status=status)
    return PermanentSendError(reason or f"HTTP {status}", code=str(status), status=status)


def post_json(
    url: str, *, payload: Mapping[str, Any], headers: Mapping[str, str]
) -> dict[str, Any]:
    """POST JSON and return the JSON answer, mapping every failure to a SendError."""
    try:
        response = requests.post(url, json=dict(payload), headers=dict(headers), timeout=timeout())
    except requests.Timeout as exc:
        raise TransientSendError(f"timed out: {exc}", code="timeout") from exc
    except requests.ConnectionError as exc:
        raise TransientSendError(f"connection failed: {exc}", code="connection") from exc
    except requests.RequestException as exc:  # invalid URL and friends: config problems
        raise PermanentSendError(str(exc), code="request") from exc
    if not 200 <= response.status_code < 300:
        raise classify_status(response.status_code, error_reason(response))
    try:
        body = response.json()
    except ValueError:
        body = {}
    return body if isinstance(body, dict) else {"data": body}


def with_attachment_links(message: OutboundMessage) -> str:
    """Text plus one line per attachment URL, for APIs that take no media URL."""
    links = [str(a.get("url")) for a in message.attachments if a.get("url")]
    return "\n".join([message.content, *links]).strip() if links else message.content


def client_for(integration: Integration) -> Client | None:
    """The client that sends through ``integration``; None for kinds that send nothing
    (the web form: the requester reads replies in Atende itself)."""
    secrets = integration.get_secrets()
    config = integration.settings or {}
    if integration.kind == "chatwoot":
        from integrations.chatwoot.client import ChatwootClient

        return ChatwootClient(settings=config, secrets=secrets)
    if integration.kind == "twilio":
        from integrations.twilio.client import TwilioClient

        return TwilioClient(settings=config, secrets=secrets)
    if integration.kind == "umbler":
        from integrations.umbler.client import UmblerClient

        return UmblerClient(settings=config, secrets=secrets)
    return None
