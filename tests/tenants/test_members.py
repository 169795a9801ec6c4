from __future__ import annotations

import pytest
from django.core import mail

from tenants.models import Membership, Role, User

pytestmark = pytest.mark.django_db


def test_an_admin_adds_a_new_person_by_email_and_they_get_an_invitation(
    company, admin_user, client_for
) -> None:
    response = client_for(admin_user).post(
        "/app/loja-azul/members/", {"email": "Nova@Azul.test", "full_name": "Nova", "role": "agent"}
    )
    assert response.status_code == 302
    membership = Membership.objects.get(company=company, user__email="nova@azul.test")
    assert membership.role == Role.AGENT
    assert not membership.user.has_usable_password()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["nova@azul.test"]


def test_an_admin_adds_an_existing_user_of_another_company(
    company, admin_user, outsider, client_for
) -> None:
    client_for(admin_user).post(
        "/app/loja-azul/members/", {"email": outsider.email, "role": "supervisor"}
    )
    assert Membership.objects.get(company=company, user=outsider).role == Role.SUPERVISOR
    assert User.objects.filter(email=outsider.email).count() == 1


def test_an_admin_changes_a_role_and_deactivates_a_member(
    company, admin_user, agent, client_for
) -> None:
    membership = Membership.objects.get(user=agent)
    client = client_for(admin_user)
    client.post(
        f"/app/loja-azul/members/{membership.pk}/",
        {"role": "supervisor", "is_active": "on", "max_open_tickets": 4},
    )
    membership.refresh_from_db()
    assert (membership.role, membership.is_active, membership.max_open_tickets) == (
        "supervisor",
        True,
        4,
    )
    client.post(
        f"/app/loja-azul/members/{membership.pk}/", {"role": "supervisor", "max_open_tickets": 4}
    )
    membership.refresh_from_db()
    assert membership.is_active is False


def test_the_last_admin_cannot_demote_themselves(company, admin_user, client_for) -> None:
    membership = Membership.objects.get(user=admin_user)
    response = client_for(admin_user).post(
        f"/app/loja-azul/members/{membership.pk}/",
        {"role": "agent", "is_active": "on", "max_open_tickets": 5},
        follow=True,
    )
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    assert response.status_code == 200


def test_an_admin_cannot_edit_a_membership_of_another_company(
    company, admin_user, outsider, client_for
) -> None:
    foreign = Membership.objects.get(user=outsider)
    response = client_for(admin_user).post(
        f"/app/loja-azul/members/{foreign.pk}/", {"role": "agent", "max_open_tickets": 1}
    )
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.role == Role.ADMIN and foreign.is_active


def test_members_api_adds_and_updates(company, admin_user, agent, api_client_for) -> None:
    api = api_client_for(admin_user)
    response = api.post(
        "/api/v1/companies/loja-azul/members/",
        {"email": "api@azul.test", "role": "agent"},
        format="json",
    )
    assert response.status_code == 201, response.content
    member_id = response.json()["id"]
    response = api.patch(
        f"/api/v1/companies/loja-azul/members/{member_id}/", {"role": "supervisor"}, format="json"
    )
    assert response.status_code == 200 and response.json()["role"] == "supervisor"
    listing = api.get("/api/v1/companies/loja-azul/members/").json()
    emails = {m["user"]["email"] for m in listing["results"]}
    assert {"api@azul.test", "admin@azul.test", "agent@azul.test"} <= emails


def test_members_api_refuses_demoting_the_last_admin_with_a_clear_error(
    company, admin_user, api_client_for
) -> None:
    membership = Membership.objects.get(user=admin_user)
    response = api_client_for(admin_user).patch(
        f"/api/v1/companies/loja-azul/members/{membership.pk}/", {"role": "agent"}, format="json"
    )
    assert response.status_code == 400
    assert "admin" in str(response.json()).lower()
