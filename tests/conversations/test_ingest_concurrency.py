"""Concurrent deliveries on real PostgreSQL: threads, each with its own connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from conversations.models import Contact, Conversation, Message
from integrations.models import WebhookEvent
from tenants.models import Company
from tests.webhook_support import chatwoot_message, make_integration, post_chatwoot
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

THREADS = 10


def run_at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together; re-raise any error."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def target(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = work(index)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def company_tx() -> Company:
    return Company.objects.create(name="Concorrência", slug="concorrencia")


def test_concurrent_copies_of_one_delivery_create_one_of_everything(company_tx: Company) -> None:
    integration = make_integration(company_tx, "chatwoot")
    payload = chatwoot_message(message_id=4242, conversation_id=77, contact_id=9)

    codes = run_at_once(
        THREADS,
        lambda i: post_chatwoot(Client(), integration, payload, delivery="same-delivery"),
    )

    assert [r.status_code for r in codes] == [200] * THREADS
    assert sorted(r.json()["status"] for r in codes) == ["duplicate"] * (THREADS - 1) + [
        "processed"
    ]
    assert Message.objects.count() == 1
    assert Conversation.objects.count() == 1
    assert Contact.objects.count() == 1
    assert Ticket.objects.get().unread_count == 1
    assert WebhookEvent.objects.count() == THREADS


def test_concurrent_deliveries_of_one_message_under_different_ids_store_it_once(
    company_tx: Company,
) -> None:
    integration = make_integration(company_tx, "chatwoot")
    payload = chatwoot_message(message_id=4243, conversation_id=78, contact_id=10)

    responses = run_at_once(
        THREADS, lambda i: post_chatwoot(Client(), integration, payload, delivery=f"d-{i}")
    )

    assert all(r.status_code == 200 for r in responses)
    assert Message.objects.count() == 1
    assert Conversation.objects.count() == 1
    assert Contact.objects.count() == 1
    assert Ticket.objects.count() == 1


def test_concurrent_first_messages_of_a_new_conversation_share_one_conversation_and_ticket(
    company_tx: Company,
) -> None:
    integration = make_integration(company_tx, "chatwoot")

    responses = run_at_once(
        THREADS,
        lambda i: post_chatwoot(
            Client(),
            integration,
            chatwoot_message(message_id=5000 + i, conversation_id=79, contact_id=11),
        ),
    )

    assert all(r.json()["status"] == "processed" for r in responses)
    assert Message.objects.count() == THREADS
    assert Conversation.objects.count() == 1 and Contact.objects.count() == 1
    ticket = Ticket.objects.get()
    assert ticket.number == 1 and ticket.unread_count == THREADS


def test_concurrent_new_conversations_get_distinct_gap_free_ticket_numbers(
    company_tx: Company,
) -> None:
    integration = make_integration(company_tx, "chatwoot")

    run_at_once(
        THREADS,
        lambda i: post_chatwoot(
            Client(),
            integration,
            chatwoot_message(
                message_id=6000 + i,
                conversation_id=100 + i,
                contact_id=200 + i,
                phone=f"+55119876540{i:02d}",
            ),
        ),
    )

    numbers = sorted(Ticket.objects.values_list("number", flat=True))
    assert numbers == list(range(1, THREADS + 1))


def test_a_failing_after_commit_publish_does_not_mark_committed_work_failed(
    company_tx: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conversations import realtime

    def broken_layer(groups: Any, payload: Any) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(realtime, "send_now", broken_layer)
    integration = make_integration(company_tx, "chatwoot")

    response = post_chatwoot(Client(), integration, chatwoot_message(message_id=1))

    assert response.status_code == 200 and response.json()["status"] == "processed"
    assert WebhookEvent.objects.get().status == "processed"
    assert Message.objects.count() == 1
