"""Replies out: message_send stores and schedules, the send task delivers through the real
clients (against fake platforms), retries transient errors and records failures."""

from __future__ import annotations

from typing import Any

import pytest

from conversations import hooks, realtime
from conversations.models import Message
from conversations.services import outbound
from conversations.services.outbound import message_retry, message_send, note_add
from integrations.base import DeliveryStatus, Direction
from integrations.clients import TransientSendError
from integrations.models import Integration, LogEntry
from integrations.tasks import SEND_MAX_RETRIES, send_message
from tests.fakes.platforms import FakeChatwoot, FakeTwilio, FakeUmbler
from tests.integrations.outbound_rows import make_conversation, make_integration, make_ticket

pytestmark = pytest.mark.django_db

CW_TOKEN = "cw-token"


@pytest.fixture
def published(monkeypatch) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(
        realtime,
        "_send_many",
        lambda messages: sent.extend(payload for _g, payload, _a in messages),
    )
    return sent


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple[int, int]]:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(send_message, "delay", lambda *args: calls.append(args))
    return calls


@pytest.fixture
def chatwoot():
    with FakeChatwoot(api_token=CW_TOKEN) as fake:
        yield fake


@pytest.fixture
def cw_ticket(company, chatwoot):
    integration = make_integration(
        company,
        "chatwoot",
        settings={"base_url": chatwoot.base_url, "account_id": "3"},
        secrets={"api_token": CW_TOKEN, "webhook_secret": "whsec"},
    )
    return make_ticket(make_conversation(integration, external_id="10"))


def send(ticket, agent, enqueued, django_capture_on_commit_callbacks, content="Olá!") -> Message:
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(ticket=ticket, content=content, actor=agent)
    assert enqueued[-1] == (ticket.company_id, message.pk)
    return message


def test_a_reply_is_stored_pending_and_sent_only_after_commit(
    cw_ticket, agent, enqueued, published, django_capture_on_commit_callbacks
) -> None:
    cw_ticket.waiting_since = cw_ticket.created_at
    cw_ticket.save()
    with django_capture_on_commit_callbacks() as callbacks:
        message = message_send(ticket=cw_ticket, content="  Olá!  ", actor=agent)
        assert enqueued == []  # nothing leaves before the transaction commits
    assert message.delivery_status == DeliveryStatus.PENDING
    assert message.direction == Direction.OUTBOUND
    assert message.content == "Olá!"
    assert message.sender_user == agent and message.sender_name == agent.display_name
    for callback in callbacks:
        callback()
    assert enqueued == [(cw_ticket.company_id, message.pk)]
    assert "message.created" in [payload["type"] for payload in published]
    cw_ticket.refresh_from_db()
    assert cw_ticket.waiting_since is None
    assert cw_ticket.last_message_at == message.created_at
    assert cw_ticket.first_response_at == message.created_at


def test_the_stored_hook_sees_every_new_reply_with_its_source(
    cw_ticket, agent, monkeypatch
) -> None:
    seen: list[tuple[Message, hooks.MessageContext]] = []
    monkeypatch.setattr(hooks, "_message_stored_hooks", [lambda m, ctx: seen.append((m, ctx))])
    message = message_send(ticket=cw_ticket, content="Oi", actor=agent, source="api")
    note = note_add(ticket=cw_ticket, content="cliente VIP", actor=agent)
    assert [(m.pk, ctx.source, ctx.ticket.pk) for m, ctx in seen] == [
        (message.pk, "api", cw_ticket.pk),
        (note.pk, "staff", cw_ticket.pk),
    ]


def test_the_task_sends_through_chatwoot_with_the_echo_marker_and_records_the_id(
    cw_ticket, agent, chatwoot, enqueued, published, django_capture_on_commit_callbacks
) -> None:
    message = send(cw_ticket, agent, enqueued, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_message(message.company_id, message.pk) == "sent"
    [request] = chatwoot.requests
    assert request.path == "/api/v1/accounts/3/conversations/10/messages"
    assert request.json["content_attributes"] == {"atende_message_id": str(message.client_id)}
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.SENT
    assert message.external_id == "227"
    assert message.sent_at is not None and message.send_attempts == 1
    integration = Integration.objects.get(pk=cw_ticket.conversation.integration_id)
    assert integration.last_send_ok_at is not None
    assert {"type": "message.status", "status": "sent"}.items() <= published[-1].items()
    log = LogEntry.objects.get(source="send")
    assert log.company_id == cw_ticket.company_id and log.context["message_id"] == message.pk


def test_sending_twice_is_a_no_op(
    cw_ticket, agent, chatwoot, enqueued, django_capture_on_commit_callbacks
) -> None:
    message = send(cw_ticket, agent, enqueued, django_capture_on_commit_callbacks)
    assert send_message(message.company_id, message.pk) == "sent"
    assert send_message(message.company_id, message.pk) == "skipped"
    assert len(chatwoot.requests) == 1


def test_the_task_ignores_another_companys_id(
    cw_ticket, agent, other_company, chatwoot, enqueued, django_capture_on_commit_callbacks
) -> None:
    message = send(cw_ticket, agent, enqueued, django_capture_on_commit_callbacks)
    assert send_message(other_company.pk, message.pk) == "skipped"
    assert chatwoot.requests == []


def test_a_transient_error_is_retried_then_succeeds(
    cw_ticket, agent, chatwoot, enqueued, django_capture_on_commit_callbacks
) -> None:
    message = send(cw_ticket, agent, enqueued, django_capture_on_commit_callbacks)
    chatwoot.fail_next(503, times=2)
    for _attempt in range(2):
        with pytest.raises(TransientSendError):
            send_message(message.company_id, message.pk)
        message.refresh_from_db()
        assert message.delivery_status == DeliveryStatus.PENDING
        assert message.error_code == "503"
    integration = Integration.objects.get(pk=cw_ticket.conversation.integration_id)
    assert integration.last_send_error_at is not None and "503" in integration.last_send_error
    assert send_message(message.company_id, message.pk) == "sent"
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.SENT
    assert message.send_attempts == 3
    assert message.error_code == "" and message.error_message == ""
    assert len(chatwoot.requests) == 3
    assert list(LogEntry.objects.values_list("level", flat=True).order_by("id")) == [
        "warning",
        "warning",
        "info",
    ]


def test_the_task_retries_transient_errors_with_capped_jittered_backoff() -> None:
    assert send_message.autoretry_for == (TransientSendError,)
    assert send_message.max_retries == SEND_MAX_RETRIES
    assert send_message.retry_backoff and send_message.retry_jitter
    assert send_message.retry_backoff_max <= 600
    assert send_message.ignore_result


def test_the_last_attempt_marks_a_transient_error_failed(
    cw_ticket, agent, chatwoot, enqueued, django_capture_on_commit_callbacks
) -> None:
    message = send(cw_ticket, agent, enqueued, django_capture_on_commit_callbacks)
    chatwoot.fail_next(500)
    result = send_message.apply(args=[message.company_id, message.pk], retries=SEND_MAX_RETRIES)
    assert result.get() == "failed"
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.FAILED
    assert message.error_code == "500"
    assert LogEntry.objects.filter(level="error", source="send").count() == 1


def test_a_permanent_error_marks_the_message_failed_with_the_platforms_reason(
    cw_ticket, agent, chatwoot, enqueued, published, django_capture_on_commit_callbacks
) -> None:
    message = send(cw_ticket, agent, enqueued, django_capture_on_commit_callbacks)
    chatwoot.fail_next(404, body={"message": "Conversation not found"})
    with django_capture_on_commit_callbacks(execute=True):
        assert send_message(message.company_id, message.pk) == "failed"
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.FAILED
    assert (message.error_code, message.error_message) == ("404", "Conversation not found")
    assert published[-1]["status"] == "failed"
    integration = Integration.objects.get(pk=cw_ticket.conversation.integration_id)
    assert "Conversation not found" in integration.last_send_error
    assert integration.last_send_ok_at is None


def test_a_failed_message_can_be_retried_and_then_goes_out(
    cw_ticket, agent, chatwoot, enqueued, django_capture_on_commit_callbacks
) -> None:
    message = send(cw_ticket, agent, enqueued, django_capture_on_commit_callbacks)
    chatwoot.fail_next(400)
    assert send_message(message.company_id, message.pk) == "failed"
    with django_capture_on_commit_callbacks(execute=True):
        message_retry(message=message, actor=agent)
    assert enqueued[-1] == (message.company_id, message.pk)
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.PENDING and message.error_code == ""
    assert send_message(message.company_id, message.pk) == "sent"
    with pytest.raises(Exception, match="mensagem com falha"):
        message_retry(message=message, actor=agent)


def test_an_echo_recorded_during_the_send_is_kept(
    cw_ticket, agent, chatwoot, enqueued, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    """Chatwoot's echo of our message can be ingested before the send call returns."""
    message = send(cw_ticket, agent, enqueued, django_capture_on_commit_callbacks)
    from integrations.chatwoot.client import ChatwootClient

    original = ChatwootClient.send

    def send_and_echo(self, outbound_message):
        result = original(self, outbound_message)
        Message.objects.filter(client_id=outbound_message.client_id).update(
            external_id=result.external_id, delivery_status=DeliveryStatus.DELIVERED
        )
        return result

    monkeypatch.setattr(ChatwootClient, "send", send_and_echo)
    assert send_message(message.company_id, message.pk) == "sent"
    message.refresh_from_db()
    assert message.external_id == "227"
    assert message.delivery_status == DeliveryStatus.DELIVERED  # never moved back


def test_a_deactivated_integration_fails_the_send_without_calling_the_platform(
    cw_ticket, agent, chatwoot, enqueued, django_capture_on_commit_callbacks
) -> None:
    message = send(cw_ticket, agent, enqueued, django_capture_on_commit_callbacks)
    Integration.objects.filter(pk=cw_ticket.conversation.integration_id).update(is_active=False)
    assert send_message(message.company_id, message.pk) == "failed"
    message.refresh_from_db()
    assert message.error_code == "inactive"
    assert chatwoot.requests == []


def test_twilio_sends_to_the_contacts_whatsapp_with_our_status_callback(
    company, agent, enqueued, settings, django_capture_on_commit_callbacks
) -> None:
    settings.PUBLIC_BASE_URL = "https://atende.example"
    with FakeTwilio(auth_token="tw-token") as fake:
        integration = make_integration(
            company,
            "twilio",
            settings={
                "base_url": fake.base_url,
                "account_sid": "AC" + "1" * 32,
                "phone_number": "+14155238886",
            },
            secrets={"auth_token": "tw-token"},
        )
        ticket = make_ticket(make_conversation(integration, phone="+5511987654321"))
        message = send(ticket, agent, enqueued, django_capture_on_commit_callbacks)
        assert send_message(company.pk, message.pk) == "sent"
        form = {k: v[0] for k, v in fake.requests[0].form.items()}
    assert form["To"] == "whatsapp:+5511987654321"
    assert form["From"] == "whatsapp:+14155238886"
    assert form["StatusCallback"] == (
        f"https://atende.example/webhooks/twilio/{integration.public_id}/"
    )
    message.refresh_from_db()
    assert message.external_id.startswith("SM")


def test_twilio_gets_no_status_callback_without_a_public_url(
    company, agent, enqueued, settings, django_capture_on_commit_callbacks
) -> None:
    settings.PUBLIC_BASE_URL = ""
    with FakeTwilio() as fake:
        integration = make_integration(
            company,
            "twilio",
            settings={
                "base_url": fake.base_url,
                "account_sid": "AC1",
                "phone_number": "+14155238886",
            },
            secrets={"auth_token": "t"},
        )
        ticket = make_ticket(make_conversation(integration))
        message = send(ticket, agent, enqueued, django_capture_on_commit_callbacks)
        assert send_message(company.pk, message.pk) == "sent"
        assert "StatusCallback" not in fake.requests[0].form


def test_umbler_sends_from_the_configured_number(
    company, agent, enqueued, django_capture_on_commit_callbacks
) -> None:
    with FakeUmbler(api_token="u-token") as fake:
        integration = make_integration(
            company,
            "umbler",
            settings={
                "base_url": fake.base_url,
                "organization_id": "org",
                "phone_number": "+5511955550000",
            },
            secrets={"api_token": "u-token", "url_token": "hook"},
        )
        ticket = make_ticket(make_conversation(integration, phone="+5511987654321"))
        message = send(ticket, agent, enqueued, django_capture_on_commit_callbacks)
        assert send_message(company.pk, message.pk) == "sent"
        body = fake.requests[0].json
    assert (body["toPhone"], body["fromPhone"], body["organizationId"]) == (
        "+5511987654321",
        "+5511955550000",
        "org",
    )
    message.refresh_from_db()
    assert message.external_id


def test_a_web_form_reply_is_delivered_at_once_without_a_task(
    company, agent, enqueued, django_capture_on_commit_callbacks
) -> None:
    ticket = make_ticket(make_conversation(make_integration(company, "web")))
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(ticket=ticket, content="Resolvido!", actor=agent)
    assert message.delivery_status == DeliveryStatus.DELIVERED and message.sent_at
    assert enqueued == []


def test_an_idempotency_key_never_stores_or_sends_twice(
    cw_ticket, enqueued, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = message_send(
            ticket=cw_ticket, content="Oi", sender_type="bot", idempotency_key="k1"
        )
    with django_capture_on_commit_callbacks(execute=True):
        again = message_send(
            ticket=cw_ticket, content="Oi", sender_type="bot", idempotency_key="k1"
        )
    assert again.pk == first.pk
    assert enqueued == [(cw_ticket.company_id, first.pk)]
    assert first.sender_user is None


def test_a_note_is_private_and_never_sent(
    cw_ticket, agent, chatwoot, enqueued, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        note = note_add(ticket=cw_ticket, content="ligar amanhã", actor=agent)
    assert note.is_private and enqueued == []
    assert send_message(note.company_id, note.pk) == "skipped"
    assert chatwoot.requests == []


@pytest.mark.parametrize("content", ["", "   "])
def test_an_empty_reply_is_refused(cw_ticket, agent, content: str) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        message_send(ticket=cw_ticket, content=content, actor=agent)
    with pytest.raises(ValidationError):
        note_add(ticket=cw_ticket, content=content, actor=agent)
    assert not Message.objects.exists()


def test_unreadable_secrets_fail_the_send_with_a_clear_reason(
    cw_ticket, agent, enqueued, django_capture_on_commit_callbacks
) -> None:
    message = send(cw_ticket, agent, enqueued, django_capture_on_commit_callbacks)
    Integration.objects.filter(pk=cw_ticket.conversation.integration_id).update(
        secrets_encrypted="not-a-fernet-token"
    )
    assert (
        outbound.message_deliver(company_id=message.company_id, message_id=message.pk) == "failed"
    )
    message.refresh_from_db()
    assert message.error_code == "secrets"
