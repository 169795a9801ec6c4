"""What the workflow does when messages are stored: greeting, out-of-hours reply once,
routing of new tickets, AI paused by a staff reply."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from conversations.models import Message
from conversations.services.ingest import message_ingest
from conversations.services.outbound import message_send, note_add
from integrations.base import ContactInfo, InboundMessage
from tickets.models import Ticket, TicketEvent, TicketEventKind

from .workflow_factories import make_integration, make_queue

pytestmark = pytest.mark.django_db

# Monday 2026-11-23 22:00 in São Paulo (UTC-3) = Tuesday 01:00 UTC.
NIGHT = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
# Monday 2026-11-23 10:00 in São Paulo.
MORNING = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
WEEKDAYS = {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def inbound(integration: Any, n: int, at: datetime, conv: str = "c1") -> Ticket:
    message_ingest(
        integration=integration,
        data=InboundMessage(
            external_conversation_id=conv,
            external_message_id=f"m{n}",
            contact=ContactInfo(external_id="5511", name="Zé", phone="+5511988887777"),
            content=f"mensagem {n}",
            created_at=at,
        ),
    )
    return Ticket.objects.get(conversation__external_id=conv)


def system_texts(ticket: Ticket) -> list[str]:
    return list(
        Message.objects.filter(ticket=ticket, sender_type="system")
        .order_by("id")
        .values_list("content", flat=True)
    )


@pytest.fixture
def umbler(company):
    return make_integration(company, "umbler")


def test_out_of_hours_reply_goes_once_per_ticket(
    company, umbler, django_capture_on_commit_callbacks
) -> None:
    company.business_hours = WEEKDAYS
    company.out_of_hours_message = "Estamos fechados, respondemos às 8h."
    company.save()
    ticket = inbound(umbler, 1, NIGHT)
    inbound(umbler, 2, NIGHT)
    ticket.refresh_from_db()
    assert system_texts(ticket) == ["Estamos fechados, respondemos às 8h."]
    assert ticket.out_of_hours_sent
    # The automatic reply answers nobody: the customer still waits for a person.
    assert ticket.waiting_since is not None and ticket.first_response_at is None


def test_no_out_of_hours_reply_inside_hours_or_without_a_text(company, umbler) -> None:
    company.business_hours = WEEKDAYS
    company.out_of_hours_message = "Fechados."
    company.save()
    assert system_texts(inbound(umbler, 1, MORNING)) == []
    company.out_of_hours_message = ""
    company.save()
    assert system_texts(inbound(umbler, 2, NIGHT, conv="c2")) == []


def test_the_queue_hours_and_text_override_the_companys(company, umbler) -> None:
    company.business_hours = WEEKDAYS
    company.out_of_hours_message = "Empresa fechada."
    company.save()
    make_queue(
        company,
        "Plantão",
        is_default=True,
        business_hours={"mon": [["20:00", "23:00"]]},
        out_of_hours_message="Plantão fechado.",
    )
    assert system_texts(inbound(umbler, 1, NIGHT)) == []  # Monday 22:00: the queue is open
    assert system_texts(inbound(umbler, 2, MORNING, conv="c2")) == ["Plantão fechado."]


@pytest.mark.parametrize(("distribution", "routed"), [("round_robin", 1), ("manual", 0)])
def test_a_new_ticket_gets_the_queue_greeting_once_and_is_routed_after_commit(
    company, umbler, django_capture_on_commit_callbacks, monkeypatch, distribution, routed
) -> None:
    from tickets.tasks import route_ticket

    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(route_ticket, "delay", lambda *args: sent.append(args))
    make_queue(
        company,
        "Vendas",
        is_default=True,
        greeting="Olá! Já vamos atender.",
        distribution=distribution,
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = inbound(umbler, 1, MORNING)
    inbound(umbler, 2, MORNING)
    assert system_texts(ticket) == ["Olá! Já vamos atender."]
    # A manual queue's tickets wait to be taken: no routing task is sent for them.
    assert sent == [(company.pk, ticket.pk)] * routed


def test_a_staff_reply_pauses_the_ai_but_a_note_does_not(company, umbler, agent) -> None:
    ticket = inbound(umbler, 1, MORNING)
    note_add(ticket=ticket, content="cliente antigo", actor=agent)
    ticket.refresh_from_db()
    assert not ticket.ai_paused
    message_send(ticket=ticket, content="Oi Zé!", actor=agent)
    ticket.refresh_from_db()
    assert ticket.ai_paused
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.AI_PAUSED).count() == 1
    message_send(ticket=ticket, content="Mais alguma coisa?", actor=agent)
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.AI_PAUSED).count() == 1


def test_an_ai_reply_does_not_pause_the_ai(company, umbler) -> None:
    ticket = inbound(umbler, 1, MORNING)
    message_send(ticket=ticket, content="Sou a assistente.", sender_type="bot", source="ai")
    ticket.refresh_from_db()
    assert not ticket.ai_paused
