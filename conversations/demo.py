"""seed_demo step: sample customers and conversations, ingested through the real pipeline
(the same service webhooks use), so a fresh `make run` opens on a living inbox.

Idempotent: the platform ids are fixed, so a second run is a no-op duplicate."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from django.utils import timezone

from conversations.services.ingest import Outcome, events_ingest, ingest_in_transaction
from integrations.base import ContactInfo, InboundMessage
from integrations.models import Integration
from tenants.management.commands.seed_demo import seed_steps
from tenants.models import Company

# kind, conversation id, contact (name, phone, identifier, is_group), [(sender, text, minutes ago)]
SAMPLES: list[tuple[str, str, tuple[str, str, str, bool], list[tuple[str, str, int]]]] = [
    ("twilio", "demo-maria", ("Maria Souza", "+5511987650001", "", False), [
        ("", "Oi! Meu pedido 4521 ainda não chegou 😟", 42),
        ("", "Comprei semana passada, o prazo era 5 dias", 41),
    ]),
    ("twilio", "demo-joao", ("João Lima", "+5521976540002", "", False), [
        ("", "Vocês abrem no sábado?", 25),
    ]),
    ("umbler", "demo-carla", ("Carla Dias", "+5531965430003", "", False), [
        ("", "Quero trocar um produto que veio com defeito. Como faço?", 12),
    ]),
    ("chatwoot", "9001", ("Equipe Compras (GROUP)", "", "120363000000000001@g.us", True), [
        ("Pedro", "Bom dia! Precisamos de um orçamento para 30 unidades.", 8),
        ("Luana", "E o prazo de entrega para Belo Horizonte, por favor.", 6),
    ]),
    ("chatwoot", "9002", ("Ricardo Alves", "+5511954320004", "", False), [
        ("", "Boa tarde, consigo pagar com Pix?", 3),
    ]),
]


def _ingest(integration: Integration, events: list[InboundMessage], careful: bool) -> Outcome:
    return events_ingest(integration=integration, events=events, careful=careful)


def seed_conversations(company: Company, out: dict[str, Any]) -> None:
    now = timezone.now()
    count = 0
    for kind, conversation_id, (name, phone, identifier, is_group), lines in SAMPLES:
        integration = Integration.objects.for_company(company).filter(kind=kind).first()
        if integration is None:
            continue
        contact = ContactInfo(
            external_id=identifier or phone, name=name, phone=phone, identifier=identifier,
            is_group=is_group,
        )
        events = [
            InboundMessage(
                external_conversation_id=conversation_id,
                external_message_id=f"{conversation_id}-{n}",
                contact=contact,
                sender_name=sender,
                content=text,
                created_at=now - timedelta(minutes=minutes),
                group_name=name.removesuffix(" (GROUP)") if is_group else "",
            )
            for n, (sender, text, minutes) in enumerate(lines)
        ]
        ingest_in_transaction(partial(_ingest, integration, events))
        count += 1
    out["sample_conversations"] = count


if seed_conversations not in seed_steps:
    seed_steps.append(seed_conversations)
