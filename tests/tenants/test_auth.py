"""Login (web and JWT), language, Microsoft button, readiness."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_jwt_obtain_refresh_verify_and_an_authenticated_call(company, agent, client) -> None:
    from rest_framework.test import APIClient

    api = APIClient()
    response = api.post(
        "/api/v1/auth/token/", {"email": "AGENT@azul.test", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    tokens = response.json()
    assert {"access", "refresh"} <= tokens.keys()
    assert (
        api.post(
            "/api/v1/auth/token/verify/", {"token": tokens["access"]}, format="json"
        ).status_code
        == 200
    )
    refreshed = api.post(
        "/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json"
    )
    assert refreshed.status_code == 200 and refreshed.json()["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    me = api.get("/api/v1/me/").json()
    assert me["email"] == "agent@azul.test"
    assert me["memberships"][0]["company"]["slug"] == "loja-azul"
    assert api.get("/api/v1/companies/loja-azul/").json()["slug"] == "loja-azul"


def test_a_wrong_password_and_a_bad_token_are_refused(company, agent) -> None:
    from rest_framework.test import APIClient

    api = APIClient()
    response = api.post(
        "/api/v1/auth/token/", {"email": "agent@azul.test", "password": "nope"}, format="json"
    )
    assert response.status_code == 401
    api.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    assert api.get("/api/v1/me/").status_code == 401
    assert APIClient().get("/api/v1/me/").status_code == 401
    bad = api.post("/api/v1/auth/token/verify/", {"token": "garbage"}, format="json")
    assert bad.status_code == 401


def test_an_inactive_user_gets_no_token(company, agent) -> None:
    from rest_framework.test import APIClient

    agent.is_active = False
    agent.save()
    response = APIClient().post(
        "/api/v1/auth/token/", {"email": agent.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 401


def test_web_login_with_email_and_password(company, agent, client) -> None:
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    response = client.post("/accounts/login/", {"login": "agent@azul.test", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/app/", follow=True).redirect_chain[-1][0] == "/app/loja-azul/"


def test_password_reset_page_sends_an_email(company, agent, client) -> None:
    from django.core import mail

    response = client.post("/accounts/password/reset/", {"email": "agent@azul.test"})
    assert response.status_code == 302
    assert mail.outbox and "agent@azul.test" in mail.outbox[0].to


def test_nobody_can_sign_up_alone(client, db) -> None:
    response = client.post(
        "/accounts/signup/",
        {"email": "x@y.test", "password1": "aA1!aA1!aA1!", "password2": "aA1!aA1!aA1!"},
    )
    from tenants.models import User

    assert not User.objects.filter(email="x@y.test").exists()
    assert response.status_code in (200, 302, 403)


def test_the_microsoft_button_shows_only_when_configured(client, db) -> None:
    assert "Microsoft" not in client.get("/accounts/login/").text
    providers = {
        "microsoft": {
            "APPS": [{"client_id": "cid", "secret": "sec", "settings": {"tenant": "organizations"}}]
        }
    }
    with override_settings(SOCIALACCOUNT_PROVIDERS=providers):
        html = client.get("/accounts/login/").text
    assert 'data-provider="microsoft"' in html


def test_language_follows_the_company_then_the_users_choice(company, agent, client_for) -> None:
    client = client_for(agent)
    assert 'lang="pt-br"' in client.get("/app/loja-azul/").text
    company.language = "en"
    company.save()
    assert 'lang="en"' in client.get("/app/loja-azul/").text
    response = client.post("/i18n/setlang/", {"language": "pt-br", "next": "/app/loja-azul/"})
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.language == "pt-br"
    fresh = client_for(agent)  # a new browser: no cookie, the user's own choice wins
    html = fresh.get("/app/loja-azul/").text
    assert 'lang="pt-br"' in html and "Sair" in html


def test_an_unknown_language_is_a_clear_400(client, db) -> None:
    assert client.post("/i18n/setlang/", {"language": "xx"}).status_code == 400


def test_the_login_page_is_translated(client, db) -> None:
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="pt-BR").text
    assert "Entrar" in html
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").text
    assert "Sign in" in html


def test_api_docs_and_schema_are_served_without_a_cdn(client, db) -> None:
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/companies/{company_slug}/members/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower() and "/static/drf_spectacular_sidecar/" in docs.text


def test_repeated_failed_logins_are_rate_limited(company, agent, client) -> None:
    from tests.conftest import clear_cached_state

    for i in range(6):
        client.post("/accounts/login/", {"login": "agent@azul.test", "password": f"wrong-{i}"})
    # Locked for this account now: even the right password is refused for a while.
    response = client.post("/accounts/login/", {"login": "agent@azul.test", "password": PASSWORD})
    assert response.status_code in (200, 429)
    assert "_auth_user_id" not in client.session
    clear_cached_state()
    response = client.post("/accounts/login/", {"login": "agent@azul.test", "password": PASSWORD})
    assert response.status_code == 302


def test_cors_allows_only_configured_origins_on_the_api(client, db) -> None:
    with override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.com"]):
        ok = client.options(
            "/api/v1/auth/token/",
            HTTP_ORIGIN="https://app.example.com",
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        )
        bad = client.options(
            "/api/v1/auth/token/",
            HTTP_ORIGIN="https://evil.example",
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        )
    assert ok["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Access-Control-Allow-Origin" not in bad
