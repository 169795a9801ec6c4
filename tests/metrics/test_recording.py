"""Recording response times as replies are stored (metrics.services.response_time_record)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from metrics.models import ResponderType, ResponseTime
from tests.conftest import make_member
from tickets.models import Queue

from .builders import assign, inbound, make_ticket, reopen, reply, resolve

pytestmark = pytest.mark.django_db
SP = ZoneInfo("America/Sao_Paulo")
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=SP)  # a Monday


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_an_agent_reply_to_a_waiting_customer_records_one_first_response(company, agent) -> None:
    queue = Queue.objects.create(company=company, name="Suporte")
    ticket = make_ticket(company, at=m(0), queue=queue)
    inbound(ticket, m(0))
    inbound(ticket, m(2))  # a second message: the wait still started at the first
    assign(ticket, agent, m(4))
    message = reply(ticket, m(10), user=agent)
    row = ResponseTime.objects.get()
    assert row.message == message and row.company == company and row.queue == queue
    assert row.responder_type == ResponderType.AGENT and row.responder == agent
    assert row.waited_since == m(0) and row.answered_at == m(10)
    assert row.seconds == 600
    assert row.is_first and row.is_first_agent and row.cycle == 0
    assert row.seconds_from_queue == 600
    assert row.seconds_from_assignment == 360
    assert row.business_seconds == 600  # no hours configured: always open
    ticket.refresh_from_db()
    assert ticket.first_response_at == m(10)


def test_a_follow_up_with_nothing_waiting_records_nothing(company, agent) -> None:
    ticket = make_ticket(company, at=m(0))
    inbound(ticket, m(0))
    reply(ticket, m(5), user=agent)
    reply(ticket, m(6), user=agent)
    assert ResponseTime.objects.count() == 1
    inbound(ticket, m(20))
    reply(ticket, m(21), user=agent)
    second = ResponseTime.objects.order_by("answered_at").last()
    assert second.seconds == 60 and not second.is_first and not second.is_first_agent


def test_notes_system_messages_and_inbound_messages_never_count(company, agent) -> None:
    ticket = make_ticket(company, at=m(0))
    inbound(ticket, m(0))
    reply(ticket, m(1), user=agent, private=True)
    reply(ticket, m(2), system=True)
    assert ResponseTime.objects.count() == 0
    reply(ticket, m(3), user=agent)
    assert ResponseTime.objects.get().seconds == 180


def test_a_bot_reply_is_recorded_as_bot_and_the_agent_keeps_its_own_first_response(
    company, agent
) -> None:
    queue = Queue.objects.create(company=company, name="Vendas")
    ticket = make_ticket(company, at=m(0), queue=queue)
    inbound(ticket, m(0))
    reply(ticket, m(1), bot=True)
    inbound(ticket, m(5))
    assign(ticket, agent, m(8))
    reply(ticket, m(15), user=agent)
    bot_row, agent_row = ResponseTime.objects.order_by("answered_at")
    assert bot_row.responder_type == ResponderType.BOT and bot_row.responder is None
    assert bot_row.is_first and not bot_row.is_first_agent and bot_row.seconds == 60
    assert agent_row.responder == agent and not agent_row.is_first and agent_row.is_first_agent
    assert agent_row.seconds == 600  # since the customer's second message
    assert agent_row.seconds_from_queue == 900  # the sector clock started at 10:00
    assert agent_row.seconds_from_assignment == 420
    ticket.refresh_from_db()
    assert ticket.first_response_at == m(1)  # the ticket's first reply was the bot's


def test_a_reopened_ticket_starts_a_new_first_response_clock(company, agent) -> None:
    queue = Queue.objects.create(company=company, name="Suporte")
    ticket = make_ticket(company, at=m(0), queue=queue, assignee=agent)
    inbound(ticket, m(0))
    reply(ticket, m(10), user=agent)
    resolve(ticket, m(30))
    reopen(ticket, m(120))
    inbound(ticket, m(120))
    reply(ticket, m(123), user=agent)
    first, again = ResponseTime.objects.order_by("answered_at")
    assert first.is_first and first.cycle == 0 and first.seconds_from_queue == 600
    assert again.is_first and again.is_first_agent and again.cycle == 1
    # Measured from the reopen, not from the ticket's creation two hours earlier.
    assert again.seconds == 180 and again.seconds_from_queue == 180
    assert again.seconds_from_assignment == 180
    ticket.refresh_from_db()
    assert ticket.first_response_at == m(123)


def test_the_previous_waiting_since_can_come_from_the_context(company, agent) -> None:
    ticket = make_ticket(company, at=m(0))
    inbound(ticket, m(0))
    ticket.waiting_since = None  # a pipeline that cleared it before calling the hooks
    ticket.save()
    reply(ticket, m(4), user=agent, waiting_since=m(1))
    assert ResponseTime.objects.get().seconds == 180


def test_business_seconds_are_stored_with_the_queue_hours(company, agent) -> None:
    hours = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    queue = Queue.objects.create(company=company, name="Comercial", business_hours=hours)
    friday_17 = datetime(2026, 11, 6, 17, 0, tzinfo=SP)
    monday_0930 = datetime(2026, 11, 9, 9, 30, tzinfo=SP)
    ticket = make_ticket(company, at=friday_17, queue=queue)
    inbound(ticket, friday_17)
    reply(ticket, monday_0930, user=agent)
    row = ResponseTime.objects.get()
    assert row.seconds == 64.5 * 3600
    assert row.business_seconds == 1.5 * 3600  # Friday 17-18 and Monday 9-9:30
    assert row.business_seconds_from_queue == 1.5 * 3600


def test_replies_are_recorded_per_company(company, other_company, agent) -> None:
    other_agent = make_member(other_company, "b@outra.test")
    mine = make_ticket(company, at=m(0))
    theirs = make_ticket(other_company, at=m(0))
    inbound(mine, m(0))
    inbound(theirs, m(0))
    reply(mine, m(1), user=agent)
    reply(theirs, m(2), user=other_agent)
    assert ResponseTime.objects.for_company(company).get().seconds == 60
    assert ResponseTime.objects.for_company(other_company).get().seconds == 120
