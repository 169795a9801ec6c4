"""Live sample traffic for the demo: signed Chatwoot and Twilio webhooks posted to the
running server over HTTP (the real path: signature, raw log, ingest, realtime)."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import requests
from django.core.management.base import BaseCommand, CommandParser
from twilio.request_validator import RequestValidator

from integrations.models import Integration
from tenants.management.commands.seed_demo import DEMO_SLUG

CUSTOMERS = [
    ("Fernanda Rocha", "+5511991110001"),
    ("Gustavo Pereira", "+5521992220002"),
    ("Helena Martins", "+5531993330003"),
    ("Igor Santos", "+5541994440004"),
    ("Juliana Costa", "+5551995550005"),
]
LINES = [
    "Olá, bom dia!",
    "Queria saber o status do meu pedido",
    "Vocês entregam em Campinas?",
    "Qual o horário de atendimento?",
    "Preciso da segunda via do boleto",
    "Obrigado!",
    "Consigo parcelar em 3x?",
]


class Command(BaseCommand):
    help = "Post sample customer messages to the demo company every few seconds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--every", type=float, default=8.0, help="seconds between messages")
        parser.add_argument("--count", type=int, default=0, help="stop after N (0: forever)")

    def handle(self, *args: Any, **opts: Any) -> None:
        time.sleep(3)  # let the web server start
        integrations = {
            i.kind: i for i in Integration.objects.filter(company__slug=DEMO_SLUG, is_active=True)
        }
        sent = 0
        while not opts["count"] or sent < opts["count"]:
            name, phone = random.choice(CUSTOMERS)  # noqa: S311 - sample data
            text = random.choice(LINES)  # noqa: S311
            kind = random.choice([k for k in ("twilio", "chatwoot") if k in integrations])  # noqa: S311
            try:
                status = getattr(self, f"_post_{kind}")(
                    opts["url"], integrations[kind], name, phone, text
                )
            except requests.RequestException as exc:
                status = f"error {exc.__class__.__name__}"
            self.stdout.write(f"demo traffic: {kind} {name}: {text!r} -> {status}")
            sent += 1
            time.sleep(opts["every"])

    def _post_twilio(
        self, base: str, integration: Integration, name: str, phone: str, text: str
    ) -> int:
        url = base + integration.webhook_path()
        params = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": "AC" + "0" * 32,
            "From": f"whatsapp:{phone}",
            "To": f"whatsapp:{integration.settings.get('phone_number', '+14155238886')}",
            "Body": text,
            "NumMedia": "0",
            "ProfileName": name,
            "WaId": phone.lstrip("+"),
            "SmsStatus": "received",
            "MessageType": "text",
            "ApiVersion": "2010-04-01",
        }
        token = integration.get_secrets().get("auth_token", "")
        signature = RequestValidator(token).compute_signature(url, params)
        response = requests.post(
            url,
            data=urlencode(params),
            timeout=10,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )
        return response.status_code

    def _post_chatwoot(
        self, base: str, integration: Integration, name: str, phone: str, text: str
    ) -> int:
        contact_id = int(phone[-4:])
        sender = {
            "id": contact_id,
            "name": name,
            "phone_number": phone,
            "identifier": None,
            "email": None,
        }
        body = json.dumps(
            {
                "event": "message_created",
                "id": random.randint(10**6, 10**9),  # noqa: S311
                "content": text,
                "content_type": "text",
                "content_attributes": {},
                "message_type": "incoming",
                "private": False,
                "source_id": None,
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "sender": sender,
                "account": {"id": 1, "name": "Demo"},
                "inbox": {"id": 1, "name": "Site"},
                "conversation": {
                    "id": 10000 + contact_id,
                    "inbox_id": 1,
                    "status": "open",
                    "channel": "Channel::Api",
                    "meta": {"sender": {**sender, "type": "contact"}},
                },
            }
        ).encode()
        timestamp = str(int(time.time()))
        secret = integration.get_secrets().get("webhook_secret", "")
        signature = (
            "sha256="
            + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        )
        response = requests.post(
            base + integration.webhook_path(),
            data=body,
            timeout=10,
            headers={
                "Content-Type": "application/json",
                "X-Chatwoot-Signature": signature,
                "X-Chatwoot-Timestamp": timestamp,
                "X-Chatwoot-Delivery": str(uuid.uuid4()),
            },
        )
        return response.status_code
