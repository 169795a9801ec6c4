"""Fake platform servers on 127.0.0.1 for tests: the real clients talk HTTP to them.

    from tests.fakes.platforms import FakeChatwoot

    with FakeChatwoot() as fake:
        integration.settings["base_url"] = fake.base_url
        ...
        fake.fail_next(500, times=2)   # the next two requests answer 500
        fake.delay_next(2.0)           # the next request answers after 2 s (timeouts)
        fake.requests[-1].json         # what the client sent

Each answers its platform's send endpoint in that platform's shape. Shared by every test
that sends through a platform (outbound sending, the live inbox).
"""

from __future__ import annotations

import base64
import itertools
import re
import secrets
import time
from email.utils import formatdate
from typing import Any

from tests.fakes.server import Answer, FakeServer, RecordedRequest

_CHATWOOT_MESSAGES = re.compile(r"^/api/v1/accounts/([^/]+)/conversations/([^/]+)/messages/?$")
_TWILIO_MESSAGES = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")


class FakeChatwoot(FakeServer):
    """Chatwoot's Application API ``POST .../conversations/{id}/messages``.

    Answers like Chatwoot does (``woofed_api_response_send_message.json``): the message in
    push format with a new integer ``id``. With ``api_token`` set, any other
    ``api_access_token`` gets 401.
    """

    def __init__(self, *, api_token: str = "", inbox_id: int = 2, first_id: int = 227) -> None:
        super().__init__()
        self.api_token = api_token
        self.inbox_id = inbox_id
        self._ids = itertools.count(first_id)

    def answer(self, request: RecordedRequest) -> Answer:
        match = _CHATWOOT_MESSAGES.match(request.path)
        if request.method != "POST" or not match:
            return 404, {"error": "Resource could not be found"}
        if self.api_token and request.headers.get("api_access_token") != self.api_token:
            return 401, {"error": "You need to sign in or sign up before continuing."}
        data = request.json or {}
        if not data.get("content"):
            return 422, {"message": "Content can't be blank"}
        conversation = match.group(2)
        return 200, {
            "id": next(self._ids),
            "content": data.get("content"),
            "inbox_id": self.inbox_id,
            "conversation_id": int(conversation) if conversation.isdigit() else conversation,
            "message_type": 1,
            "content_type": "text",
            "status": "sent",
            "content_attributes": data.get("content_attributes") or {},
            "created_at": int(time.time()),
            "private": bool(data.get("private")),
            "source_id": None,
            "sender": {
                "id": 1,
                "name": "Atende",
                "available_name": "Atende",
                "avatar_url": "",
                "type": "user",
                "availability_status": "online",
                "thumbnail": "",
            },
        }

    def error_body(self, status: int) -> Any:
        return {"message": f"fake Chatwoot failure {status}"}


class FakeTwilio(FakeServer):
    """Twilio's ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form-encoded).

    With ``auth_token`` set, requests whose Basic auth is not ``AccountSid:auth_token``
    get Twilio's 401 (error 20003). Errors use Twilio's JSON error shape.
    """

    def __init__(self, *, auth_token: str = "") -> None:
        super().__init__()
        self.auth_token = auth_token

    @staticmethod
    def new_sid() -> str:
        return "SM" + secrets.token_hex(16)

    def answer(self, request: RecordedRequest) -> Answer:
        match = _TWILIO_MESSAGES.match(request.path)
        if request.method != "POST" or not match:
            return 404, self._error(20404, "The requested resource was not found", 404)
        account_sid = match.group(1)
        if self.auth_token:
            expected = base64.b64encode(f"{account_sid}:{self.auth_token}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {expected}":
                return 401, self._error(20003, "Authenticate", 401)
        form = {k: v[0] for k, v in request.form.items()}
        if not form.get("To"):
            return 400, self._error(21604, "A 'To' phone number is required.", 400)
        sid = self.new_sid()
        now = formatdate(usegmt=True)
        return 201, {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": form.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": str(len(request.form.get("MediaUrl", []))),
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media.json"
            },
            "to": form.get("To"),
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
        }

    @staticmethod
    def _error(code: int, message: str, status: int) -> dict[str, Any]:
        return {
            "code": code,
            "message": message,
            "status": status,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
        }

    def error_body(self, status: int) -> Any:
        code = {400: 21211, 429: 20429}.get(status, 20500)
        return self._error(code, f"fake Twilio failure {status}", status)


class FakeUmbler(FakeServer):
    """Umbler Talk's ``POST /api/v1/messages/simplified/`` (Bearer token)."""

    def __init__(self, *, api_token: str = "") -> None:
        super().__init__()
        self.api_token = api_token

    @property
    def base_url(self) -> str:
        return f"{self.origin}/api"

    def answer(self, request: RecordedRequest) -> Answer:
        if request.method != "POST" or request.path.rstrip("/") != "/api/v1/messages/simplified":
            return 404, {"message": "Not found"}
        if self.api_token and request.headers.get("authorization") != f"Bearer {self.api_token}":
            return 401, {"message": "Unauthorized"}
        data = request.json or {}
        missing = [
            k for k in ("toPhone", "fromPhone", "organizationId", "message") if not data.get(k)
        ]
        if missing:
            return 400, {"message": f"Missing fields: {', '.join(missing)}"}
        return 200, {
            "Id": secrets.token_urlsafe(12),
            "Content": data["message"],
            "Source": "Member",
            "MessageState": "Sent",
            "CreatedAtUTC": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "Chat": {"Id": secrets.token_urlsafe(12)},
        }

    def error_body(self, status: int) -> Any:
        return {"message": f"fake Umbler failure {status}"}
