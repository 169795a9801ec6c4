"""Umbler Talk client: ``POST {base_url}/v1/messages/simplified/`` with a Bearer token.

The body is ``{toPhone, fromPhone, organizationId, message}`` (INTEGRATIONS.md §4). The
answer's shape is not documented; the message id is taken from the usual keys when present.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.clients import (
    OutboundMessage,
    PermanentSendError,
    SendResult,
    post_json,
    require,
    with_attachment_links,
)

DEFAULT_BASE_URL = "https://app-utalk.umbler.com/api"


def _message_id(body: Mapping[str, Any]) -> str:
    for key in ("Id", "id", "messageId", "MessageId"):
        if body.get(key):
            return str(body[key])
    for key in ("Message", "message", "data", "Data"):
        nested = body.get(key)
        if isinstance(nested, Mapping):
            found = _message_id(nested)
            if found:
                return found
    return ""


class UmblerClient:
    def __init__(self, *, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
        self.base_url = str(settings.get("base_url") or DEFAULT_BASE_URL).strip().rstrip("/")
        self.organization_id = str(settings.get("organization_id") or "").strip()
        self.from_phone = str(settings.get("phone_number") or "").strip()
        self.api_token = str(secrets.get("api_token") or "").strip()

    def send(self, message: OutboundMessage) -> SendResult:
        require(
            {
                "organization_id": self.organization_id,
                "phone_number": self.from_phone,
                "api_token": self.api_token,
            },
            "organization_id",
            "phone_number",
            "api_token",
            what="Umbler Talk",
        )
        if not message.contact_phone:
            raise PermanentSendError("the contact has no phone number", code="no_phone")
        payload: dict[str, Any] = {
            "toPhone": message.contact_phone,
            "fromPhone": self.from_phone,
            "organizationId": self.organization_id,
            "message": with_attachment_links(message),
        }
        if message.contact_name:
            payload["contactName"] = message.contact_name
        body = post_json(
            f"{self.base_url}/v1/messages/simplified/",
            payload=payload,
            headers={"Authorization": f"Bearer {self.api_token}"},
        )
        return SendResult(external_id=_message_id(body), raw=body)
