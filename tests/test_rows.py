"""atende.rows builds the same instances the ORM loads (the webhook path relies on it)."""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict

from atende.rows import columns, fetch_one
from integrations.selectors import integration_for_webhook
from tests.tickets.live_factories import make_queue, make_ticket
from tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db


def _same(a, b) -> None:
    assert type(a) is type(b)
    fields = [f.attname for f in type(a)._meta.concrete_fields]
    assert {f: getattr(a, f) for f in fields} == {f: getattr(b, f) for f in fields}


def test_fetch_one_equals_the_orm_including_json_and_outer_joins(company) -> None:
    queue = make_queue(company, "Vendas")
    with_queue = make_ticket(company, queue=queue)
    Ticket.objects.filter(pk=with_queue.pk).update(tags=["vip", "ação"])
    without = make_ticket(company)
    sql = (
        f"SELECT {columns(Ticket, 't')}, {columns(Queue, 'q')} FROM tickets_ticket t "  # noqa: S608
        "LEFT JOIN tickets_queue q ON q.id = t.queue_id WHERE t.id = %s"
    )
    ticket, loaded_queue = fetch_one(sql, [with_queue.pk], Ticket, Queue)
    _same(ticket, Ticket.objects.get(pk=with_queue.pk))
    assert ticket.tags == ["vip", "ação"]
    _same(loaded_queue, Queue.objects.get(pk=queue.pk))
    ticket, no_queue = fetch_one(sql, [without.pk], Ticket, Queue)
    _same(ticket, Ticket.objects.get(pk=without.pk))
    assert no_queue is None
    assert fetch_one(sql, [0], Ticket, Queue) is None


def test_the_webhook_lookup_brings_company_and_ai_settings(company, other_company) -> None:
    from integrations.ai.models import AISettings
    from integrations.models import Integration

    integration = Integration.objects.create(company=company, kind="chatwoot", name="CW")
    found = integration_for_webhook(kind="chatwoot", public_id=integration.public_id)
    assert model_to_dict(found) == model_to_dict(Integration.objects.get(pk=integration.pk))
    assert found.company == company
    with pytest.raises(AISettings.DoesNotExist):
        found.company.ai_settings  # noqa: B018 - cached as "none", no query
    ai = AISettings.objects.create(company=company, enabled=True)
    found = integration_for_webhook(kind="chatwoot", public_id=integration.public_id)
    assert found.company.ai_settings == ai
    # Wrong kind, inactive integration or company: not found.
    assert integration_for_webhook(kind="twilio", public_id=integration.public_id) is None
    Integration.objects.filter(pk=integration.pk).update(is_active=False)
    assert integration_for_webhook(kind="chatwoot", public_id=integration.public_id) is None


def test_insert_and_update_write_what_the_orm_would(company) -> None:
    from django.db import IntegrityError, transaction

    from atende.rows import insert, update
    from conversations.models import Message

    ticket = make_ticket(company)
    message = Message(
        company_id=company.pk,
        conversation=ticket.conversation,
        ticket=ticket,
        direction="in",
        sender_type="contact",
        content="Olá, ação!",
        attachments=[{"url": "https://x.test/a.jpg", "kind": "image"}],
        extra={"k": ["v"]},
        external_id="wamid.1",
    )
    insert(message)
    assert message.pk and not message._state.adding
    stored = Message.objects.get(pk=message.pk)
    _same(stored, message)  # defaults (client_id, received_at) and JSON as given
    assert stored.received_at is not None and stored.attachments[0]["kind"] == "image"
    # A duplicate platform id is the same IntegrityError the ORM raises (ingest retries it).
    twin = Message(
        company_id=company.pk,
        conversation=ticket.conversation,
        direction="in",
        sender_type="contact",
        external_id="wamid.1",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        insert(twin)
    assert update(Message, message.pk, {"content": "editada", "extra": {"edited": True}}) == 1
    stored.refresh_from_db()
    assert (stored.content, stored.extra) == ("editada", {"edited": True})
    assert update(Message, 0, {"content": "x"}) == 0
