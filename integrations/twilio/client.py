"""Twilio WhatsApp client: the official ``twilio`` library, pointed at a configurable base.

``client.api.base_url`` is a plain attribute read on every request (INTEGRATIONS.md §3.5),
so ``settings["base_url"]`` (default https://api.twilio.com) redirects the real library to a
fake server in tests. ``status_callback`` is our webhook URL, so delivery statuses come
back to the same endpoint as inbound messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioRest

from integrations.clients import (
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
    classify_status,
    require,
    timeout,
)

DEFAULT_BASE_URL = "https://api.twilio.com"


def whatsapp_address(number: str) -> str:
    number = number.strip()
    if number.lower().startswith("whatsapp:"):
        return "whatsapp:" + number.split(":", 1)[1].strip()
    return f"whatsapp:{number}"


class TwilioClient:
    def __init__(self, *, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
        self.base_url = str(settings.get("base_url") or DEFAULT_BASE_URL).strip().rstrip("/")
        self.account_sid = str(settings.get("account_sid") or "").strip()
        self.from_number = str(settings.get("phone_number") or "").strip()
        self.messaging_service_sid = str(settings.get("messaging_service_sid") or "").strip()
        self.auth_token = str(secrets.get("auth_token") or "").strip()

    def rest_client(self) -> TwilioRest:
        client = TwilioRest(
            self.account_sid, self.auth_token, http_client=TwilioHttpClient(timeout=timeout())
        )
        client.api.base_url = self.base_url
        return client

    def send(self, message: OutboundMessage) -> SendResult:
        require(
            {"account_sid": self.account_sid, "auth_token": self.auth_token},
            "account_sid",
            "auth_token",
            what="Twilio",
        )
        if not self.from_number and not self.messaging_service_sid:
            raise PermanentSendError(
                "Twilio is not configured: phone_number or messaging_service_sid",
                code="not_configured",
            )
        if not message.contact_phone:
            raise PermanentSendError("the contact has no phone number", code="no_phone")
        params: dict[str, Any] = {
            "to": whatsapp_address(message.contact_phone),
            "body": message.content,
        }
        if self.from_number:
            params["from_"] = whatsapp_address(self.from_number)
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        if message.status_callback:
            params["status_callback"] = message.status_callback
        media = [str(a["url"]) for a in message.attachments if a.get("url")]
        if media:
            params["media_url"] = media
        try:
            created = self.rest_client().messages.create(**params)
        except (TwilioRestException, TwilioServiceException) as exc:
            error = classify_status(int(exc.status), _reason(exc))
            error.code = str(exc.code or exc.status)[:40]
            raise error from exc
        except requests.Timeout as exc:
            raise TransientSendError(f"timed out: {exc}", code="timeout") from exc
        except requests.ConnectionError as exc:
            raise TransientSendError(f"connection failed: {exc}", code="connection") from exc
        except (TwilioException, requests.RequestException) as exc:
            raise PermanentSendError(str(exc), code="request") from exc
        return SendResult(
            external_id=str(created.sid or ""),
            raw={"sid": created.sid, "status": created.status},
        )


def _reason(exc: TwilioRestException | TwilioServiceException) -> str:
    if isinstance(exc, TwilioServiceException):
        return str(exc.detail or exc.title)
    # "Unable to create record: <Twilio's message>" -> keep Twilio's words.
    return str(exc.msg).removeprefix("Unable to create record: ")
