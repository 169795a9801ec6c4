"""Two agents acting on the same ticket at the same moment end consistent."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tests.conftest import make_member
from tickets.models import Ticket, TicketEvent, TicketEventKind
from tickets.services import actions

from .workflow_factories import make_queue, make_ticket

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(fns):
    barrier = threading.Barrier(len(fns))
    results: list = [None] * len(fns)

    def run(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_agents_accepting_at_once_one_wins_and_one_gets_a_conflict(company) -> None:
    ana = make_member(company, "ana@azul.test")
    bia = make_member(company, "bia@azul.test")
    ticket = make_ticket(company, queue=make_queue(company, "Vendas", members=[ana, bia]))
    for _ in range(5):
        ticket = make_ticket(company, queue=ticket.queue)
        results = race(
            [
                lambda t=ticket: actions.ticket_accept(ticket=t, actor=ana),
                lambda t=ticket: actions.ticket_accept(ticket=t, actor=bia),
            ]
        )
        winners = [r for r in results if isinstance(r, Ticket)]
        conflicts = [r for r in results if isinstance(r, actions.TicketConflict)]
        assert len(winners) == 1 and len(conflicts) == 1, results
        ticket.refresh_from_db()
        assert ticket.assignee_id == winners[0].assignee_id
        assert conflicts[0].ticket.assignee_id == ticket.assignee_id
        assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.ASSIGNED).count() == 1


def test_resolve_racing_a_transfer_leaves_one_consistent_state(company) -> None:
    ana = make_member(company, "ana@azul.test")
    sales = make_queue(company, "Vendas", members=[ana])
    finance = make_queue(company, "Financeiro", members=[ana])
    ticket = make_ticket(company, queue=sales)
    results = race(
        [
            lambda: actions.ticket_resolve(ticket=ticket, actor=ana),
            lambda: actions.ticket_transfer(ticket=ticket, queue=finance, actor=ana),
        ]
    )
    ticket.refresh_from_db()
    resolved, transferred = results
    # Whatever the order, the resolve succeeds and nothing of the loser leaks through.
    assert isinstance(resolved, Ticket) and ticket.status == "resolved"
    if isinstance(transferred, Ticket):  # the transfer took the lock first
        assert ticket.queue_id == finance.pk
    else:
        assert isinstance(transferred, actions.TicketConflict)
        assert ticket.queue_id == sales.pk
        assert not TicketEvent.objects.filter(
            ticket=ticket, kind=TicketEventKind.TRANSFERRED
        ).exists()
