"""Queued webhook ingest (WEBHOOK_INGEST=queued, the PostgreSQL default): the request stores
and answers, the ingest worker applies the stored events in batches. The batch must end
exactly where the one-event-per-request path ends."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test import Client, RequestFactory

from conversations.models import Contact, Conversation, Message, ParkedMessageEvent
from integrations import worker
from integrations.models import Integration, WebhookEvent, WebhookStatus
from integrations.services import webhooks as webhook_service
from integrations.services.webhooks import webhooks_process_pending
from integrations.tasks import sweep_webhooks
from metrics.models import ContactDay, MessageVolume, ResponseTime
from tenants.models import Company
from tests.webhook_support import (
    PUBLIC_BASE,
    chatwoot_headers,
    chatwoot_message,
    fixture_path,
    load_fixture,
    make_integration,
    post_chatwoot,
    post_twilio,
)
from tickets.models import Ticket

pytestmark = [pytest.mark.postgres]

AGENT = {"id": 5, "name": "Bia Atendente", "type": "user"}


@pytest.fixture
def queued(settings: Any) -> None:
    settings.WEBHOOK_INGEST = "queued"
    settings.PUBLIC_BASE_URL = PUBLIC_BASE


def twilio_inbound(sid: str, body: str, phone: str = "+5511912345678") -> dict[str, str]:
    return {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": f"whatsapp:{phone}",
        "To": "whatsapp:+14155238886",
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Ana Cliente",
        "WaId": phone[1:],
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }


def twilio_status(sid: str, status: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "MessageStatus": status,
        "AccountSid": "AC" + "0" * 32,
        "From": "whatsapp:+14155238886",
        "To": "whatsapp:+5511912345678",
        "ApiVersion": "2010-04-01",
    }


def post_sequence(client: Client, chatwoot: Integration, twilio: Integration) -> list[int]:
    """A realistic, untidy stretch of traffic: new and known conversations, duplicates of
    both kinds, a reply, recorded payloads, a status before its message, a group."""

    def message(n: int, conversation: int = 501, **extra: Any) -> dict[str, Any]:
        return chatwoot_message(message_id=n, conversation_id=conversation, **extra)

    posts = [
        lambda: post_chatwoot(client, chatwoot, message(1)),
        lambda: post_chatwoot(
            client, chatwoot, chatwoot_message(message_id=2, conversation_id=501), delivery="d-2"
        ),
        # the same delivery again, then the same message under another delivery id
        lambda: post_chatwoot(
            client, chatwoot, chatwoot_message(message_id=2, conversation_id=501), delivery="d-2"
        ),
        lambda: post_chatwoot(
            client, chatwoot, chatwoot_message(message_id=2, conversation_id=501), delivery="d-2b"
        ),
        lambda: post_chatwoot(
            client,
            chatwoot,
            message(3, 502, contact_id=78, phone="+5521998765432", name="Bruno"),
        ),
        lambda: post_chatwoot(
            client,
            chatwoot,
            chatwoot_message(
                message_id=4,
                conversation_id=501,
                message_type="outgoing",
                sender=AGENT,
                content="Olá! Como posso ajudar?",
            ),
        ),
        *[
            (lambda name=name: post_chatwoot(client, chatwoot, fixture_path(name).read_bytes()))
            for name in (
                "chatwoot/woofed_message_created_incoming_webwidget.json",
                "chatwoot/woofed_message_created_with_three_attachments.json",
                "chatwoot/reconstructed_message_created_evolution_whatsapp_group.json",
                "chatwoot/woofed_conversation_updated.json",
                "chatwoot/woofed_contact_created.json",
            )
        ],
        lambda: post_chatwoot(client, chatwoot, message(5)),
        lambda: post_twilio(client, twilio, twilio_status("SM" + "9" * 32, "delivered")),
        lambda: post_twilio(client, twilio, twilio_inbound("SM" + "1" * 32, "oi pelo whatsapp")),
        # the Brazilian mobile without its ninth digit: the same contact
        lambda: post_twilio(
            client, twilio, twilio_inbound("SM" + "2" * 32, "de novo", phone="+551112345678")
        ),
        lambda: post_twilio(client, twilio, twilio_inbound("SM" + "2" * 32, "de novo")),
    ]
    codes = []
    for post in posts:
        response = post()
        assert response.status_code == 200, response.content
        codes.append(response.status_code)
    return codes


def snapshot(company: Company) -> dict[str, Any]:
    """What staff and metrics see, without ids and clock readings."""
    messages = Message.objects.filter(company=company).select_related("conversation", "ticket")
    return {
        "contacts": sorted(
            (c.name, c.phone, c.is_group, c.last_activity_at is not None)
            for c in Contact.objects.filter(company=company)
        ),
        "conversations": sorted(
            (v.integration.kind, v.external_id, v.is_group, v.group_name, v.contact.name)
            for v in Conversation.objects.filter(company=company).select_related(
                "integration", "contact"
            )
        ),
        "messages": sorted(
            (
                m.conversation.external_id,
                m.external_id or "",
                m.direction,
                m.sender_type,
                m.sender_name,
                m.content,
                m.delivery_status,
                m.is_private,
                len(m.attachments),
                m.ticket.number if m.ticket else None,
            )
            for m in messages
        ),
        "tickets": sorted(
            (
                t.number,
                t.conversation.external_id,
                t.status,
                t.unread_count,
                t.reopen_count,
                t.waiting_since is not None,
                t.first_response_at is not None,
                t.last_message_at is not None,
            )
            for t in Ticket.objects.filter(company=company).select_related("conversation")
        ),
        "events": Counter(
            WebhookEvent.objects.filter(company=company).values_list("status", flat=True)
        ),
        "volumes": sorted(
            MessageVolume.objects.filter(company=company).values_list(
                "day", "hour", "direction", "sender_type", "sender_user_id", "n", "quarters"
            )
        ),
        "contact_days": ContactDay.objects.filter(company=company).count(),
        "response_times": ResponseTime.objects.filter(company=company).count(),
        "parked": ParkedMessageEvent.objects.filter(company=company).count(),
    }


def _clear_of_a_quarter_hour(margin: float = 20.0) -> None:
    """Messages without a timestamp of their own (Twilio's) are stamped when ingested, and
    the message volumes keep which quarter hours had messages: the inline half and the
    queued half must not fall on two sides of a quarter hour (a failure seen at 01:30)."""
    left = 900 - time.time() % 900
    if left < margin:
        time.sleep(left + 0.5)


@pytest.mark.django_db
@pytest.mark.parametrize("kept_seconds", [0, 60])
def test_a_batch_ends_exactly_where_one_request_at_a_time_ends(
    client: Client,
    company: Company,
    other_company: Company,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    kept_seconds: int,
) -> None:
    settings.PUBLIC_BASE_URL = PUBLIC_BASE
    settings.WEBHOOK_INTEGRATION_CACHE_SECONDS = kept_seconds  # kept lookups change nothing
    inline_chatwoot = make_integration(company, "chatwoot")
    inline_twilio = make_integration(company, "twilio")
    queued_chatwoot = make_integration(other_company, "chatwoot")
    queued_twilio = make_integration(other_company, "twilio")

    _clear_of_a_quarter_hour()
    settings.WEBHOOK_INGEST = "inline"
    post_sequence(client, inline_chatwoot, inline_twilio)
    settings.WEBHOOK_INGEST = "queued"
    post_sequence(client, queued_chatwoot, queued_twilio)

    waiting = WebhookEvent.objects.filter(company=other_company, status=WebhookStatus.RECEIVED)
    assert waiting.count() == 16  # everything that parsed waits; nothing is ingested yet
    assert not Message.objects.filter(company=other_company).exists()

    with caplog.at_level("WARNING", logger="integrations.services.webhooks"):
        assert webhooks_process_pending(limit=6) == 6  # three batches: kept integrations
        assert webhooks_process_pending(limit=6) == 6
        assert webhooks_process_pending(limit=6) == 4
    assert webhooks_process_pending(limit=100) == 0
    assert not caplog.records  # one batch, no fallback to one event at a time

    inline, queued = snapshot(company), snapshot(other_company)
    assert queued == inline
    # duplicates: delivery d-2 again, message 2 under d-2b, the Twilio SID sent twice
    assert inline["events"] == Counter({"processed": 13, "duplicate": 3})
    assert len(inline["messages"]) == 10
    assert inline["parked"] == 1  # the status of a message we never sent


@pytest.mark.django_db
def test_the_queued_answer_comes_before_ingest_and_malformed_bodies_still_get_400(
    client: Client, company: Company, queued: None
) -> None:
    chatwoot = make_integration(company, "chatwoot")

    ok = post_chatwoot(client, chatwoot, chatwoot_message(message_id=10))
    bad = post_chatwoot(client, chatwoot, b"{not json")
    forged = post_chatwoot(client, chatwoot, chatwoot_message(message_id=11), secret="wrong")

    assert ok.status_code == 200 and ok.json()["status"] == "received"
    assert bad.status_code == 400 and bad.json()["status"] == "failed" and bad.json()["error"]
    assert forged.status_code == 401
    assert WebhookEvent.objects.get(pk=forged.json()["event"]).status == WebhookStatus.REJECTED
    assert webhooks_process_pending() == 1  # only the good one was waiting
    event = WebhookEvent.objects.get(pk=ok.json()["event"])
    assert event.status == WebhookStatus.PROCESSED
    assert event.processing_ms is not None and event.processing_ms >= 0
    assert Message.objects.get(company=company).external_id == "10"


@pytest.mark.django_db
def test_a_poison_event_fails_alone_and_the_rest_of_its_batch_is_ingested(
    client: Client, company: Company, queued: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    chatwoot = make_integration(company, "chatwoot")
    for n in (21, 22, 23):
        content = "boom" if n == 22 else f"mensagem {n}"
        post_chatwoot(client, chatwoot, chatwoot_message(message_id=n, content=content))
    real = webhook_service.events_ingest

    def explode_on_boom(*, integration: Integration, events: Any, careful: bool = False) -> Any:
        if any(getattr(event, "content", "") == "boom" for event in events):
            raise RuntimeError("adapter bug")
        return real(integration=integration, events=events, careful=careful)

    monkeypatch.setattr(webhook_service, "events_ingest", explode_on_boom)

    assert webhooks_process_pending() == 3

    statuses = dict(WebhookEvent.objects.values_list("body", "status"))
    assert sorted(statuses.values()) == ["failed", "processed", "processed"]
    failed = WebhookEvent.objects.get(status=WebhookStatus.FAILED)
    assert "adapter bug" in failed.error
    assert sorted(Message.objects.values_list("external_id", flat=True)) == ["21", "23"]
    assert Ticket.objects.get().unread_count == 2  # nothing of the poison is half-written


@pytest.mark.django_db
def test_each_event_of_a_mixed_batch_lands_in_its_own_company(
    client: Client, company: Company, other_company: Company, queued: None
) -> None:
    ours = make_integration(company, "chatwoot")
    theirs = make_integration(other_company, "chatwoot")
    # Same platform ids on both sides: only the integration tells them apart.
    post_chatwoot(client, ours, chatwoot_message(message_id=1, conversation_id=9))
    post_chatwoot(client, theirs, chatwoot_message(message_id=1, conversation_id=9))
    post_chatwoot(client, ours, chatwoot_message(message_id=2, conversation_id=9))

    assert webhooks_process_pending() == 3

    assert Message.objects.filter(company=company).count() == 2
    assert Message.objects.filter(company=other_company).count() == 1
    for message in Message.objects.select_related("conversation__contact", "ticket"):
        assert message.conversation.company_id == message.company_id
        assert message.conversation.contact.company_id == message.company_id
        assert message.ticket.company_id == message.company_id
    assert Ticket.objects.get(company=company).unread_count == 2
    assert Ticket.objects.get(company=other_company).unread_count == 1


@pytest.mark.django_db
def test_the_sweep_takes_only_events_nobody_ingested_for_a_while(
    client: Client, company: Company, queued: None, settings: Any
) -> None:
    settings.WEBHOOK_SWEEP_AFTER_SECONDS = 30
    chatwoot = make_integration(company, "chatwoot")
    old = post_chatwoot(client, chatwoot, chatwoot_message(message_id=31)).json()["event"]
    new = post_chatwoot(client, chatwoot, chatwoot_message(message_id=32)).json()["event"]
    WebhookEvent.objects.filter(pk=old).update(
        received_at=WebhookEvent.objects.get(pk=old).received_at - timedelta(minutes=2)
    )

    assert sweep_webhooks() == 1

    assert WebhookEvent.objects.get(pk=old).status == WebhookStatus.PROCESSED
    assert WebhookEvent.objects.get(pk=new).status == WebhookStatus.RECEIVED


@pytest.mark.django_db
def test_the_wsgi_entry_point_serves_webhooks_with_the_short_middleware_list(
    company: Company, queued: None
) -> None:
    from atende.wsgi import application

    chatwoot = make_integration(company, "chatwoot")
    body = b'{"event": "message_created", "id": 1'  # malformed: answered without ingest
    environ = (
        RequestFactory()
        .generic(
            "POST",
            chatwoot.webhook_path(),
            body,
            content_type="application/json",
            **chatwoot_headers(body),
        )
        .environ
    )
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"], seen["headers"] = status, dict(headers)

    # As Django's test client does: the handler must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        b"".join(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)

    assert seen["status"].startswith("400")
    assert "X-Request-ID" in seen["headers"]  # the short list keeps request ids...
    assert "Set-Cookie" not in seen["headers"]  # ...and no session or CSRF machinery
    assert "Content-Security-Policy" not in seen["headers"]
    assert WebhookEvent.objects.get().status == WebhookStatus.FAILED


@pytest.mark.django_db(transaction=True)
def test_the_worker_wakes_on_the_notification_and_workers_never_share_an_event(
    settings: Any,
) -> None:
    settings.WEBHOOK_INGEST = "queued"
    company = Company.objects.create(name="Fila", slug="fila")
    chatwoot = make_integration(company, "chatwoot")
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            # A long idle wait: only the NOTIFY can make it this fast.
            worker.run(should_stop=stop.is_set, batch_size=5, idle_seconds=30)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)  # both listening
        client = Client()
        started = time.monotonic()
        for n in range(40):
            post_chatwoot(
                client, chatwoot, chatwoot_message(message_id=100 + n, conversation_id=n % 7)
            )
        deadline = time.monotonic() + 10
        waiting = WebhookEvent.objects.filter(status=WebhookStatus.RECEIVED)
        while waiting.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        with connection.cursor() as cursor:  # wake both from their long wait
            cursor.execute(f"NOTIFY {webhook_service.INGEST_CHANNEL}")
        for thread in threads:
            thread.join(timeout=40)
    assert not errors
    assert not waiting.exists()
    assert elapsed < 10
    assert Message.objects.count() == 40
    assert Counter(WebhookEvent.objects.values_list("status", flat=True)) == {"processed": 40}
    assert sum(Ticket.objects.values_list("unread_count", flat=True)) == 40
    assert Ticket.objects.count() == 7


@pytest.mark.django_db
def test_the_worker_survives_an_unexpected_error_and_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    def flaky_drain(**kwargs: Any) -> int:
        calls.append("drain")
        if len(calls) == 1:
            raise RuntimeError("an integration vanished mid-batch")
        return 0

    monkeypatch.setattr(worker, "drain", flaky_drain)
    monkeypatch.setattr(worker.time, "sleep", lambda seconds: None)

    worker.run(should_stop=lambda: len(calls) >= 2, idle_seconds=0.01)

    assert calls == ["drain", "drain"]


@pytest.mark.django_db
def test_a_kept_integration_saves_the_lookup_and_a_rotated_secret_works_at_once(
    client: Client, company: Company, other_company: Company, settings: Any
) -> None:
    from django.test.utils import CaptureQueriesContext

    from integrations.services.config import integration_update

    settings.WEBHOOK_INGEST = "queued"
    settings.WEBHOOK_INTEGRATION_CACHE_SECONDS = 60
    chatwoot = make_integration(company, "chatwoot")
    theirs = make_integration(other_company, "chatwoot")
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=1))  # looked up, kept

    with CaptureQueriesContext(connection) as kept:
        assert post_chatwoot(client, chatwoot, chatwoot_message(message_id=2)).status_code == 200
    assert not any("integrations_integration i" in q["sql"] for q in kept.captured_queries)

    # Another company's URL is its own entry: never answered with ours.
    response = post_chatwoot(client, theirs, chatwoot_message(message_id=3))
    assert WebhookEvent.objects.get(pk=response.json()["event"]).company_id == other_company.pk

    integration_update(
        integration=Integration.objects.get(pk=chatwoot.pk),
        secrets={"webhook_secret": "rotated-secret-123"},
    )
    rotated = post_chatwoot(
        client, chatwoot, chatwoot_message(message_id=4), secret="rotated-secret-123"
    )
    stale = post_chatwoot(client, chatwoot, chatwoot_message(message_id=5))

    assert rotated.status_code == 200  # checked again with the stored secrets
    assert stale.status_code == 401  # the old secret no longer passes


@pytest.mark.django_db
def test_a_deactivated_integration_stops_answering_within_the_kept_time(
    client: Client, company: Company, settings: Any
) -> None:
    settings.WEBHOOK_INGEST = "queued"
    settings.WEBHOOK_INTEGRATION_CACHE_SECONDS = 0.3
    chatwoot = make_integration(company, "chatwoot")
    assert post_chatwoot(client, chatwoot, chatwoot_message(message_id=1)).status_code == 200

    Integration.objects.filter(pk=chatwoot.pk).update(is_active=False)
    time.sleep(0.35)

    assert post_chatwoot(client, chatwoot, chatwoot_message(message_id=2)).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_replaying_a_waiting_event_never_races_the_worker_ingesting_it(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from integrations.services.webhooks import webhook_replay

    settings.WEBHOOK_INGEST = "queued"
    company = Company.objects.create(name="Replay", slug="replay")
    chatwoot = make_integration(company, "chatwoot")
    waiting = post_chatwoot(Client(), chatwoot, chatwoot_message(message_id=71)).json()["event"]
    inside, go_on = threading.Event(), threading.Event()
    real_prefetch = webhook_service.events_ingest_prefetch

    def slow_prefetch(*args: Any, **kwargs: Any) -> None:
        inside.set()  # the worker holds the event's row lock from here to its commit
        go_on.wait(timeout=10)
        real_prefetch(*args, **kwargs)

    monkeypatch.setattr(webhook_service, "events_ingest_prefetch", slow_prefetch)

    def worker_batch() -> None:
        try:
            webhooks_process_pending()
        finally:
            connection.close()

    worker_thread = threading.Thread(target=worker_batch)
    worker_thread.start()
    try:
        assert inside.wait(timeout=10)
        threading.Timer(0.3, go_on.set).start()  # the admin clicks "replay" meanwhile
        replayed = webhook_replay(event=WebhookEvent.objects.get(pk=waiting))
    finally:
        go_on.set()
        worker_thread.join(timeout=10)

    assert replayed.event.status == WebhookStatus.PROCESSED  # the worker's outcome
    assert Message.objects.count() == 1
    assert WebhookEvent.objects.get(pk=waiting).status == WebhookStatus.PROCESSED


def resolve(conversation_id: int) -> dict[str, Any]:
    data = load_fixture("chatwoot/woofed_conversation_updated.json")
    data.update(
        event="conversation_status_changed",
        id=conversation_id,
        status="resolved",
        changed_attributes=[{"status": {"previous_value": "open", "current_value": "resolved"}}],
    )
    data["meta"]["assignee"] = None
    data["meta"]["team"] = None
    data["meta"]["sender"] = {**data["meta"]["sender"], "id": 900 + conversation_id}
    return data


def renumbered(snap: dict[str, Any]) -> dict[str, Any]:
    """``snap`` with each ticket number replaced by (conversation, its rank there)."""
    ranks: dict[int, tuple[str, int]] = {}
    for ticket in sorted(snap["tickets"]):
        number, conversation = ticket[0], ticket[1]
        ranks[number] = (conversation, sum(1 for r in ranks.values() if r[0] == conversation))
    return {
        **snap,
        "messages": sorted((*m[:-1], ranks.get(m[-1])) for m in snap["messages"]),
        "tickets": sorted((ranks[t[0]], *t[1:]) for t in snap["tickets"]),
    }


def inline_then_queued(
    client: Client, company: Company, other_company: Company, settings: Any, traffic: Any
) -> None:
    """``traffic`` posted inline to ``company`` (ingested at once) and queued to
    ``other_company`` (waiting for the test to ingest it)."""
    settings.PUBLIC_BASE_URL = PUBLIC_BASE
    _clear_of_a_quarter_hour()
    for target, mode in ((company, "inline"), (other_company, "queued")):
        settings.WEBHOOK_INGEST = mode
        traffic(client, make_integration(target, "chatwoot"), make_integration(target, "twilio"))


def known_conversations_traffic(client: Client, chatwoot: Integration, twilio: Integration) -> None:
    """Known conversations in the order a batch reorders them: several plain messages of
    one conversation (written behind with its prefetched rows), a conversation resolved
    between two of its messages (the second must open the next ticket), statuses and
    a reply interleaved, a new conversation in the middle."""

    def msg(n: int, conversation: int, **extra: Any) -> Any:
        body = chatwoot_message(
            message_id=n, conversation_id=conversation, contact_id=conversation, **extra
        )
        return post_chatwoot(client, chatwoot, body)

    steps = [
        lambda: msg(101, 701, phone="+5511911110701"),
        lambda: msg(102, 702, phone="+5511911110702"),
        lambda: msg(103, 703, phone="+5511911110703"),
        lambda: post_twilio(client, twilio, twilio_inbound("SM" + "5" * 32, "primeira")),
    ]
    for step in steps:
        assert step().status_code == 200
    webhooks_process_pending(limit=100)
    later = [
        lambda: msg(111, 701, phone="+5511911110701"),
        lambda: msg(112, 702, phone="+5511911110702"),
        lambda: post_chatwoot(client, chatwoot, resolve(702)),
        lambda: msg(113, 701, phone="+5511911110701", content="mais uma"),
        lambda: msg(114, 704, phone="+5511911110704"),  # new in the middle
        lambda: msg(115, 702, phone="+5511911110702", content="depois de resolvido"),
        lambda: post_twilio(client, twilio, twilio_status("SM" + "5" * 32, "read")),
        lambda: post_twilio(client, twilio, twilio_inbound("SM" + "6" * 32, "segunda")),
        lambda: msg(
            116, 703, phone="+5511911110703", message_type="outgoing", sender=AGENT, content="Oi!"
        ),
        lambda: msg(117, 701, phone="+5511911110701", content="e a terceira"),
        lambda: post_twilio(client, twilio, twilio_inbound("SM" + "7" * 32, "terceira")),
    ]
    for step in later:
        assert step().status_code == 200


@pytest.mark.django_db
def test_a_reordered_batch_of_known_conversations_ends_like_one_request_at_a_time(
    client: Client,
    company: Company,
    other_company: Company,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inline_then_queued(client, company, other_company, settings, known_conversations_traffic)
    with caplog.at_level("WARNING", logger="integrations.services.webhooks"):
        assert webhooks_process_pending(limit=100) == 11  # the second stretch in one batch
    assert not caplog.records
    first, second = snapshot(company), snapshot(other_company)
    # Ticket numbers follow the order tickets were opened in, which within one batch is
    # per conversation, not per arrival: compare each ticket by its conversation instead.
    assert renumbered(second) == renumbered(first)
    tickets = {(t[1], t[2]) for t in first["tickets"]}
    assert ("702", "resolved") in tickets and ("702", "pending") in tickets  # reopened or new
    unread = {t[1]: t[3] for t in first["tickets"] if t[2] != "resolved"}
    assert unread["701"] == 4  # four customer messages on one ticket, counted once each


def one_person_everywhere(client: Client, chatwoot: Integration, twilio: Integration) -> None:
    """One person arriving at once on two platforms and two conversations, with and
    without the ninth digit: every new conversation of one batch must find the contact
    an earlier one of the same batch created (by identity or by phone), as one request
    at a time would."""
    phone = "+5511987650801"

    def chatwoot_msg(n: int, conversation: int) -> Any:
        body = chatwoot_message(
            message_id=n, conversation_id=conversation, contact_id=801, phone=phone
        )
        return post_chatwoot(client, chatwoot, body)

    steps = [
        lambda: chatwoot_msg(201, 801),
        lambda: post_twilio(client, twilio, twilio_inbound("SM" + "a" * 32, "oi", phone=phone)),
        lambda: chatwoot_msg(202, 802),  # same Chatwoot contact id, another conversation
        lambda: post_twilio(
            client, twilio, twilio_inbound("SM" + "b" * 32, "sem o nove", phone="+551187650801")
        ),
        lambda: chatwoot_msg(203, 801),
    ]
    for step in steps:
        assert step().status_code == 200


@pytest.mark.django_db
def test_new_conversations_of_one_batch_share_the_contact_they_create(
    client: Client,
    company: Company,
    other_company: Company,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inline_then_queued(client, company, other_company, settings, one_person_everywhere)
    with caplog.at_level("INFO", logger="integrations.services.webhooks"):
        assert webhooks_process_pending(limit=100) == 5
    assert not caplog.records  # one batch: no collision, no fallback
    first, second = snapshot(company), snapshot(other_company)
    assert renumbered(second) == renumbered(first)
    assert len(first["contacts"]) == 1
    assert Contact.objects.filter(company=other_company).count() == 1
    assert len(first["conversations"]) == 3  # two Chatwoot conversations, one WhatsApp


@pytest.mark.django_db
def test_a_drain_stops_at_a_batch_that_was_not_full(
    client: Client, other_company: Company, settings: Any
) -> None:
    """Three waiting events in batches of two: two claims, not a third empty one (what
    arrives later NOTIFYs the listening worker)."""
    from django.test.utils import CaptureQueriesContext

    settings.WEBHOOK_INGEST = "queued"
    chatwoot = make_integration(other_company, "chatwoot")
    for n in (31, 32, 33):
        body = chatwoot_message(message_id=n, conversation_id=600 + n)
        assert post_chatwoot(client, chatwoot, body).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert webhook_service.webhooks_drain(batch_size=2) == 3
    from atende.rows import prepared_name

    claim = webhook_service._claim_sql(False, False)
    runs = f"EXECUTE {prepared_name(claim)}(" if prepared_name(claim) else claim[:60]
    claims = [q for q in queries.captured_queries if runs in q["sql"]]
    assert len(claims) == 2
    assert Message.objects.filter(company=other_company).count() == 3
    assert webhook_service.webhooks_drain(batch_size=2) == 0  # nothing waits: one empty claim


@pytest.mark.django_db(transaction=True)
def test_a_conversation_another_writer_creates_mid_batch_makes_the_batch_retry_cleanly(
    settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The batch prefetches, finds the conversation missing and writes it behind; another
    writer (an inline request on its own connection) commits the same conversation
    meanwhile. The written-behind INSERT then collides: the batch rolls back whole and
    is tried again, which finds the other writer's conversation. One conversation, one
    contact, one ticket, both messages, nothing half written."""
    settings.WEBHOOK_INGEST = "queued"
    company = Company.objects.create(name="Corrida", slug="corrida")
    chatwoot = make_integration(company, "chatwoot")
    client = Client()
    for n in (1, 2):
        body = chatwoot_message(message_id=900 + n, conversation_id=950, contact_id=950)
        assert post_chatwoot(client, chatwoot, body).status_code == 200

    real_prefetch = webhook_service.events_ingest_prefetch
    raced: list[bool] = []

    def prefetch_then_race(*args: Any, **kwargs: Any) -> Any:
        answer = real_prefetch(*args, **kwargs)
        if not raced:
            raced.append(True)

            def other_writer() -> None:
                try:
                    settings.WEBHOOK_INGEST = "inline"
                    body = chatwoot_message(message_id=903, conversation_id=950, contact_id=950)
                    assert post_chatwoot(Client(), chatwoot, body).status_code == 200
                finally:
                    connection.close()

            thread = threading.Thread(target=other_writer)
            thread.start()
            thread.join(timeout=30)
            settings.WEBHOOK_INGEST = "queued"
        return answer

    monkeypatch.setattr(webhook_service, "events_ingest_prefetch", prefetch_then_race)
    with caplog.at_level("INFO", logger="integrations.services.webhooks"):
        assert webhooks_process_pending(limit=10) == 2
    assert raced == [True]
    assert any("collided" in r.getMessage() for r in caplog.records)  # retried once
    assert not any("one by one" in r.getMessage() for r in caplog.records)
    assert Conversation.objects.filter(company=company).count() == 1
    assert Contact.objects.filter(company=company).count() == 1
    assert Ticket.objects.filter(company=company).count() == 1
    assert sorted(
        Message.objects.filter(company=company).values_list("external_id", flat=True)
    ) == ["901", "902", "903"]
    assert Ticket.objects.get(company=company).unread_count == 3
    assert Counter(
        WebhookEvent.objects.filter(company=company).values_list("status", flat=True)
    ) == {"processed": 3}
