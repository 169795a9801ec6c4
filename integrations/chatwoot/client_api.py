"""Chatwoot's *Client* API (``/public/api/v1/inboxes/<inbox identifier>/...``): acting as
the end user of an API-channel inbox. Atende's web ticket form mirrors requests through it
(tickets/services/webform.py). Plain ``requests``; the base URL is configurable so tests
run it against a fake server on loopback.

Endpoints used (Chatwoot docs, "Client APIs"):
- ``POST /public/api/v1/inboxes/{inbox}/contacts`` -> ``{"source_id", "pubsub_token", ...}``
  (``identifier_hash`` = HMAC-SHA256 of ``identifier`` with the inbox's HMAC token when
  the inbox enforces identity validation);
- ``POST /public/api/v1/inboxes/{inbox}/contacts/{source_id}/conversations`` -> ``{"id"}``;
- ``POST .../contacts/{source_id}/conversations/{id}/messages`` -> ``{"id", ...}``.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings


class ClientAPIError(Exception):
    """The Chatwoot Client API failed; ``transient`` errors are worth retrying."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class ChatwootClientAPI:
    def __init__(
        self,
        *,
        base_url: str,
        inbox_identifier: str,
        hmac_token: str = "",
        timeout: float | None = None,
        session: requests.Session | None = None,
    ) -> None:
        if not base_url.startswith(("https://", "http://")) or not inbox_identifier:
            raise ClientAPIError("the Chatwoot Client API is not configured", transient=False)
        self.base = (
            f"{base_url.rstrip('/')}/public/api/v1/inboxes/{quote(inbox_identifier, safe='')}"
        )
        self.hmac_token = hmac_token
        self.timeout = timeout if timeout is not None else settings.OUTBOUND_HTTP_TIMEOUT
        self.session = session or requests.Session()

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.session.post(f"{self.base}{path}", json=payload, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ClientAPIError(f"network error: {exc}", transient=True) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise ClientAPIError(f"HTTP {response.status_code}", transient=True)
        if response.status_code >= 400:
            raise ClientAPIError(
                f"HTTP {response.status_code}: {response.text[:300]}", transient=False
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise ClientAPIError("the answer is not JSON", transient=True) from exc
        if not isinstance(body, dict):
            raise ClientAPIError("unexpected answer", transient=False)
        return body

    def identifier_hash(self, identifier: str) -> str:
        return hmac.new(self.hmac_token.encode(), identifier.encode(), hashlib.sha256).hexdigest()

    def create_contact(
        self, *, identifier: str, name: str, email: str = "", phone_number: str = ""
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"identifier": identifier, "name": name}
        if email:
            payload["email"] = email
        if phone_number:
            payload["phone_number"] = phone_number
        if self.hmac_token:
            payload["identifier_hash"] = self.identifier_hash(identifier)
        body = self._post("/contacts", payload)
        if not body.get("source_id"):
            raise ClientAPIError("no source_id in the contact answer", transient=False)
        return body

    def create_conversation(
        self, *, contact_identifier: str, custom_attributes: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body = self._post(
            f"/contacts/{quote(contact_identifier, safe='')}/conversations",
            {"custom_attributes": custom_attributes or {}},
        )
        if not body.get("id"):
            raise ClientAPIError("no id in the conversation answer", transient=False)
        return body

    def create_message(
        self, *, contact_identifier: str, conversation_id: str, content: str, echo_id: str = ""
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"content": content}
        if echo_id:
            payload["echo_id"] = echo_id
        return self._post(
            f"/contacts/{quote(contact_identifier, safe='')}/conversations/"
            f"{quote(str(conversation_id), safe='')}/messages",
            payload,
        )
