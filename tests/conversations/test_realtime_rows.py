"""Events carry the same inbox row the pages render, and the same counts."""

from __future__ import annotations

import pytest
from django.utils import timezone

from conversations import realtime
from tenants.models import Role
from tests.conftest import make_member
from tests.tickets.live_factories import make_queue, make_ticket
from tickets.models import Ticket, TicketStatus

pytestmark = pytest.mark.django_db


def test_the_event_row_built_in_sql_equals_the_page_row(company, other_company) -> None:
    agent = make_member(company, "ana@azul.test", Role.AGENT)
    sales = make_queue(company, "Vendas", agent)
    plain = make_ticket(company)
    full = make_ticket(company, queue=sales, assignee=agent, status=TicketStatus.OPEN)
    Ticket.objects.filter(pk=full.pk).update(
        tags=["vip", "boleto"], unread_count=3, waiting_since=timezone.now(), priority="high"
    )
    group = make_ticket(company, is_group=True, name="Família Souza", kind="twilio")
    for ticket in (plain, full, group):
        loaded = (
            Ticket.objects.select_related("contact", "conversation__integration", "queue")
            .select_related("assignee")
            .get(pk=ticket.pk)
        )
        assert realtime._load_row(company.pk, ticket.pk) == realtime.ticket_row(loaded)
    # Another company's ticket id is not found under this company.
    assert realtime._load_row(other_company.pk, full.pk) is None


def test_counts_per_queue_and_per_assignee_come_from_one_statement(
    company, other_company, django_assert_num_queries
) -> None:
    agent = make_member(company, "ana@azul.test", Role.AGENT)
    sales = make_queue(company, "Vendas", agent)
    make_ticket(company, queue=sales)
    mine = make_ticket(company, queue=sales, assignee=agent, status=TicketStatus.OPEN)
    Ticket.objects.filter(pk=mine.pk).update(unread_count=2)
    make_ticket(company)  # no queue
    make_ticket(company, queue=sales, status=TicketStatus.RESOLVED)  # not active
    make_ticket(other_company, queue=make_queue(other_company, "Outra"))  # never counted
    with django_assert_num_queries(1):
        queues, by_user = realtime._counts(company.pk, [agent.pk, 999999])
    assert queues == {
        str(sales.pk): {"pending": 1, "open": 1, "unread": 2},
        "0": {"pending": 1, "open": 0, "unread": 0},
    }
    assert by_user == {agent.pk: {"open": 1, "unread": 2}, 999999: {"open": 0, "unread": 0}}
