"""The AI settings page (admins), the buffer monitor (supervisors) and the admin panel."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from conversations.models import Conversation
from integrations.ai import selectors
from integrations.ai.models import AIReplyLog, AISettings, ReplyStatus
from tickets.models import Queue

from .conftest import inbound, make_chat

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/app/loja-azul/ai/settings/"
MONITOR_URL = "/app/loja-azul/ai/"
DATA_URL = "/app/loja-azul/ai/buffers.json"


def form_data(**overrides):
    data = {
        "enabled": "on",
        "base_url": "http://127.0.0.1:9/v1",
        "model": "gpt-4o-mini",
        "transcription_model": "gpt-4o-mini-transcribe",
        "system_prompt": "Seja gentil.",
        "buffer_seconds": "10",
        "max_wait_seconds": "60",
        "split_long_replies": "on",
        "split_pause_seconds": "1.5",
        "tool_handoff": "on",
        "fallback_message": "Já volto.",
        "handoff_queue": "",
        "sheets_spreadsheet_key": "",
        "sheets_worksheet": "Reservas",
        "max_context_chars": "8000",
        "request_timeout_seconds": "45",
        "api_key": "",
        "sheets_service_account": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_without_a_key_the_settings_page_says_the_attendant_is_off_and_why(
    company, admin_user, client_for
) -> None:
    response = client_for(admin_user).get(SETTINGS_URL)
    assert response.status_code == 200
    assert 'data-ai-active="off"' in response.text
    assert AISettings.objects.count() == 0  # reading does not write
    client_for(admin_user).post(SETTINGS_URL, form_data())
    response = client_for(admin_user).get(SETTINGS_URL)
    assert 'data-ai-active="off"' in response.text
    assert "API key" in response.text or "chave" in response.text


def test_an_admin_saves_settings_and_the_key_is_encrypted_and_kept(
    company, admin_user, client_for
) -> None:
    queue = Queue.objects.create(company=company, name="Humanos")
    client = client_for(admin_user)
    response = client.post(
        SETTINGS_URL, form_data(api_key="sk-secret-123456", handoff_queue=str(queue.pk))
    )
    assert response.status_code == 302
    ai = AISettings.objects.get(company=company)
    assert ai.api_key == "sk-secret-123456" and ai.is_active and ai.handoff_queue == queue
    assert "sk-secret" not in ai.secrets_encrypted
    page = client.get(SETTINGS_URL).text
    assert "sk-secret-123456" not in page and "3456" in page and 'data-ai-active="on"' in page
    client.post(SETTINGS_URL, form_data(model="llama3"))  # empty key field keeps the key
    ai.refresh_from_db()
    assert ai.api_key == "sk-secret-123456" and ai.model == "llama3"
    client.post(SETTINGS_URL, form_data(clear_api_key="on"))
    ai.refresh_from_db()
    assert ai.api_key == "" and not ai.is_active


def test_bad_settings_are_refused_with_clear_errors(
    company, admin_user, other_company, client_for
) -> None:
    foreign = Queue.objects.create(company=other_company, name="Deles")
    client = client_for(admin_user)
    response = client.post(
        SETTINGS_URL,
        form_data(
            max_wait_seconds="5",
            sheets_service_account="{nope",
            handoff_queue=str(foreign.pk),
        ),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"max_wait_seconds", "sheets_service_account", "handoff_queue"} <= set(errors)
    assert not AISettings.objects.exists()


def test_a_service_account_json_is_validated_and_stored_encrypted(
    company, admin_user, client_for
) -> None:
    account = json.dumps(
        {"client_email": "bot@x.iam.gserviceaccount.com", "private_key": "-----BEGIN"}
    )
    client_for(admin_user).post(
        SETTINGS_URL, form_data(sheets_service_account=account, api_key="sk-1")
    )
    ai = AISettings.objects.get()
    assert json.loads(ai.sheets_service_account)["client_email"] == "bot@x.iam.gserviceaccount.com"
    assert "client_email" not in ai.secrets_encrypted


def test_only_admins_change_settings_and_supervisors_see_the_monitor(
    company, agent, supervisor, client_for
) -> None:
    assert client_for(supervisor).get(SETTINGS_URL).status_code == 403
    assert client_for(supervisor).post(SETTINGS_URL, form_data(api_key="x")).status_code == 403
    assert client_for(agent).get(MONITOR_URL).status_code == 403
    assert client_for(agent).get(DATA_URL).status_code == 403
    assert client_for(supervisor).get(MONITOR_URL).status_code == 200


def test_outsiders_get_404_on_every_ai_page(company, outsider, client_for) -> None:
    chat = make_chat(company)
    client = client_for(outsider)
    urls = [
        SETTINGS_URL,
        MONITOR_URL,
        DATA_URL,
        f"/app/loja-azul/ai/conversations/{chat.conversation.pk}/reply-now/",
        f"/app/loja-azul/ai/conversations/{chat.conversation.pk}/pause/",
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code == 404, url


def test_the_monitor_lists_waiting_conversations_with_their_state(
    ai_on, chat, supervisor, client_for, scheduled, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
        inbound(chat, "tudo bem?")
    data = client_for(supervisor).get(DATA_URL).json()
    [row] = data["buffers"]
    assert row["conversation"] == chat.conversation.pk and row["messages_waiting"] == 2
    assert row["state"] == "waiting" and 0 < row["seconds_left"] <= 10
    assert row["state_label"] == "Aguardando"  # shown in the company's pt-BR
    assert row["ticket_number"] == chat.ticket.number
    AIReplyLog.objects.create(
        company=chat.company,
        conversation=chat.conversation,
        status=ReplyStatus.CALLING,
        started_at=timezone.now(),
    )
    assert selectors.pending_buffers(company=chat.company)[0]["state"] == "calling"
    page = client_for(supervisor).get(MONITOR_URL)
    assert "Maria" in page.text and "ai_monitor.js" in page.text
    assert "Chamando o modelo" in page.text and ">calling<" not in page.text


def test_the_monitor_shows_recent_replies_with_latency_and_tokens(
    ai_on, chat, supervisor, client_for, scheduled, django_capture_on_commit_callbacks
) -> None:
    from .conftest import run_replies

    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
    run_replies(scheduled)
    data = client_for(supervisor).get(DATA_URL).json()
    assert data["buffers"] == []
    [reply] = data["replies"]
    assert reply["status"] == "sent" and reply["tokens"] == 120 and reply["latency_ms"] >= 0


def test_the_monitor_data_never_shows_another_company(
    ai_on,
    company,
    other_company,
    supervisor,
    client_for,
    scheduled,
    django_capture_on_commit_callbacks,
    fake_openai,
) -> None:
    from .conftest import ai_settings_for

    ai_settings_for(other_company, fake_openai)
    theirs = make_chat(other_company, "+5511999990009")
    with django_capture_on_commit_callbacks(execute=True):
        inbound(theirs, "oi")
    assert client_for(supervisor).get(DATA_URL).json()["buffers"] == []
    # And their conversation cannot be acted on through our company's URL.
    url = f"/app/loja-azul/ai/conversations/{theirs.conversation.pk}/reply-now/"
    assert client_for(supervisor).post(url).status_code == 404


def test_reply_now_schedules_the_reply_at_once(
    ai_on, chat, supervisor, client_for, scheduled, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
    url = f"/app/loja-azul/ai/conversations/{chat.conversation.pk}/reply-now/"
    response = client_for(supervisor).post(url)
    assert response.status_code == 302
    assert scheduled[-1].countdown == 0 and scheduled[-1].args[2] == 2
    assert client_for(supervisor).get(url).status_code == 405


def test_pause_ai_from_the_monitor_stops_the_pending_reply(
    ai_on, chat, supervisor, client_for, scheduled, django_capture_on_commit_callbacks, fake_openai
) -> None:
    from .conftest import run_replies

    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
    url = f"/app/loja-azul/ai/conversations/{chat.conversation.pk}/pause/"
    assert client_for(supervisor).post(url).status_code == 302
    chat.refresh()
    assert chat.ticket.ai_paused and chat.conversation.ai_pending_since is None
    assert run_replies(scheduled) == ["nothing"]
    assert chat.bot_messages() == [] and fake_openai.chat_requests == []


def test_superusers_see_every_company_buffer_and_ai_settings_in_the_admin(
    ai_on,
    chat,
    other_company,
    superuser,
    client_for,
    scheduled,
    django_capture_on_commit_callbacks,
    fake_openai,
) -> None:
    from .conftest import ai_settings_for

    ai_settings_for(other_company, fake_openai)
    theirs = make_chat(other_company, "+5511999990009")
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
        inbound(theirs, "olá")
    client = client_for(superuser)
    page = client.get("/admin/integrations/aipendingconversation/")
    assert page.status_code == 200
    assert page.context["cl"].result_count == 2
    assert Conversation.objects.filter(ai_pending_since__isnull=False).count() == 2
    settings_page = client.get("/admin/integrations/aisettings/")
    assert settings_page.status_code == 200 and "sk-azul" not in settings_page.text
    assert client.get(f"/admin/integrations/aisettings/{ai_on.pk}/change/").status_code == 200
    for url in ("/admin/integrations/aireplylog/", "/admin/integrations/aireservation/"):
        assert client.get(url).status_code == 200
    response = client.post(
        "/admin/integrations/aipendingconversation/",
        {
            "action": "reply_now",
            "_selected_action": [chat.conversation.pk, theirs.conversation.pk],
        },
    )
    assert response.status_code == 302
    assert sum(1 for c in scheduled if c.countdown == 0) == 2
