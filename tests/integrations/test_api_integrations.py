"""REST: integrations (admins only, secrets write-only and masked, webhook URL and health)."""

from __future__ import annotations

import pytest
from django.db import connection

from integrations.models import Integration, LogEntry
from tests.integrations.outbound_rows import make_integration

pytestmark = pytest.mark.django_db

BASE = "/api/v1/companies/loja-azul/integrations/"
SECRET = "sk_live_supersecret_0123456789"


def raw_secrets_column(integration: Integration) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secrets_encrypted FROM integrations_integration WHERE id = %s",
            [integration.pk],
        )
        return cursor.fetchone()[0]


def test_an_admin_creates_an_integration_whose_secrets_are_encrypted_and_masked(
    company, admin_user, api_client_for, settings
) -> None:
    settings.PUBLIC_BASE_URL = "https://atende.example"
    response = api_client_for(admin_user).post(
        BASE,
        {
            "kind": "chatwoot",
            "name": "Chatwoot suporte",
            "settings": {"base_url": "https://chat.example.com/", "account_id": "3"},
            "secrets": {"api_token": SECRET, "webhook_secret": "whsec_abcdefgh1234"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    integration = Integration.objects.get(pk=data["id"])
    assert integration.company == company
    assert data["settings"] == {"base_url": "https://chat.example.com", "account_id": "3"}
    assert data["webhook_url"] == (
        f"https://atende.example/webhooks/chatwoot/{integration.public_id}/"
    )
    assert SECRET not in response.content.decode()
    assert data["secrets"]["api_token"] == "sk••••••6789"
    assert integration.get_secrets()["api_token"] == SECRET
    assert SECRET not in raw_secrets_column(integration)
    log = LogEntry.objects.get(source="config")
    assert SECRET not in str(log.context) and "api_token" in log.context["changed"]


def test_secrets_never_come_back_from_list_or_detail(company, admin_user, api_client_for) -> None:
    integration = make_integration(company, "twilio", secrets={"auth_token": SECRET})
    api = api_client_for(admin_user)
    for url in (BASE, f"{BASE}{integration.pk}/"):
        response = api.get(url)
        assert response.status_code == 200
        assert SECRET not in response.content.decode()


def test_the_list_shows_health_and_webhook_url_with_a_fixed_query_count(
    company, admin_user, api_client_for, django_assert_num_queries
) -> None:
    for kind in ("chatwoot", "twilio", "umbler", "web"):
        make_integration(company, kind, secrets={"url_token": "t"} if kind == "umbler" else {})
    Integration.objects.filter(kind="twilio").update(last_send_error="63016: outside window")
    api = api_client_for(admin_user)
    # user (JWT), membership, count, page
    with django_assert_num_queries(4):
        response = api.get(BASE)
    rows = response.json()["results"]
    assert len(rows) == 4
    twilio = next(r for r in rows if r["kind"] == "twilio")
    assert twilio["last_send_error"] == "63016: outside window"
    assert {"last_event_at", "last_send_ok_at", "last_send_error_at"} <= twilio.keys()
    assert twilio["webhook_url"].endswith(f"/webhooks/twilio/{twilio['public_id']}/")


def test_updating_keeps_a_secret_left_empty_and_replaces_a_new_one(
    company, admin_user, api_client_for
) -> None:
    integration = make_integration(
        company, "chatwoot", secrets={"api_token": "old-token-123456", "webhook_secret": "wh-1"}
    )
    response = api_client_for(admin_user).patch(
        f"{BASE}{integration.pk}/",
        {
            "name": "Renamed",
            "secrets": {"api_token": "", "webhook_secret": "wh-2-new-secret"},
            "settings": {"inbox_id": "4"},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    integration.refresh_from_db()
    assert integration.name == "Renamed"
    assert integration.get_secrets() == {
        "api_token": "old-token-123456",
        "webhook_secret": "wh-2-new-secret",
    }
    assert integration.settings == {"inbox_id": "4"}


def test_a_secret_can_be_cleared_explicitly(company, admin_user, api_client_for) -> None:
    integration = make_integration(company, "umbler", secrets={"api_token": "a", "url_token": "b"})
    response = api_client_for(admin_user).patch(
        f"{BASE}{integration.pk}/", {"clear_secrets": ["url_token"]}, format="json"
    )
    assert response.status_code == 200
    integration.refresh_from_db()
    assert integration.get_secrets() == {"api_token": "a"}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "fax", "name": "x"}, "kind"),
        ({"kind": "chatwoot", "name": "x", "settings": {"colour": "red"}}, "settings"),
        ({"kind": "chatwoot", "name": "x", "settings": {"base_url": "ftp://x"}}, "base_url"),
        (
            {"kind": "chatwoot", "name": "x", "settings": {"base_url": "http://127.0.0.1:6379"}},
            "base_url",
        ),
        ({"kind": "twilio", "name": "x", "settings": {"phone_number": "call me"}}, "phone_number"),
        ({"kind": "twilio", "name": "x", "secrets": {"password": "p"}}, "secrets"),
        ({"kind": "web", "name": "  "}, "name"),
    ],
)
def test_bad_input_is_a_clear_400(
    company, admin_user, api_client_for, settings, payload, field
) -> None:
    settings.OUTBOUND_ALLOW_PRIVATE_URLS = False
    response = api_client_for(admin_user).post(BASE, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Integration.objects.exists()


def test_phone_numbers_are_stored_in_e164(company, admin_user, api_client_for) -> None:
    response = api_client_for(admin_user).post(
        BASE,
        {
            "kind": "twilio",
            "name": "WhatsApp",
            "settings": {"phone_number": "+1 (415) 523-8886"},
        },
        format="json",
    )
    assert response.json()["settings"]["phone_number"] == "+14155238886"


def test_delete_deactivates_but_keeps_the_integration(company, admin_user, api_client_for) -> None:
    integration = make_integration(company, "web")
    response = api_client_for(admin_user).delete(f"{BASE}{integration.pk}/")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert Integration.objects.get(pk=integration.pk).is_active is False


def test_agents_and_supervisors_cannot_see_or_change_integrations(
    company, agent, supervisor, api_client_for
) -> None:
    integration = make_integration(company, "web")
    for user in (agent, supervisor):
        api = api_client_for(user)
        assert api.get(BASE).status_code == 403
        assert api.get(f"{BASE}{integration.pk}/").status_code == 403
        assert api.post(BASE, {"kind": "web", "name": "x"}, format="json").status_code == 403
        assert (
            api.patch(f"{BASE}{integration.pk}/", {"name": "x"}, format="json").status_code == 403
        )
    assert Integration.objects.get().name == integration.name


def test_an_outsider_gets_404_and_another_companys_integration_is_404(
    company, other_company, outsider, admin_user, api_client_for
) -> None:
    ours = make_integration(company, "web")
    theirs = make_integration(other_company, "web")
    outsider_api = api_client_for(outsider)
    for method in ("get", "post", "patch", "delete"):
        assert getattr(outsider_api, method)(BASE).status_code == 404
        assert getattr(outsider_api, method)(f"{BASE}{ours.pk}/").status_code == 404
    admin_api = api_client_for(admin_user)
    assert admin_api.get(f"{BASE}{theirs.pk}/").status_code == 404
    assert admin_api.delete(f"{BASE}{theirs.pk}/").status_code == 404
    assert Integration.objects.get(pk=theirs.pk).is_active


def test_the_schema_documents_the_integration_endpoints(client) -> None:
    schema = client.get("/api/schema/").content.decode()
    for path in (
        "/integrations/",
        "/conversations/{conversation_id}/reply/",
        "/webhook-events/{event_id}/replay/",
        "/messages/{message_id}/retry/",
    ):
        assert path in schema


def test_private_base_urls_are_allowed_only_when_configured(
    company, admin_user, api_client_for, settings
) -> None:
    payload = {"kind": "chatwoot", "name": "LAN", "settings": {"base_url": "http://10.0.0.5:3000"}}
    api = api_client_for(admin_user)
    settings.OUTBOUND_ALLOW_PRIVATE_URLS = False
    assert api.post(BASE, payload, format="json").status_code == 400
    settings.OUTBOUND_ALLOW_PRIVATE_URLS = True
    assert api.post(BASE, payload, format="json").status_code == 201
