"""Chatwoot Application API client: sends an agent's reply into a Chatwoot conversation.

``POST {base_url}/api/v1/accounts/{account_id}/conversations/{display id}/messages`` with
the ``api_access_token`` header (a user's or an agent bot's token). Chatwoot echoes every
message created this way back as ``message_created``; ``content_attributes.atende_message_id``
carries our ``Message.client_id`` so the ingest side recognises the echo (README, "echo_key").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from integrations.clients import (
    OutboundMessage,
    PermanentSendError,
    SendResult,
    post_json,
    require,
    with_attachment_links,
)

ECHO_ATTRIBUTE = "atende_message_id"


class ChatwootClient:
    def __init__(self, *, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
        self.base_url = str(settings.get("base_url") or "").strip().rstrip("/")
        self.account_id = str(settings.get("account_id") or "").strip()
        self.api_token = str(secrets.get("api_token") or "").strip()

    def messages_url(self, conversation_id: str) -> str:
        return (
            f"{self.base_url}/api/v1/accounts/{quote(self.account_id, safe='')}"
            f"/conversations/{quote(conversation_id, safe='')}/messages"
        )

    def send(self, message: OutboundMessage) -> SendResult:
        require(
            {"base_url": self.base_url, "account_id": self.account_id, "api_token": self.api_token},
            "base_url",
            "account_id",
            "api_token",
            what="Chatwoot",
        )
        if not message.conversation_external_id:
            raise PermanentSendError("the conversation has no Chatwoot id", code="no_conversation")
        payload = {
            "content": with_attachment_links(message),
            "message_type": "outgoing",
            "private": False,
            "content_attributes": {ECHO_ATTRIBUTE: message.client_id},
        }
        body = post_json(
            self.messages_url(message.conversation_external_id),
            payload=payload,
            headers={"api_access_token": self.api_token},
        )
        return SendResult(external_id=str(body.get("id") or ""), raw=body)
