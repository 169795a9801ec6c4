"""Presence, distribution (round robin, least busy, capacity) and giving tickets back."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from tenants.models import Membership
from tests.conftest import make_member
from tickets import presence
from tickets.models import Ticket, TicketEvent, TicketEventKind, TicketStatus
from tickets.services import routing
from tickets.tasks import give_back_offline_tickets, route_queue, route_ticket

from .workflow_factories import make_message, make_queue, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean_presence():
    client = presence._redis()

    def wipe():
        keys = list(client.scan_iter(f"{settings.REDIS_PREFIX}:presence:*"))
        if keys:
            client.delete(*keys)

    wipe()
    yield
    wipe()


@pytest.fixture
def team(company):
    users = [make_member(company, f"a{i}@azul.test") for i in range(3)]
    return users


def online(company, *users):
    for u in users:
        presence.presence_connect(company.pk, u.pk, f"chan-{u.pk}")


def test_presence_connect_disconnect_and_the_grace_period(company, agent, settings) -> None:
    settings.PRESENCE_GRACE_SECONDS = 120
    assert not presence.is_online(company.pk, agent.pk)
    assert presence.presence_connect(company.pk, agent.pk, "c1") is True
    assert presence.presence_connect(company.pk, agent.pk, "c2") is False  # already online
    presence.presence_disconnect(company.pk, agent.pk, "c1")
    assert presence.is_connected(company.pk, agent.pk)
    presence.presence_disconnect(company.pk, agent.pk, "c2")
    assert not presence.is_connected(company.pk, agent.pk)
    assert presence.is_online(company.pk, agent.pk)  # within the grace period
    assert not presence.is_online(company.pk, agent.pk, now=time.time() + 121)


def test_a_connection_without_heartbeats_expires(company, agent, settings) -> None:
    settings.PRESENCE_CONNECTION_TTL = 90
    presence.presence_connect(company.pk, agent.pk, "c1")
    assert presence.is_connected(company.pk, agent.pk, now=time.time() + 60)
    assert not presence.is_connected(company.pk, agent.pk, now=time.time() + 91)
    presence.presence_heartbeat(company.pk, agent.pk, "c1")
    assert presence.is_connected(company.pk, agent.pk, now=time.time() + 80)


def test_presence_is_per_company(company, other_company, agent) -> None:
    presence.presence_connect(other_company.pk, agent.pk, "c1")
    assert not presence.is_online(company.pk, agent.pk)


def test_round_robin_rotates_among_online_members(company, team) -> None:
    queue = make_queue(company, "Vendas", members=team, distribution="round_robin")
    online(company, *team)
    got = []
    for _ in range(6):
        t = make_ticket(company, queue=queue)
        got.append(routing.ticket_route(company_id=company.pk, ticket_id=t.pk))
    ids = sorted(u.pk for u in team)
    assert got == ids + ids


def test_routing_skips_offline_members_and_respects_capacity(company, team) -> None:
    a, b, _offline = sorted(team, key=lambda u: u.pk)
    queue = make_queue(company, "Vendas", members=team, distribution="round_robin")
    online(company, a, b)  # c is offline
    Membership.objects.filter(user=a).update(max_open_tickets=1)
    make_ticket(company, queue=queue, status=TicketStatus.OPEN, assignee=a)  # a is full
    got = [
        routing.ticket_route(company_id=company.pk, ticket_id=make_ticket(company, queue=queue).pk)
        for _ in range(2)
    ]
    assert got == [b.pk, b.pk]
    Membership.objects.filter(user=b).update(max_open_tickets=0)  # 0 = unlimited
    assert (
        routing.ticket_route(company_id=company.pk, ticket_id=make_ticket(company, queue=queue).pk)
        == b.pk
    )


def test_least_busy_picks_the_member_with_fewest_open_tickets(company, team) -> None:
    a, b, c = sorted(team, key=lambda u: u.pk)
    queue = make_queue(company, "Suporte", members=team, distribution="least_busy")
    online(company, *team)
    for _ in range(2):
        make_ticket(company, queue=queue, status=TicketStatus.OPEN, assignee=a)
    make_ticket(company, queue=queue, status=TicketStatus.OPEN, assignee=c)
    ticket = make_ticket(company, queue=queue)
    assert routing.ticket_route(company_id=company.pk, ticket_id=ticket.pk) == b.pk
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN and ticket.assignee_id == b.pk
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEventKind.ASSIGNED)
    assert event.actor_label == "routing" and event.data["rule"] == "least_busy"
    # Routing does not pause the AI: the agent's first reply does.
    assert not ticket.ai_paused


def test_manual_queues_and_tickets_no_longer_waiting_are_left_alone(company, team) -> None:
    online(company, *team)
    manual = make_queue(company, "Manual", members=team)
    assert (
        routing.ticket_route(company_id=company.pk, ticket_id=make_ticket(company, queue=manual).pk)
        is None
    )
    auto = make_queue(company, "Auto", members=team, distribution="round_robin")
    taken = make_ticket(company, queue=auto, status=TicketStatus.OPEN, assignee=team[0])
    assert routing.ticket_route(company_id=company.pk, ticket_id=taken.pk) is None
    # The task is the same call, idempotent.
    route_ticket(company.pk, taken.pk)
    taken.refresh_from_db()
    assert taken.assignee_id == team[0].pk


def test_nobody_is_assigned_when_presence_is_unknown(company, team, monkeypatch) -> None:
    queue = make_queue(company, "Vendas", members=team, distribution="round_robin")
    online(company, *team)
    monkeypatch.setattr(presence, "online_user_ids", lambda *a, **k: None)
    assert (
        routing.ticket_route(company_id=company.pk, ticket_id=make_ticket(company, queue=queue).pk)
        is None
    )


def test_coming_online_routes_the_waiting_tickets(
    company, team, django_capture_on_commit_callbacks
) -> None:
    a = team[0]
    queue = make_queue(company, "Vendas", members=[a], distribution="round_robin")
    waiting = [make_ticket(company, queue=queue) for _ in range(2)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        presence.presence_connect(company.pk, a.pk, "c1")
    assert len(callbacks) == 1
    route_queue(company.pk, queue.pk)
    assert {t.assignee_id for t in Ticket.objects.filter(pk__in=[w.pk for w in waiting])} == {a.pk}


def test_offline_agents_give_back_unanswered_tickets(
    company, team, settings, django_capture_on_commit_callbacks
) -> None:
    settings.PRESENCE_GRACE_SECONDS = 120
    a, b, _c = team
    queue = make_queue(company, "Vendas", members=team, distribution="manual")
    long_ago = timezone.now() - timedelta(minutes=10)
    gone = make_ticket(
        company, queue=queue, status=TicketStatus.OPEN, assignee=a, assigned_at=long_ago
    )
    answered = make_ticket(
        company, queue=queue, status=TicketStatus.OPEN, assignee=a, assigned_at=long_ago
    )
    make_message(answered, "Oi!", direction="out", sender_user=a)
    fresh = make_ticket(
        company, queue=queue, status=TicketStatus.OPEN, assignee=a, assigned_at=timezone.now()
    )
    present = make_ticket(
        company, queue=queue, status=TicketStatus.OPEN, assignee=b, assigned_at=long_ago
    )
    online(company, b)
    Ticket.objects.filter(pk__in=[gone.pk, answered.pk, present.pk]).update(assigned_at=long_ago)
    with django_capture_on_commit_callbacks() as callbacks:
        give_back_offline_tickets()
    states = {t.pk: (t.status, t.assignee_id) for t in Ticket.objects.filter(company=company)}
    assert states[gone.pk] == (TicketStatus.PENDING, None)
    assert states[answered.pk] == (TicketStatus.OPEN, a.pk)
    assert states[fresh.pk] == (TicketStatus.OPEN, a.pk)
    assert states[present.pk] == (TicketStatus.OPEN, b.pk)
    event = TicketEvent.objects.get(ticket=gone, kind=TicketEventKind.UNASSIGNED)
    assert event.data["reason"] == "offline" and event.data["from"] == a.pk
    # A manual queue: the ticket waits there to be taken, no routing task is sent.
    assert not any("schedule_route" in cb.__qualname__ for cb in callbacks)
    queue.distribution = "round_robin"
    queue.save()
    Ticket.objects.filter(pk=fresh.pk).update(assigned_at=long_ago)
    with django_capture_on_commit_callbacks() as callbacks:
        give_back_offline_tickets()
    assert Ticket.objects.get(pk=fresh.pk).status == TicketStatus.PENDING
    assert any("schedule_route" in cb.__qualname__ for cb in callbacks)


def test_an_agent_within_the_grace_period_keeps_their_tickets(company, team, settings) -> None:
    settings.PRESENCE_GRACE_SECONDS = 120
    a = team[0]
    queue = make_queue(company, "Vendas", members=team)
    t = make_ticket(company, queue=queue, status=TicketStatus.OPEN, assignee=a)
    Ticket.objects.filter(pk=t.pk).update(assigned_at=timezone.now() - timedelta(minutes=10))
    presence.presence_connect(company.pk, a.pk, "c1")
    presence.presence_disconnect(company.pk, a.pk, "c1")  # just left
    assert routing.give_back_offline_tickets() == 0


def test_give_back_takes_nothing_when_presence_is_unknown(company, team, monkeypatch) -> None:
    queue = make_queue(company, "Vendas", members=team)
    t = make_ticket(company, queue=queue, status=TicketStatus.OPEN, assignee=team[0])
    Ticket.objects.filter(pk=t.pk).update(assigned_at=timezone.now() - timedelta(hours=1))
    monkeypatch.setattr(presence, "online_user_ids", lambda *a, **k: None)
    assert routing.give_back_offline_tickets() == 0


def test_the_beat_schedule_has_the_workflow_tasks() -> None:
    from atende.celery import app

    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"tickets.send_due_scheduled_messages", "tickets.give_back_offline_tickets"} <= tasks
