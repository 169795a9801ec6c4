"""The buffer and the reply task: one reply per burst, whatever happens around it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import Message
from integrations.ai import buffer, services
from integrations.ai.models import AIReplyLog, ReplyStatus
from integrations.ai.tasks import ai_reply, ai_sweep
from integrations.models import LogEntry
from tests.fakes.openai_server import FakeOpenAI
from tickets.models import Queue, TicketEvent

from .conftest import ai_settings_for, inbound, make_chat, run_replies

pytestmark = pytest.mark.django_db


def test_three_texts_inside_the_window_get_one_model_call_and_one_reply(
    ai_on, chat, fake_openai, scheduled, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
        inbound(chat, "queria saber")
        inbound(chat, "vocês abrem domingo?")
    assert [c.task for c in scheduled] == ["ai_reply"] * 3
    assert [c.args[2] for c in scheduled] == [1, 2, 3]
    assert all(9 <= c.countdown <= 10 for c in scheduled)

    with django_capture_on_commit_callbacks(execute=True):
        assert run_replies(scheduled) == ["stale", "stale", "replied"]

    assert len(fake_openai.chat_requests) == 1
    sent = fake_openai.chat_requests[0]
    assert sent["model"] == "fake-model"
    users = [m["content"] for m in sent["messages"] if m["role"] == "user"]
    assert users == ["oi", "queria saber", "vocês abrem domingo?"]
    [reply] = chat.bot_messages()
    assert reply.content == "Reply to: oi | queria saber | vocês abrem domingo?"
    assert reply.delivery_status == "pending"
    # Handed to outbound: its send task is enqueued once the reply is committed.
    assert [(c.task, c.args) for c in scheduled] == [("send_message", (chat.company.pk, reply.pk))]
    last = Message.objects.filter(conversation=chat.conversation, direction="in").last()
    assert reply.idempotency_key == f"ai:{last.pk}"
    chat.refresh()
    assert chat.conversation.ai_pending_since is None
    assert chat.conversation.ai_cursor_message_id == last.pk
    log = AIReplyLog.objects.get()
    assert log.status == ReplyStatus.SENT
    assert log.messages_answered == 3 and log.total_tokens == 120 and log.latency_ms is not None


def test_a_burst_that_never_stops_is_answered_at_the_maximum_wait(
    ai_on, chat, scheduled, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "1")
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(seconds=55))
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "2")
    assert scheduled[-1].countdown == pytest.approx(5, abs=0.5)
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(seconds=61))
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "3")
    assert scheduled[-1].countdown == 0


def test_a_message_arriving_while_the_model_answers_gets_its_own_second_reply(
    ai_on, chat, fake_openai, scheduled, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "primeira")
    real_chat = services.chat
    arrived = []

    def chat_then_customer_types(*args, **kwargs):
        answer = real_chat(*args, **kwargs)
        if not arrived:
            with django_capture_on_commit_callbacks(execute=True):
                arrived.append(inbound(chat, "segunda"))
        return answer

    monkeypatch.setattr(services, "chat", chat_then_customer_types)
    with django_capture_on_commit_callbacks(execute=True):
        results = run_replies(scheduled)
    assert "replied" in results
    replies = chat.bot_messages()
    assert [r.content for r in replies] == ["Reply to: primeira", "Reply to: segunda"]
    second_request = fake_openai.chat_requests[1]["messages"]
    # The second call sees the history, but answers only the new message.
    assert second_request[-1] == {"role": "user", "content": "segunda"}
    assert {"role": "assistant", "content": "Reply to: primeira"} in second_request
    assert replies[1].idempotency_key == f"ai:{arrived[0].pk}"
    chat.refresh()
    assert chat.conversation.ai_pending_since is None


def test_the_same_task_delivered_twice_replies_once(
    ai_on, chat, fake_openai, scheduled, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
    args = scheduled[0].args
    assert ai_reply(*args) == "replied"
    assert ai_reply(*args) == "nothing"
    assert len(chat.bot_messages()) == 1
    assert len(fake_openai.chat_requests) == 1


def test_a_worker_dying_after_the_model_call_but_before_saving_replies_once_on_retry(
    ai_on, chat, fake_openai, scheduled, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
    real_save = services._save_reply
    deaths = []

    def die_once(**kwargs):
        if not deaths:
            deaths.append(1)
            raise SystemExit("worker killed")  # not retried by autoretry: redelivered (acks_late)
        return real_save(**kwargs)

    monkeypatch.setattr(services, "_save_reply", die_once)
    with pytest.raises(SystemExit):
        ai_reply(*scheduled[0].args)
    assert chat.bot_messages() == []
    assert ai_reply(*scheduled[0].args) == "replied"
    assert len(chat.bot_messages()) == 1
    assert len(fake_openai.chat_requests) == 2  # the model was asked again, answered once


def test_a_worker_dying_after_the_save_never_sends_a_second_reply(
    ai_on, chat, fake_openai, scheduled, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
    real_publish = services.publish_buffer

    def die_after_commit(company_id, conversation_id, state):
        if state == "replied":
            raise SystemExit("worker killed after the commit")
        real_publish(company_id, conversation_id, state)

    monkeypatch.setattr(services, "publish_buffer", die_after_commit)
    with pytest.raises(SystemExit):
        ai_reply(*scheduled[0].args)
    monkeypatch.setattr(services, "publish_buffer", real_publish)
    # The transaction was rolled back with the crash: the retry does the work once.
    assert ai_reply(*scheduled[0].args) == "replied"
    assert ai_reply(*scheduled[0].args) == "nothing"
    assert len(chat.bot_messages()) == 1


def test_two_tasks_racing_past_the_lock_still_reply_once(
    ai_on, chat, fake_openai, scheduled, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
    seq = scheduled[0].args
    real_chat = services.chat
    inner = []

    def chat_while_another_task_runs(*args, **kwargs):
        answer = real_chat(*args, **kwargs)
        if not inner:
            # The first task's lock expired (a very slow model): a redelivery runs fully.
            inner.append("running")
            buffer.redis_client().delete(buffer.lock_key(chat.conversation.pk))
            inner[0] = ai_reply(*seq)
        return answer

    monkeypatch.setattr(services, "chat", chat_while_another_task_runs)
    assert ai_reply(*seq) == "duplicate"
    assert inner == ["replied"]
    assert len(chat.bot_messages()) == 1
    assert AIReplyLog.objects.filter(status=ReplyStatus.SKIPPED).count() == 1


def test_a_task_finding_the_lock_taken_tries_again_shortly(
    ai_on, chat, scheduled, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
    buffer.redis_client().set(buffer.lock_key(chat.conversation.pk), "other", px=5000)
    assert ai_reply(*scheduled[0].args) == "busy"
    assert scheduled[-1].args == scheduled[0].args and scheduled[-1].countdown == 2
    assert chat.bot_messages() == []


def test_redis_flushed_mid_window_is_still_answered_by_the_sweeper(
    ai_on, chat, fake_openai, scheduled, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
        inbound(chat, "alguém?")
    scheduled.clear()  # the broker lost the queued tasks with Redis
    buffer.redis_client().delete(buffer.seq_key(chat.conversation.pk))
    assert services.sweep() == 0  # still inside the window: left alone
    later = timezone.now() + timedelta(seconds=60 + 31)
    assert services.sweep(now=later) == 1
    assert run_replies(scheduled) == ["replied"]
    assert [m.content for m in chat.bot_messages()] == ["Reply to: oi | alguém?"]
    assert services.sweep(now=later) == 0


def test_the_beat_task_runs_the_sweeper(ai_on, chat, scheduled, monkeypatch) -> None:
    past = timezone.now() - timedelta(seconds=600)
    type(chat.conversation).objects.filter(pk=chat.conversation.pk).update(ai_pending_since=past)
    assert ai_sweep() == 1
    assert scheduled[0].task == "ai_reply"


def test_the_sweeper_leaves_a_burst_whose_reply_is_being_retried(
    ai_on, chat, scheduled, monkeypatch
) -> None:
    past = timezone.now() - timedelta(seconds=600)
    type(chat.conversation).objects.filter(pk=chat.conversation.pk).update(ai_pending_since=past)
    AIReplyLog.objects.create(
        company=chat.company,
        conversation=chat.conversation,
        status=ReplyStatus.FAILED,
        started_at=timezone.now(),
    )
    assert services.sweep() == 0


def test_staff_taking_over_inside_the_window_means_no_bot_reply(
    ai_on, chat, agent, fake_openai, scheduled, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
        inbound(chat, "preciso de ajuda")
    from integrations.ai import bridge

    chat.ticket.assignee = agent
    chat.ticket.save(update_fields=["assignee"])
    bridge.pause_ai(ticket=chat.ticket)
    assert run_replies(scheduled) == ["stale", "off"]
    assert chat.bot_messages() == []
    assert fake_openai.chat_requests == []
    chat.refresh()
    assert chat.conversation.ai_pending_since is None
    # Further messages on the human's ticket are not buffered at all.
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "obrigado")
    assert scheduled == []
    chat.refresh()
    assert chat.conversation.ai_pending_since is None


def test_staff_taking_over_while_the_model_answers_drops_the_reply(
    ai_on, chat, agent, scheduled, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
    real_chat = services.chat

    def chat_then_staff_pause(*args, **kwargs):
        answer = real_chat(*args, **kwargs)
        type(chat.ticket).objects.filter(pk=chat.ticket.pk).update(ai_paused=True)
        return answer

    monkeypatch.setattr(services, "chat", chat_then_staff_pause)
    assert ai_reply(*scheduled[0].args) == "paused"
    assert chat.bot_messages() == []


def test_messages_not_from_the_customer_or_private_are_not_buffered(
    ai_on, chat, scheduled, django_capture_on_commit_callbacks
) -> None:
    from conversations.hooks import MessageContext, message_stored

    with django_capture_on_commit_callbacks(execute=True):
        for fields in (
            {"direction": "out", "sender_type": "agent"},
            {"direction": "in", "sender_type": "contact", "is_private": True},
            {"direction": "out", "sender_type": "bot"},
        ):
            m = Message.objects.create(
                company=chat.company,
                conversation=chat.conversation,
                ticket=chat.ticket,
                content="x",
                **fields,
            )
            message_stored(m, MessageContext(ticket=chat.ticket))
    assert scheduled == []


def test_without_an_api_key_nothing_is_buffered(
    ai_on, chat, scheduled, django_capture_on_commit_callbacks
) -> None:
    ai_on.set_secret("api_key", "")
    ai_on.save()
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
    assert scheduled == []
    assert not ai_on.is_active and "chave de API" in ai_on.inactive_reason()  # pt-BR default


def test_a_company_settings_are_never_used_for_another_company(
    company, other_company, scheduled, django_capture_on_commit_callbacks
) -> None:
    with FakeOpenAI(api_key="sk-azul") as fake_a, FakeOpenAI(api_key="sk-outra") as fake_b:
        ai_settings_for(company, fake_a, model="model-a", system_prompt="Você é da Loja Azul.")
        ai_settings_for(other_company, fake_b, model="model-b", system_prompt="Você é da Outra.")
        chat_a = make_chat(company, "+5511999990001")
        chat_b = make_chat(other_company, "+5511999990002")
        with django_capture_on_commit_callbacks(execute=True):
            inbound(chat_b, "olá outra")
        assert run_replies(scheduled) == ["replied"]
        assert fake_a.requests == []
        [request] = fake_b.requests
        assert request["authorization"] == "Bearer sk-outra"
        assert request["json"]["model"] == "model-b"
        assert "Outra" in request["json"]["messages"][0]["content"]
        assert "Azul" not in str(request["json"])
        with django_capture_on_commit_callbacks(execute=True):
            inbound(chat_a, "olá azul")
        assert run_replies(scheduled) == ["replied"]
        assert [r["authorization"] for r in fake_a.requests] == ["Bearer sk-azul"]
        assert len(fake_b.requests) == 1
        # A task naming the wrong company for a conversation finds nothing.
        with django_capture_on_commit_callbacks(execute=True):
            inbound(chat_a, "de novo")
        wrong = (other_company.pk, chat_a.conversation.pk, scheduled[-1].args[2])
        assert ai_reply(*wrong) == "nothing"


def test_the_model_failing_every_try_sends_the_fallback_hands_off_and_logs_an_error(
    ai_on, chat, fake_openai, scheduled, django_capture_on_commit_callbacks
) -> None:
    queue = Queue.objects.create(company=chat.company, name="Humanos")
    ai_on.handoff_queue = queue
    ai_on.save()
    fake_openai.fail_next = 99
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
    args = scheduled[0].args
    from celery.exceptions import Retry

    from integrations.ai.client import AIError

    for attempt in range(ai_reply.max_retries):
        ai_reply.push_request(retries=attempt)
        try:
            with pytest.raises((AIError, Retry)):
                ai_reply.run(*args)
        finally:
            ai_reply.pop_request()
        assert chat.bot_messages() == []
    ai_reply.push_request(retries=ai_reply.max_retries)
    try:
        assert ai_reply.run(*args) == "fallback"
    finally:
        ai_reply.pop_request()
    [fallback] = chat.bot_messages()
    assert fallback.content == ai_on.fallback_message
    chat.refresh()
    assert chat.ticket.ai_paused and chat.ticket.queue == queue
    assert chat.conversation.ai_pending_since is None
    assert TicketEvent.objects.filter(ticket=chat.ticket, kind="transferred").exists()
    entry = LogEntry.objects.get(company=chat.company, source="ai")
    assert entry.level == "error" and "boom" in entry.context["error"]
    assert AIReplyLog.objects.filter(status=ReplyStatus.FAILED).count() == ai_reply.max_retries + 1
    # A late duplicate of the task changes nothing.
    assert ai_reply(*args) == "nothing"
    assert len(chat.bot_messages()) == 1


def test_a_model_failing_once_is_retried_and_then_answers(
    ai_on, chat, fake_openai, scheduled, django_capture_on_commit_callbacks
) -> None:
    fake_openai.fail_next = 1
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
    from integrations.ai.client import AIError

    with pytest.raises(AIError):
        ai_reply(*scheduled[0].args)
    assert ai_reply(*scheduled[0].args) == "replied"
    assert len(chat.bot_messages()) == 1


def test_long_replies_are_split_by_paragraph_with_a_pause(
    ai_on, chat, fake_openai, scheduled, django_capture_on_commit_callbacks
) -> None:
    ai_on.split_long_replies = True
    ai_on.split_pause_seconds = 2
    ai_on.save()
    paragraphs = ["Primeiro parágrafo. " * 6, "Segundo parágrafo. " * 6, "Terceiro. " * 6]
    fake_openai.queue_text("\n\n".join(paragraphs))
    with django_capture_on_commit_callbacks(execute=True):
        last = inbound(chat, "me explica")
    with django_capture_on_commit_callbacks(execute=True):
        assert ai_reply(*scheduled[0].args) == "replied"
    parts = [c for c in scheduled if c.task == "ai_send_part"]
    assert [c.countdown for c in parts] == [2, 4]
    assert run_replies([*parts]) == ["sent", "sent"]
    assert run_replies([*parts]) == ["duplicate", "duplicate"]
    replies = chat.bot_messages()
    assert [r.content for r in replies] == [p.strip() for p in paragraphs]
    assert [r.idempotency_key for r in replies] == [f"ai:{last.pk}:{i}" for i in (1, 2, 3)]
    assert AIReplyLog.objects.get().status == ReplyStatus.SENT


def test_a_worker_knows_the_ai_tasks_and_beat_runs_the_sweeper() -> None:
    # A fresh process, as a worker starts: autodiscovery must find integrations.ai.tasks
    # (this test process already imported it through the fixtures).
    import subprocess
    import sys

    code = (
        "import django; django.setup(); from atende.celery import app; "
        "app.loader.import_default_modules(); "
        "print(sorted(n for n in app.tasks if n.startswith('integrations.ai.'))); "
        "print(app.conf.beat_schedule['ai-sweep']['task'])"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "atende.settings"},
    )
    tasks_line, beat_line = result.stdout.strip().splitlines()[-2:]
    for name in ("ai_reply", "ai_send_part", "ai_sweep"):
        assert f"integrations.ai.tasks.{name}" in tasks_line
    assert beat_line == "integrations.ai.tasks.ai_sweep"
