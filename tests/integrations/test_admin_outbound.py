"""Django admin for integrations, webhooks, logs, contacts, conversations, messages and
tickets: every page opens for superusers, secrets stay write-only, replay works."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from conversations.models import ContactIdentity
from integrations.base import Direction
from integrations.models import Integration, LogEntry, WebhookEvent, WebhookStatus
from metrics.models import ResponseTime
from tests.integrations.outbound_rows import (
    make_conversation,
    make_integration,
    make_message,
    make_ticket,
)
from tickets.models import Queue, TicketEvent

pytestmark = pytest.mark.django_db

SECRET = "admin-visible-never-0123456789"


@pytest.fixture
def rows(company):
    integration = make_integration(company, "chatwoot", secrets={"api_token": SECRET})
    conversation = make_conversation(integration)
    ContactIdentity.objects.create(
        company=company, contact=conversation.contact, integration=integration, external_id="42"
    )
    queue = Queue.objects.create(company=company, name="Suporte")
    ticket = make_ticket(conversation, queue=queue)
    TicketEvent.objects.create(company=company, ticket=ticket, kind="created")
    inbound = make_message(conversation, ticket=ticket)
    reply = make_message(conversation, ticket=ticket, direction=Direction.OUTBOUND)
    ResponseTime.objects.create(
        company=company,
        ticket=ticket,
        message=reply,
        responder_type="agent",
        waited_since=inbound.created_at,
        answered_at=reply.created_at,
        seconds=3,
    )
    event = WebhookEvent.objects.create(
        company=company,
        integration=integration,
        kind="chatwoot",
        body=b'{"event": "ping"}',
        status=WebhookStatus.FAILED,
        headers={"x-chatwoot-delivery": "abc"},
    )
    LogEntry.objects.create(company=company, integration=integration, source="send", message="ok")
    return {
        "integration": integration,
        "conversation": conversation,
        "ticket": ticket,
        "queue": queue,
        "message": reply,
        "event": event,
    }


MODELS = [
    ("integrations", "integration"),
    ("integrations", "webhookevent"),
    ("integrations", "logentry"),
    ("conversations", "contact"),
    ("conversations", "conversation"),
    ("conversations", "message"),
    ("tickets", "queue"),
    ("tickets", "ticket"),
    ("metrics", "responsetime"),
]


def test_every_changelist_and_change_page_opens_for_superusers_without_leaking_secrets(
    rows, superuser, client_for
) -> None:
    client = client_for(superuser)
    for app, model in MODELS:
        response = client.get(f"/admin/{app}/{model}/")
        assert response.status_code == 200, (app, model)
        assert SECRET not in response.text
        obj_id = {
            "integration": rows["integration"].pk,
            "webhookevent": rows["event"].pk,
            "contact": rows["conversation"].contact_id,
            "conversation": rows["conversation"].pk,
            "message": rows["message"].pk,
            "queue": rows["queue"].pk,
            "ticket": rows["ticket"].pk,
        }.get(model)
        if obj_id:
            change = client.get(f"/admin/{app}/{model}/{obj_id}/change/")
            assert change.status_code == 200, (app, model)
            assert SECRET not in change.text


def test_the_integration_list_shows_masked_secrets_and_the_webhook_url(
    rows, superuser, client_for
) -> None:
    html = client_for(superuser).get("/admin/integrations/integration/").text
    assert "api_token=ad••••••6789" in html
    assert f"/webhooks/chatwoot/{rows['integration'].public_id}/" in html


def test_the_webhook_event_page_shows_the_body_as_text(rows, superuser, client_for) -> None:
    html = (
        client_for(superuser)
        .get(f"/admin/integrations/webhookevent/{rows['event'].pk}/change/")
        .text
    )
    assert "{&quot;event&quot;: &quot;ping&quot;}" in html


def test_a_superuser_sets_secrets_through_the_admin_form_and_empty_keeps_them(
    company, superuser, client_for
) -> None:
    client = client_for(superuser)
    response = client.post(
        "/admin/integrations/integration/add/",
        {
            "company": company.pk,
            "kind": "twilio",
            "name": "Twilio",
            "is_active": "on",
            "settings": '{"account_sid": "AC1", "phone_number": "+14155238886"}',
            "secret_auth_token": SECRET,
        },
    )
    assert response.status_code == 302, response.text[:2000]
    integration = Integration.objects.get()
    assert integration.get_secrets() == {"auth_token": SECRET}
    assert SECRET not in integration.secrets_encrypted
    response = client.post(
        f"/admin/integrations/integration/{integration.pk}/change/",
        {
            "company": company.pk,
            "kind": "twilio",
            "name": "Twilio 2",
            "is_active": "on",
            "settings": '{"account_sid": "AC1"}',
            "secret_auth_token": "",
        },
    )
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.name == "Twilio 2"
    assert integration.get_secrets() == {"auth_token": SECRET}


def test_the_admin_form_refuses_secrets_and_settings_of_another_kind(
    company, superuser, client_for
) -> None:
    response = client_for(superuser).post(
        "/admin/integrations/integration/add/",
        {
            "company": company.pk,
            "kind": "umbler",
            "name": "U",
            "is_active": "on",
            "settings": '{"account_sid": "AC1"}',
        },
    )
    assert response.status_code == 200
    assert not Integration.objects.exists()


def test_the_replay_action_processes_selected_events_again(rows, superuser, client_for) -> None:
    pytest.importorskip("integrations.services.webhooks")
    event = rows["event"]
    response = client_for(superuser).post(
        "/admin/integrations/webhookevent/",
        {
            "action": "replay_selected",
            "_selected_action": [event.pk],
        },
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.attempts >= 1


def test_staff_who_are_not_superusers_cannot_open_the_admin(company, client_for) -> None:
    staff = get_user_model().objects.create_user(email="staff@x.test", password="x", is_staff=True)
    response = client_for(staff).get("/admin/integrations/integration/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
