"""Function tools (reservations in Google Sheets, hand-off) and audio transcription,
through the real reply task and the real openai client."""

from __future__ import annotations

import json

import google.oauth2.credentials
import gspread
import pytest
import requests
import responses

from integrations.ai import services, sheets
from integrations.ai.models import AIReplyLog, AIReservation
from integrations.ai.tasks import ai_reply
from tests.fakes.google_sheets import FakeSheets
from tickets.models import Queue, TicketEvent

from .conftest import inbound

pytestmark = pytest.mark.django_db

KEY = "sheet-key-azul"


@pytest.fixture
def reservations_on(ai_on, monkeypatch):
    ai_on.tool_reservations = True
    ai_on.sheets_spreadsheet_key = KEY
    ai_on.sheets_worksheet = "Reservas"
    ai_on.set_secret("sheets_service_account", json.dumps({"client_email": "x@y"}))
    ai_on.save()

    def plain_store(ai):
        client = gspread.Client(
            auth=google.oauth2.credentials.Credentials("dummy"), session=requests.Session()
        )
        return sheets.open_store(
            service_account_json="",
            spreadsheet_key=ai.sheets_spreadsheet_key,
            worksheet=ai.sheets_worksheet,
            client=client,
        )

    monkeypatch.setattr(services, "store_factory", plain_store)
    return ai_on


def test_the_model_creates_a_reservation_in_the_company_sheet(
    reservations_on, chat, fake_openai, scheduled, django_capture_on_commit_callbacks
) -> None:
    fake_openai.queue_tool_call(
        "reservation_create",
        {"name": "Maria", "date": "2026-12-24", "time": "20:30", "people": 6},
    )
    fake_openai.queue_text("Reserva feita para 6 pessoas às 20:30!")
    with django_capture_on_commit_callbacks(execute=True):
        last = inbound(chat, "mesa pra 6 dia 24 às 20:30, nome Maria")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        sheet = FakeSheets(mock, key=KEY, title="Reservas", rows=[sheets.COLUMNS])
        assert ai_reply(*scheduled[0].args) == "replied"
    [row] = sheet.records()
    assert row["id"] == f"R{chat.conversation.pk}-{last.pk}-1"
    assert row["phone"] == chat.contact.phone and row["people"] == "6"
    first, second = fake_openai.chat_requests
    assert {t["function"]["name"] for t in first["tools"]} == {
        "reservation_list",
        "reservation_create",
        "reservation_update",
        "reservation_cancel",
        "handoff_to_human",
    }
    tool_turn = second["messages"][-1]
    assert tool_turn["role"] == "tool" and json.loads(tool_turn["content"])["ok"] is True
    assert [m.content for m in chat.bot_messages()] == ["Reserva feita para 6 pessoas às 20:30!"]
    reservation = AIReservation.objects.get()
    assert reservation.action == "created" and reservation.company == chat.company
    log = AIReplyLog.objects.get()
    assert log.tool_calls == ["reservation_create"] and log.model_calls == 2
    assert log.total_tokens == 240


def test_a_customer_cannot_cancel_someone_elses_reservation(
    reservations_on, chat, fake_openai, scheduled, django_capture_on_commit_callbacks
) -> None:
    rows = [
        sheets.COLUMNS,
        ["R-other", "João", "+5521888887777", "2026-12-01", "19:00", "2", "", "confirmed", ""],
    ]
    fake_openai.queue_tool_call("reservation_cancel", {"reservation_id": "R-other"})
    fake_openai.queue_text("Não encontrei essa reserva.")
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "cancela a R-other")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        sheet = FakeSheets(mock, key=KEY, title="Reservas", rows=rows)
        assert ai_reply(*scheduled[0].args) == "replied"
    assert sheet.records()[0]["status"] == "confirmed"
    result = json.loads(fake_openai.chat_requests[1]["messages"][-1]["content"])
    assert result["ok"] is False
    assert AIReservation.objects.count() == 0


def test_a_sheets_outage_is_retried_like_a_model_failure(
    reservations_on, chat, fake_openai, scheduled, django_capture_on_commit_callbacks
) -> None:
    from integrations.ai.client import AIError

    fake_openai.queue_tool_call("reservation_list", {})
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "tenho reserva?")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(
            responses.GET,
            f"https://sheets.googleapis.com/v4/spreadsheets/{KEY}",
            status=503,
            json={"error": {"code": 503, "message": "down", "status": "UNAVAILABLE"}},
        )
        with pytest.raises(AIError):
            ai_reply(*scheduled[0].args)
    assert chat.bot_messages() == []


def test_the_handoff_tool_moves_the_ticket_pauses_the_ai_and_still_replies(
    ai_on, chat, fake_openai, scheduled, django_capture_on_commit_callbacks
) -> None:
    queue = Queue.objects.create(company=chat.company, name="Atendimento humano")
    ai_on.handoff_queue = queue
    ai_on.save()
    fake_openai.queue_tool_call("handoff_to_human", {"summary": "Quer negociar um desconto."})
    fake_openai.queue_text("Vou te passar para um atendente.")
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "quero falar com uma pessoa")
    assert ai_reply(*scheduled[0].args) == "handoff"
    chat.refresh()
    assert [m.content for m in chat.bot_messages()] == ["Vou te passar para um atendente."]
    assert chat.ticket.queue == queue and chat.ticket.ai_paused
    event = TicketEvent.objects.get(ticket=chat.ticket, kind="transferred")
    assert "Quer negociar um desconto." in event.note
    assert TicketEvent.objects.filter(ticket=chat.ticket, kind="ai_paused").exists()
    scheduled.clear()
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi?")
    assert scheduled == []  # the human has it now


def test_tools_that_are_off_are_not_offered(
    ai_on, chat, fake_openai, scheduled, django_capture_on_commit_callbacks
) -> None:
    ai_on.tool_handoff = False
    ai_on.tool_reservations = True  # but no sheet configured
    ai_on.save()
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
    ai_reply(*scheduled[0].args)
    assert "tools" not in fake_openai.chat_requests[0]


def test_audio_is_transcribed_stored_and_fed_to_the_model(
    ai_on, chat, fake_openai, scheduled, django_capture_on_commit_callbacks
) -> None:
    fake_openai.media["voice.ogg"] = (b"OggS\x00fake-opus", "audio/ogg")
    fake_openai.transcription_text = "quero reservar uma mesa para dois"
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "oi")
        voice = inbound(
            chat,
            "",
            content_type="audio",
            attachments=[
                {
                    "url": f"{fake_openai.url}/media/voice.ogg",
                    "kind": "audio",
                    "mime_type": "audio/ogg; codecs=opus",
                }
            ],
        )
    assert run_all(scheduled) == "replied"
    voice.refresh_from_db()
    assert voice.transcription == "quero reservar uma mesa para dois"
    [transcription] = fake_openai.transcription_requests
    assert transcription["form"]["model"] == ai_on.transcription_model
    assert transcription["form"]["file"]["filename"].endswith(".ogg")
    assert transcription["form"]["file"]["size"] == len(b"OggS\x00fake-opus")
    users = [m["content"] for m in fake_openai.chat_requests[0]["messages"] if m["role"] == "user"]
    assert users == ["oi", "[audio] quero reservar uma mesa para dois"]
    # A retry or a later burst does not transcribe the same audio again.
    with django_capture_on_commit_callbacks(execute=True):
        inbound(chat, "e aí?")
    run_all(scheduled)
    assert len(fake_openai.transcription_requests) == 1


def run_all(calls) -> str:
    from .conftest import run_replies

    return run_replies(calls)[-1]
