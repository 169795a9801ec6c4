"""Real-time routing through the real ASGI stack and the real Redis channel layer: each
member hears exactly the tickets they may see, with sequence numbers, counts and replay."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction

from atende.asgi import application
from conversations import realtime
from tenants.models import Role
from tests.conftest import jwt_for, make_member
from tests.tickets.live_factories import make_message, make_queue, make_ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def clean_realtime_keys() -> None:
    client = realtime._redis()
    for key in client.scan_iter(f"{settings.REDIS_PREFIX}:rt:*"):
        client.delete(key)


async def connect(
    user: Any, since: int | None = None, slug: str = "loja-azul"
) -> tuple[WebsocketCommunicator, dict]:
    query = f"?token={jwt_for(user)}" + (f"&since={since}" if since is not None else "")
    communicator = WebsocketCommunicator(application, f"/ws/companies/{slug}/{query}")
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert hello["type"] == "hello"
    return communicator, hello


@sync_to_async
def publish(ticket: Any, event: str = "ticket.updated", **data: Any) -> None:
    with transaction.atomic():
        ticket.refresh_from_db()
        realtime.ticket_changed(ticket, event, **data)
    # Sent by the publisher thread: wait until it left, so "receives nothing" means it.
    assert realtime.flush()


@sync_to_async
def setup_two_queues(company: Any) -> dict[str, Any]:
    sales_agent = make_member(company, "sales@azul.test", Role.AGENT)
    support_agent = make_member(company, "support@azul.test", Role.AGENT)
    sales = make_queue(company, "Vendas", sales_agent)
    support = make_queue(company, "Suporte", support_agent)
    return {
        "sales_agent": sales_agent,
        "support_agent": support_agent,
        "sales": sales,
        "support": support,
        "ticket": make_ticket(company, queue=sales, name="Ana"),
    }


async def test_queue_agent_and_supervisor_hear_a_ticket_other_queue_and_outsider_hear_nothing(
    company, supervisor, outsider
) -> None:
    world = await setup_two_queues(company)
    sales, _ = await connect(world["sales_agent"])
    support, _ = await connect(world["support_agent"])
    boss, _ = await connect(supervisor)
    stranger, _ = await connect(outsider, slug="outra")

    await publish(world["ticket"], "ticket.created")

    seen_by_sales = await sales.receive_json_from(timeout=5)
    seen_by_boss = await boss.receive_json_from(timeout=5)
    assert seen_by_sales["type"] == seen_by_boss["type"] == "ticket.created"
    assert seen_by_sales["seq"] == seen_by_boss["seq"] == 1
    assert seen_by_sales["ticket"]["contact"] == "Ana"
    assert seen_by_sales["ticket"]["queue"] == world["sales"].pk
    # Counts travel inside the event, sliced to what each group may see.
    sales_id = str(world["sales"].pk)
    assert seen_by_sales["counts"] == {"queues": {sales_id: {"pending": 1, "open": 0, "unread": 0}}}
    assert seen_by_boss["counts"]["total"] == {"pending": 1, "open": 0, "unread": 0}
    assert await support.receive_nothing(timeout=0.5)
    assert await stranger.receive_nothing(timeout=0.2)
    for c in (sales, support, boss, stranger):
        await c.disconnect()


async def test_a_new_message_reaches_the_assignee_with_a_preview_and_their_mine_counts(
    company, agent
) -> None:
    @sync_to_async
    def arrange() -> Any:
        ticket = make_ticket(company, assignee=agent, status="open", name="Bruno")
        ticket.unread_count = 2
        ticket.save()
        return ticket

    ticket = await arrange()
    ws, hello = await connect(agent)
    assert hello["counts"]["mine"] == {"open": 1, "unread": 2}

    @sync_to_async
    def store() -> None:
        with transaction.atomic():
            message = make_message(ticket, "Preciso de ajuda com o pedido 123")
            realtime.message_changed(message, "message.created")

    await store()
    event = await ws.receive_json_from(timeout=5)
    assert event["type"] == "message.created"
    assert event["message"]["preview"] == "Preciso de ajuda com o pedido 123"
    assert event["message"]["direction"] == "in"
    assert event["counts"] == {"mine": {"open": 1, "unread": 2}}
    await ws.disconnect()


async def test_nothing_is_published_when_the_transaction_rolls_back(company, supervisor) -> None:
    ticket = await sync_to_async(make_ticket)(company)
    ws, _ = await connect(supervisor)

    @sync_to_async
    def rolled_back() -> None:
        with pytest.raises(RuntimeError), transaction.atomic():
            realtime.ticket_changed(ticket, "ticket.updated")
            raise RuntimeError

    await rolled_back()
    assert await ws.receive_nothing(timeout=0.5)
    assert await sync_to_async(realtime.current_seq)(company.pk) == 0
    await ws.disconnect()


async def test_a_transfer_tells_the_old_queue_the_ticket_left_and_shows_it_to_the_new_queue(
    company,
) -> None:
    world = await setup_two_queues(company)
    ticket = world["ticket"]
    await publish(ticket, "ticket.created")  # the audience is remembered from here
    sales, _ = await connect(world["sales_agent"])
    support, _ = await connect(world["support_agent"])

    @sync_to_async
    def transfer() -> None:
        with transaction.atomic():
            ticket.queue = world["support"]
            ticket.save()
            realtime.ticket_changed(ticket, "ticket.transferred")

    await transfer()
    gone = await sales.receive_json_from(timeout=5)
    arrived = await support.receive_json_from(timeout=5)
    assert gone["type"] == "ticket.removed"
    assert gone["ticket"] == {"id": ticket.pk, "number": ticket.number}
    assert "contact" not in gone["ticket"]  # the old queue learns nothing new
    assert gone["counts"]["queues"][str(world["sales"].pk)]["pending"] == 0
    assert arrived["type"] == "ticket.transferred"
    assert arrived["seq"] == gone["seq"] == 2
    assert arrived["counts"]["queues"][str(world["support"].pk)]["pending"] == 1

    # Later events about it no longer reach the old queue.
    await publish(ticket)
    assert (await support.receive_json_from(timeout=5))["seq"] == 3
    assert await sales.receive_nothing(timeout=0.5)
    await sales.disconnect()
    await support.disconnect()


async def test_replay_after_a_reconnect_delivers_only_the_missed_events_the_member_may_see(
    company,
) -> None:
    world = await setup_two_queues(company)
    other = await sync_to_async(make_ticket)(company, queue=world["support"], name="Caio")
    sales, hello = await connect(world["sales_agent"])
    last_seen = hello["seq"]
    await sales.disconnect()

    await publish(world["ticket"], "ticket.updated")  # seq 1, visible to sales
    await publish(other, "ticket.updated")  # seq 2, support only
    await publish(world["ticket"], "ticket.assigned")  # seq 3, visible to sales

    again, hello = await connect(world["sales_agent"], since=last_seen)
    assert hello["seq"] == 3
    first = await again.receive_json_from(timeout=5)
    second = await again.receive_json_from(timeout=5)
    assert [(first["seq"], first["type"]), (second["seq"], second["type"])] == [
        (1, "ticket.updated"),
        (3, "ticket.assigned"),
    ]
    assert first["replay"] is True and first["ticket"]["id"] == world["ticket"].pk
    assert await again.receive_nothing(timeout=0.5)
    await again.disconnect()


async def test_a_client_that_is_up_to_date_gets_no_replay(company, supervisor) -> None:
    ticket = await sync_to_async(make_ticket)(company)
    await publish(ticket)
    ws, hello = await connect(supervisor, since=1)
    assert hello["seq"] == 1
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


async def test_events_are_sequenced_again_after_redis_forgets_the_script(
    company, supervisor
) -> None:
    """The publisher calls the sequence script by its SHA; after a Redis restart (its
    scripts gone) the batch loads it again and goes out, numbered."""
    ticket = await sync_to_async(make_ticket)(company)
    await publish(ticket)
    await sync_to_async(realtime._redis().script_flush)()
    ws, _hello = await connect(supervisor, since=1)
    await publish(ticket)
    event = await ws.receive_json_from(timeout=2)
    assert (event["type"], event["seq"]) == ("ticket.updated", 2)
    assert await sync_to_async(realtime.current_seq)(company.pk) == 2
    await ws.disconnect()


async def test_a_since_older_than_the_replay_log_asks_the_browser_to_reload(
    company, supervisor, monkeypatch
) -> None:
    monkeypatch.setattr(realtime, "REPLAY_LOG_SIZE", 3)
    ticket = await sync_to_async(make_ticket)(company)
    for _ in range(5):
        await publish(ticket)
    ws, _ = await connect(supervisor, since=1)
    assert await ws.receive_json_from(timeout=5) == {"type": "resync", "seq": 5}
    await ws.disconnect()
    # Still within the log: replayed, not resynced.
    ws, _ = await connect(supervisor, since=2)
    assert [(await ws.receive_json_from(timeout=5))["seq"] for _ in range(3)] == [3, 4, 5]
    await ws.disconnect()


async def test_a_since_ahead_of_the_counter_means_redis_was_reset_and_asks_for_a_reload(
    company, supervisor
) -> None:
    ws, _ = await connect(supervisor, since=99)
    assert await ws.receive_json_from(timeout=5) == {"type": "resync", "seq": 0}
    await ws.disconnect()


async def test_an_outsider_gets_no_replay_of_another_company(
    company, outsider, other_company
) -> None:
    ticket = await sync_to_async(make_ticket)(company)
    await publish(ticket)
    ws, hello = await connect(outsider, since=0, slug="outra")
    assert hello["seq"] == 0
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


async def test_a_ticket_page_subscription_is_checked_like_the_api(company) -> None:
    world = await setup_two_queues(company)
    ticket = world["ticket"]
    support, _ = await connect(world["support_agent"])
    await support.send_json_to({"type": "subscribe", "ticket": ticket.number})
    refused = await support.receive_json_from(timeout=5)
    assert refused["type"] == "error" and refused["error"] == "ticket_not_found"
    await publish(ticket)
    assert await support.receive_nothing(timeout=0.5)
    await support.disconnect()


async def test_a_ticket_page_stops_hearing_a_ticket_transferred_away_from_its_agent(
    company,
) -> None:
    world = await setup_two_queues(company)
    ticket = world["ticket"]
    sales, _ = await connect(world["sales_agent"])
    await sales.send_json_to({"type": "subscribe", "ticket": ticket.number})
    assert (await sales.receive_json_from(timeout=5))["type"] == "subscribed"

    @sync_to_async
    def transfer() -> None:
        with transaction.atomic():
            ticket.queue = world["support"]
            ticket.save()
            realtime.ticket_changed(ticket, "ticket.transferred")

    await transfer()
    # Through the ticket group the full event would arrive: the consumer turns it into
    # a removal and leaves the group, so later events stay unheard.
    received = [await sales.receive_json_from(timeout=5)]
    assert {e["type"] for e in received} == {"ticket.removed"}
    assert "contact" not in received[0]["ticket"]
    await publish(ticket)
    assert await sales.receive_nothing(timeout=0.5)
    await sales.disconnect()


async def test_a_supervisor_hears_every_queue_and_the_ticket_page_of_any_ticket(
    company, supervisor
) -> None:
    world = await setup_two_queues(company)
    other = await sync_to_async(make_ticket)(company, queue=world["support"])
    boss, hello = await connect(supervisor)
    assert set(hello["counts"]["queues"]) == {str(world["sales"].pk), str(world["support"].pk)}
    await boss.send_json_to({"type": "subscribe", "ticket": other.number})
    assert (await boss.receive_json_from(timeout=5))["type"] == "subscribed"
    await publish(world["ticket"])
    await publish(other)
    got = [await boss.receive_json_from(timeout=5) for _ in range(3)]
    # The subscribed ticket's event arrives twice (company-wide and ticket page); the
    # browser keeps one per seq.
    assert sorted(e["seq"] for e in got) == [1, 2, 2]
    await boss.disconnect()


async def test_the_inbox_socket_keeps_the_members_presence(company, agent) -> None:
    from tickets import presence

    ws, _ = await connect(agent)
    assert await sync_to_async(presence.is_connected)(company.pk, agent.pk)
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from(timeout=5) == {"type": "pong"}
    await ws.disconnect()
    assert not await sync_to_async(presence.is_connected)(company.pk, agent.pk)


async def test_the_publisher_thread_sends_a_burst_in_commit_order_with_one_audience_change(
    company, supervisor, settings, monkeypatch
) -> None:
    """Production mode: after-commit hooks only enqueue; the thread drains the burst as
    batches, in order, and a transfer inside the burst is announced to the old queue once."""
    settings.REALTIME_PUBLISH = "thread"
    world = await setup_two_queues(company)
    ticket = world["ticket"]
    boss, _ = await connect(supervisor)
    sales, _ = await connect(world["sales_agent"])
    support, _ = await connect(world["support_agent"])
    batches: list[int] = []
    real = realtime._publish_batch
    monkeypatch.setattr(
        realtime, "_publish_batch", lambda items: (batches.append(len(items)), real(items))
    )

    @sync_to_async
    def burst() -> None:
        from tickets.models import Ticket

        for n in range(5):
            with transaction.atomic():
                realtime.ticket_changed(ticket, "ticket.updated", n=n)
        with transaction.atomic():
            Ticket.objects.filter(pk=ticket.pk).update(queue=world["support"])
            realtime.ticket_changed(ticket, "ticket.transferred", previous_queue=world["sales"].pk)
        for n in range(5, 8):
            with transaction.atomic():
                realtime.ticket_changed(ticket, "ticket.updated", n=n)
        assert realtime.flush()

    await burst()
    seen = [await boss.receive_json_from(timeout=5) for _ in range(9)]
    assert [e["seq"] for e in seen] == list(range(1, 10))
    assert [e.get("n") for e in seen] == [0, 1, 2, 3, 4, None, 5, 6, 7]
    assert sum(batches) == 9
    # Each event is routed by the ticket as it is when the thread publishes it (it may
    # have drained the burst after the transfer committed): the old queue hears some of
    # the first updates, then exactly one removal, then nothing; the new queue hears a
    # run of events that ends with the last one and includes the transfer.
    heard = []
    while not await sales.receive_nothing(timeout=0.5):
        heard.append(await sales.receive_json_from(timeout=5))
    types = [e["type"] for e in heard]
    assert types[-1] == "ticket.removed" and types.count("ticket.removed") == 1
    assert set(types[:-1]) <= {"ticket.updated"} and len(types) <= 6
    arrived = []
    while not await support.receive_nothing(timeout=0.5):
        arrived.append(await support.receive_json_from(timeout=5))
    seqs = [e["seq"] for e in arrived]
    assert seqs == list(range(seqs[0], 10)) and seqs[0] <= 6
    for ws in (boss, sales, support):
        await ws.disconnect()


async def test_a_member_taken_out_of_a_queue_is_closed_and_then_no_longer_hears_it(
    company,
) -> None:
    """Subscriptions are made at connect time: a change of queues closes the member's
    sockets (and only theirs), the browser connects again, subscribed anew."""
    from tickets.services.queues import queue_update

    world = await setup_two_queues(company)
    sales, _ = await connect(world["sales_agent"])
    support, _ = await connect(world["support_agent"])
    await publish(world["ticket"])  # heard while in the queue
    assert (await sales.receive_json_from(timeout=5))["ticket"]["id"] == world["ticket"].pk

    await sync_to_async(queue_update)(queue=world["sales"], actor=None, member_ids=[])
    assert await sales.receive_output(timeout=5) == {
        "type": "websocket.close",
        "code": realtime.ACCESS_CHANGED_CLOSE_CODE,
    }
    assert await support.receive_nothing(timeout=0.3)  # not theirs
    again, _ = await connect(world["sales_agent"], since=1)
    await publish(world["ticket"])
    assert await again.receive_nothing(timeout=0.5)
    await again.disconnect()
    await support.disconnect()


async def test_a_deactivated_member_is_closed_and_refused_but_not_in_their_other_company(
    company, other_company
) -> None:
    from tenants.models import Membership
    from tenants.services import member_update

    world = await setup_two_queues(company)
    agent = world["sales_agent"]
    await sync_to_async(Membership.objects.create)(
        company=other_company, user=agent, role=Role.AGENT
    )
    here, _ = await connect(agent)
    elsewhere, _ = await connect(agent, slug=other_company.slug)
    admin = await sync_to_async(make_member)(company, "chefe@azul.test", Role.ADMIN)
    membership = await sync_to_async(Membership.objects.get)(company=company, user=agent)

    await sync_to_async(member_update)(membership=membership, actor=admin, is_active=False)
    assert await here.receive_output(timeout=5) == {
        "type": "websocket.close",
        "code": realtime.ACCESS_CHANGED_CLOSE_CODE,
    }
    assert await elsewhere.receive_nothing(timeout=0.3)  # another company's membership
    refused = WebsocketCommunicator(
        application, f"/ws/companies/{company.slug}/?token={jwt_for(agent)}"
    )
    connected, code = await refused.connect(timeout=5)
    assert not connected and code == 4404
    await publish(world["ticket"])
    assert await elsewhere.receive_nothing(timeout=0.3)
    await elsewhere.disconnect()


async def test_a_change_no_service_announced_closes_the_socket_at_the_next_ping(
    company,
) -> None:
    """A change made around the services (the Django admin's forms, the ORM) is caught at
    the member's next ping (every ~25 s): the socket is closed like by the services."""
    world = await setup_two_queues(company)
    sales, _ = await connect(world["sales_agent"])
    support, _ = await connect(world["support_agent"])
    await sales.send_json_to({"type": "ping"})
    assert await sales.receive_json_from(timeout=5) == {"type": "pong"}
    assert await sales.receive_nothing(timeout=0.3)  # nothing changed: stays open

    await sync_to_async(world["sales"].members.remove)(world["sales_agent"])
    await sales.send_json_to({"type": "ping"})
    assert await sales.receive_json_from(timeout=5) == {"type": "pong"}
    assert await sales.receive_output(timeout=5) == {
        "type": "websocket.close",
        "code": realtime.ACCESS_CHANGED_CLOSE_CODE,
    }
    await support.send_json_to({"type": "ping"})
    assert await support.receive_json_from(timeout=5) == {"type": "pong"}
    assert await support.receive_nothing(timeout=0.3)
    await support.disconnect()
