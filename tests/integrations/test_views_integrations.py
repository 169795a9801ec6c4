"""Staff pages for integrations: admins only, webhook URL to copy, health, write-only secrets."""

from __future__ import annotations

import pytest

from integrations.models import Integration
from tests.integrations.outbound_rows import make_integration

pytestmark = pytest.mark.django_db

BASE = "/app/loja-azul/integrations/"
SECRET = "tok_live_0123456789abcdef"


def test_the_list_shows_each_integration_with_its_webhook_url_and_health(
    company, admin_user, client_for, settings, django_assert_max_num_queries
) -> None:
    settings.PUBLIC_BASE_URL = "https://atende.example"
    integration = make_integration(
        company, "twilio", name="WhatsApp vendas", secrets={"auth_token": SECRET}
    )
    Integration.objects.filter(pk=integration.pk).update(last_send_error="63016: fora da janela")
    from django.utils import timezone

    Integration.objects.filter(pk=integration.pk).update(last_send_error_at=timezone.now())
    client = client_for(admin_user)
    with django_assert_max_num_queries(8):
        response = client.get(BASE)
    assert response.status_code == 200
    html = response.text
    assert "WhatsApp vendas" in html
    url = f"https://atende.example/webhooks/twilio/{integration.public_id}/"
    assert f'value="{url}"' in html and 'data-copy="webhook-' in html
    assert "63016: fora da janela" in html
    assert SECRET not in html


def test_an_admin_creates_an_integration_from_the_kind_form(
    company, admin_user, client_for
) -> None:
    client = client_for(admin_user)
    page = client.get(f"{BASE}new/?kind=chatwoot")
    assert page.status_code == 200 and 'name="secret_api_token"' in page.text
    response = client.post(
        f"{BASE}new/",
        {
            "kind": "chatwoot",
            "name": "Chatwoot",
            "setting_base_url": "https://chat.example.com",
            "setting_account_id": "1",
            "secret_api_token": SECRET,
            "secret_webhook_secret": "",
        },
    )
    integration = Integration.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}{integration.pk}/"
    assert integration.company == company
    assert integration.settings == {"base_url": "https://chat.example.com", "account_id": "1"}
    assert integration.get_secrets() == {"api_token": SECRET}


def test_the_edit_form_never_shows_a_stored_secret_and_empty_keeps_it(
    company, admin_user, client_for
) -> None:
    integration = make_integration(
        company,
        "umbler",
        settings={"organization_id": "org"},
        secrets={"api_token": SECRET, "url_token": "hook-token-1234567"},
    )
    client = client_for(admin_user)
    page = client.get(f"{BASE}{integration.pk}/")
    assert page.status_code == 200
    assert SECRET not in page.text and "hook-token-1234567" not in page.text
    assert "•••• set — leave empty to keep" in page.text or "definido" in page.text
    response = client.post(
        f"{BASE}{integration.pk}/",
        {
            "name": "Umbler",
            "setting_organization_id": "org-2",
            "secret_api_token": "",
            "secret_url_token": "new-hook-token",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.get_secrets() == {"api_token": SECRET, "url_token": "new-hook-token"}
    assert integration.settings == {"organization_id": "org-2"}


def test_a_bad_setting_is_shown_on_the_form(company, admin_user, client_for) -> None:
    response = client_for(admin_user).post(
        f"{BASE}new/",
        {
            "kind": "twilio",
            "name": "X",
            "setting_phone_number": "not a phone",
        },
    )
    assert response.status_code == 200
    assert "E.164" in response.text
    assert not Integration.objects.exists()


def test_deactivating_is_a_post(company, admin_user, client_for) -> None:
    integration = make_integration(company, "web")
    client = client_for(admin_user)
    assert client.get(f"{BASE}{integration.pk}/deactivate/").status_code == 405
    assert client.post(f"{BASE}{integration.pk}/deactivate/").status_code == 302
    assert Integration.objects.get().is_active is False


def test_agents_and_supervisors_get_the_forbidden_page(
    company, agent, supervisor, client_for
) -> None:
    integration = make_integration(company, "web")
    for user in (agent, supervisor):
        client = client_for(user)
        assert client.get(BASE).status_code == 403
        assert client.post(f"{BASE}{integration.pk}/deactivate/").status_code == 403
    assert Integration.objects.get().is_active


def test_outsiders_get_404_and_another_companys_integration_is_404(
    company, other_company, outsider, admin_user, client_for
) -> None:
    ours = make_integration(company, "web")
    theirs = make_integration(other_company, "web")
    outsider_client = client_for(outsider)
    for url in (BASE, f"{BASE}new/", f"{BASE}{ours.pk}/", f"{BASE}{ours.pk}/deactivate/"):
        for method in ("get", "post"):
            assert getattr(outsider_client, method)(url).status_code == 404
    admin = client_for(admin_user)
    assert admin.get(f"{BASE}{theirs.pk}/").status_code == 404
    assert admin.post(f"{BASE}{theirs.pk}/deactivate/").status_code == 404
    assert Integration.objects.get(pk=theirs.pk).is_active
