"""Tenancy: outsiders get 404 on every company route that exists; roles are enforced."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tenants.models import Membership, Role

pytestmark = pytest.mark.django_db


def _company_routes() -> list[str]:
    """Every URL under /app/<company_slug>/ and /api/v1/companies/<company_slug>/, with the
    other path parameters filled with 1 -- so routes added later are covered too."""
    routes: list[str] = []

    def walk(patterns: list, prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                routes.append(prefix + str(p.pattern))

    walk(get_resolver().url_patterns, "/")
    out = []
    for route in routes:
        if "<slug:company_slug>" not in route:
            continue
        url = route.replace("<slug:company_slug>", "loja-azul").lstrip("^").replace("\\Z", "")
        url = re.sub(r"<int:[^>]+>", "1", url)
        url = re.sub(r"<uuid:[^>]+>", "00000000-0000-0000-0000-000000000001", url)
        url = re.sub(r"<(?:str|slug|path):[^>]+>", "x", url)
        url = url.replace("^", "").replace("$", "")
        if "<" in url or "(?P" in url:
            continue
        out.append(url if url.startswith("/") else "/" + url)
    return sorted(set(out))


def test_the_route_walk_finds_company_pages_and_api_routes() -> None:
    routes = _company_routes()
    assert "/app/loja-azul/members/" in routes
    assert "/api/v1/companies/loja-azul/members/" in routes


def test_an_outsider_gets_404_on_every_company_route(
    company, outsider, client_for, api_client_for
) -> None:
    web = client_for(outsider)
    api = api_client_for(outsider)
    for url in _company_routes():
        client = api if url.startswith("/api/") else web
        statuses = {
            m: getattr(client, m)(url).status_code for m in ("get", "post", "patch", "delete")
        }
        # 404 for every method (a 405 would tell the route exists for this company).
        assert set(statuses.values()) == {404}, (url, statuses)


def test_a_member_sees_their_company_home(company, agent, client_for) -> None:
    response = client_for(agent).get("/app/loja-azul/")
    assert response.status_code == 200
    assert "Loja Azul" in response.text


def test_an_anonymous_visitor_is_sent_to_the_login_page(company, client) -> None:
    response = client.get("/app/loja-azul/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_an_unknown_company_is_404_even_for_a_superuser(superuser, client_for) -> None:
    assert client_for(superuser).get("/app/nope/").status_code == 404


def test_a_superuser_can_open_any_company(company, superuser, client_for) -> None:
    assert client_for(superuser).get("/app/loja-azul/members/").status_code == 200


def test_an_agent_cannot_reach_admin_only_pages(company, agent, client_for, api_client_for) -> None:
    assert client_for(agent).get("/app/loja-azul/members/").status_code == 403
    api = api_client_for(agent)
    assert api.get("/api/v1/companies/loja-azul/members/").status_code == 403
    response = api.post(
        "/api/v1/companies/loja-azul/members/",
        {"email": "x@y.test", "role": "admin"},
        format="json",
    )
    assert response.status_code == 403


def test_a_supervisor_reads_members_but_cannot_add_them(
    company, supervisor, api_client_for
) -> None:
    api = api_client_for(supervisor)
    assert api.get("/api/v1/companies/loja-azul/members/").status_code == 200
    response = api.post(
        "/api/v1/companies/loja-azul/members/", {"email": "x@y.test"}, format="json"
    )
    assert response.status_code == 403


def test_an_inactive_membership_is_locked_out_with_a_clear_message(
    company, agent, client_for
) -> None:
    Membership.objects.filter(user=agent).update(is_active=False)
    response = client_for(agent).get("/app/loja-azul/")
    assert response.status_code == 403
    assert "deactivated" in response.text or "desativad" in response.text


def test_an_inactive_company_locks_out_its_members_everywhere(
    company, agent, client_for, api_client_for
) -> None:
    company.is_active = False
    company.save()
    assert client_for(agent).get("/app/loja-azul/").status_code == 403
    response = api_client_for(agent).get("/api/v1/companies/loja-azul/")
    assert response.status_code == 403
    assert response.json()["detail"]


def test_the_company_picker_lists_only_active_memberships(
    company, other_company, agent, client_for
) -> None:
    Membership.objects.create(company=other_company, user=agent, role=Role.AGENT)
    response = client_for(agent).get("/app/")
    assert response.status_code == 200
    assert "Loja Azul" in response.text and "Outra Empresa" in response.text
    other_company.is_active = False
    other_company.save()
    # With one company left, the picker goes straight to it.
    response = client_for(agent).get("/app/")
    assert response.status_code == 302
    assert response["Location"] == "/app/loja-azul/"


def test_only_superusers_open_the_django_admin(company, admin_user, superuser, client_for) -> None:
    assert client_for(admin_user).get("/admin/").status_code == 302  # to admin login
    assert client_for(superuser).get("/admin/").status_code == 200
    for url in ("/admin/tenants/company/", "/admin/tenants/membership/", "/admin/tenants/user/"):
        assert client_for(superuser).get(url).status_code == 200, url
    assert client_for(superuser).get("/admin/tenants/user/?q=admin").status_code == 200
