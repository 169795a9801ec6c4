"""REST: the webhook log (admins only), with the raw body as text and replay."""

from __future__ import annotations

import pytest

from integrations.models import WebhookEvent, WebhookStatus
from tests.integrations.outbound_rows import make_integration

pytestmark = pytest.mark.django_db

BASE = "/api/v1/companies/loja-azul/webhook-events/"


def make_event(integration, *, status=WebhookStatus.PROCESSED, body=b'{"event": "x"}', **extra):
    return WebhookEvent.objects.create(
        company_id=integration.company_id,
        integration=integration,
        kind=integration.kind,
        body=body,
        status=status,
        content_type="application/json",
        headers={"x-chatwoot-delivery": "d-1"},
        **extra,
    )


def test_admins_list_events_newest_first_filtered_by_status_in_fixed_queries(
    company, admin_user, api_client_for, django_assert_num_queries
) -> None:
    integration = make_integration(company, "chatwoot")
    ok = [make_event(integration) for _ in range(3)]
    failed = make_event(integration, status=WebhookStatus.FAILED, error="boom")
    api = api_client_for(admin_user)
    with django_assert_num_queries(3):  # user, membership, page (integration joined)
        response = api.get(BASE)
    assert [e["id"] for e in response.json()["results"]] == [
        failed.pk,
        *[e.pk for e in reversed(ok)],
    ]
    only_failed = api.get(f"{BASE}?status=failed").json()["results"]
    assert [(e["id"], e["error"]) for e in only_failed] == [(failed.pk, "boom")]
    assert api.get(f"{BASE}?status=bogus").status_code == 400


def test_the_detail_shows_headers_and_the_body_as_text(company, admin_user, api_client_for) -> None:
    integration = make_integration(company, "chatwoot")
    event = make_event(integration, body='{"content": "olá"}'.encode() + b"\xff")
    data = api_client_for(admin_user).get(f"{BASE}{event.pk}/").json()
    assert data["headers"] == {"x-chatwoot-delivery": "d-1"}
    assert data["body"] == '{"content": "olá"}\ufffd'


def test_agents_cannot_read_the_webhook_log_and_outsiders_get_404(
    company, other_company, agent, admin_user, outsider, api_client_for
) -> None:
    event = make_event(make_integration(company, "umbler"))
    theirs = make_event(make_integration(other_company, "umbler"))
    assert api_client_for(agent).get(BASE).status_code == 403
    assert api_client_for(agent).post(f"{BASE}{event.pk}/replay/").status_code == 403
    outsider_api = api_client_for(outsider)
    for url in (BASE, f"{BASE}{event.pk}/", f"{BASE}{event.pk}/replay/"):
        for method in ("get", "post", "patch", "delete"):
            assert getattr(outsider_api, method)(url).status_code == 404
    admin_api = api_client_for(admin_user)
    assert admin_api.get(f"{BASE}{theirs.pk}/").status_code == 404
    assert admin_api.post(f"{BASE}{theirs.pk}/replay/").status_code == 404


def test_replay_runs_the_ingest_again_on_a_failed_event(
    company, admin_user, api_client_for
) -> None:
    webhooks = pytest.importorskip("integrations.services.webhooks")
    assert hasattr(webhooks, "webhook_replay")
    integration = make_integration(company, "umbler")
    body = (
        b'{"Type": "Message", "EventDate": "2026-01-01T10:00:00Z", "EventId": "ev-replay-1",'
        b' "Payload": {"Type": "Chat", "Content": {"Id": "chat-1", "Open": true,'
        b' "Contact": {"Id": "c1", "Name": "Ana", "PhoneNumber": "+5511987654321"},'
        b' "LastMessage": {"Id": "m-replay-1", "Content": "oi", "MessageType": "Text",'
        b' "Source": "Contact"}}}}'
    )
    event = make_event(integration, status=WebhookStatus.FAILED, body=body, error="crash")
    response = api_client_for(admin_user).post(f"{BASE}{event.pk}/replay/")
    assert response.status_code == 200, response.content
    event.refresh_from_db()
    assert event.status == WebhookStatus.PROCESSED
    assert response.json()["status"] == "processed"
