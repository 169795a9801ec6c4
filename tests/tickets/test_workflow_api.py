"""Tickets REST API: lists, detail, timeline, actions, queues; visibility and outsiders."""

from __future__ import annotations

import pytest

from tests.conftest import make_member
from tickets.models import Queue

from .workflow_factories import make_message, make_queue, make_ticket

pytestmark = pytest.mark.django_db

BASE = "/api/v1/companies/loja-azul"


@pytest.fixture
def sales(company, agent):
    return make_queue(company, "Vendas", members=[agent])


@pytest.fixture
def ticket(company, sales):
    return make_ticket(company, queue=sales, contact_name="Ana Cliente")


def test_the_list_shows_visible_tickets_with_a_pinned_query_count(
    company, agent, sales, ticket, api_client_for, django_assert_max_num_queries
) -> None:
    for _ in range(6):
        make_ticket(company, queue=sales)
    make_ticket(company, queue=make_queue(company, "Outra"))
    api = api_client_for(agent)
    api.get(f"{BASE}/tickets/")  # warm the JWT user lookup path
    # auth user + membership + count + page (constant whatever the page size)
    with django_assert_max_num_queries(4):
        response = api.get(f"{BASE}/tickets/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 7
    row = next(r for r in body["results"] if r["number"] == ticket.number)
    assert row["contact"]["name"] == "Ana Cliente"
    assert row["queue"]["name"] == "Vendas"
    assert row["conversation"]["channel"] == "umbler"


def test_the_list_accepts_the_inbox_filters(company, agent, sales, ticket, api_client_for) -> None:
    other = make_ticket(company, queue=sales, tags=["vip"])
    api = api_client_for(agent)
    numbers = [r["number"] for r in api.get(f"{BASE}/tickets/?tag=vip").json()["results"]]
    assert numbers == [other.number]
    assert api.get(f"{BASE}/tickets/?q=Ana").json()["count"] == 1
    assert api.get(f"{BASE}/tickets/?status=resolved").json()["count"] == 0
    assert api.get(f"{BASE}/tickets/?queue=abc").status_code == 200


def test_an_agent_of_another_queue_gets_404_everywhere_on_the_ticket(
    company, ticket, api_client_for
) -> None:
    stranger = make_member(company, "stranger@azul.test")
    make_queue(company, "Financeiro", members=[stranger])
    api = api_client_for(stranger)
    assert api.get(f"{BASE}/tickets/{ticket.number}/").status_code == 404
    assert api.get(f"{BASE}/tickets/{ticket.number}/timeline/").status_code == 404
    assert api.post(f"{BASE}/tickets/{ticket.number}/accept/").status_code == 404
    assert api.get(f"{BASE}/tickets/").json()["count"] == 0


def test_an_outsider_gets_404_on_the_tickets_api(ticket, outsider, api_client_for) -> None:
    api = api_client_for(outsider)
    for url in (
        f"{BASE}/tickets/",
        f"{BASE}/tickets/{ticket.number}/",
        f"{BASE}/tickets/counts/",
        f"{BASE}/queues/",
        f"{BASE}/quick-replies/",
        f"{BASE}/scheduled-messages/",
    ):
        assert api.get(url).status_code == 404, url
    assert api.post(f"{BASE}/tickets/{ticket.number}/accept/").status_code == 404
    # ... and their own company's ticket with the same number is not this one.
    assert api.get(f"/api/v1/companies/outra/tickets/{ticket.number}/").status_code == 404


def test_detail_and_timeline_interleave_messages_and_events(ticket, agent, api_client_for) -> None:
    make_message(ticket, "Oi, preciso de ajuda")
    api = api_client_for(agent)
    assert api.post(f"{BASE}/tickets/{ticket.number}/accept/").status_code == 200
    detail = api.get(f"{BASE}/tickets/{ticket.number}/").json()
    assert detail["status"] == "open" and detail["assignee"]["email"] == agent.email
    timeline = api.get(f"{BASE}/tickets/{ticket.number}/timeline/").json()
    assert [i["item"] for i in timeline] == ["message", "event", "event"]
    assert timeline[0]["data"]["content"] == "Oi, preciso de ajuda"
    assert timeline[1]["kind"] == "assigned"


def test_a_lost_accept_race_answers_409_with_the_winner(
    company, ticket, sales, agent, api_client_for
) -> None:
    colleague = make_member(company, "colega@azul.test")
    sales.members.add(colleague)
    assert api_client_for(agent).post(f"{BASE}/tickets/{ticket.number}/accept/").status_code == 200
    response = api_client_for(colleague).post(f"{BASE}/tickets/{ticket.number}/accept/")
    assert response.status_code == 409
    assert response.json()["ticket"]["assignee"]["email"] == agent.email
    assert response.json()["code"] == "conflict"


def test_every_action_endpoint_works(company, ticket, agent, supervisor, api_client_for) -> None:
    finance = make_queue(company, "Financeiro", members=[agent])
    sup = api_client_for(supervisor)
    url = f"{BASE}/tickets/{ticket.number}"
    assert (
        sup.post(f"{url}/assign/", {"assignee": agent.pk}, format="json").json()["assignee"]["id"]
        == agent.pk
    )
    assert (
        sup.post(f"{url}/priority/", {"priority": "high"}, format="json").json()["priority"]
        == "high"
    )
    assert sup.post(f"{url}/tags/", {"tags": ["vip"]}, format="json").json()["tags"] == ["vip"]
    assert sup.post(f"{url}/resume-ai/").json()["ai_paused"] is False
    assert sup.post(f"{url}/pause-ai/").json()["ai_paused"] is True
    moved = sup.post(
        f"{url}/transfer/", {"queue": finance.pk, "note": "é cobrança"}, format="json"
    ).json()
    assert moved["queue"]["id"] == finance.pk and moved["status"] == "pending"
    assert sup.post(f"{url}/resolve/").json()["status"] == "resolved"
    assert sup.post(f"{url}/reopen/").json()["status"] == "pending"


def test_bad_action_input_is_a_400_not_a_500(ticket, supervisor, outsider, api_client_for) -> None:
    sup = api_client_for(supervisor)
    url = f"{BASE}/tickets/{ticket.number}"
    assert sup.post(f"{url}/priority/", {"priority": "soon"}, format="json").status_code == 400
    assert sup.post(f"{url}/assign/", {"assignee": outsider.pk}, format="json").status_code == 400
    assert sup.post(f"{url}/transfer/", {"queue": 999999}, format="json").status_code == 400
    assert sup.post(f"{url}/transfer/", {}, format="json").status_code == 400
    assert sup.post(f"{url}/tags/", {"tags": "vip"}, format="json").status_code == 400


def test_an_agent_cannot_assign_to_someone_else_through_the_api(
    company, ticket, agent, api_client_for
) -> None:
    colleague = make_member(company, "colega@azul.test")
    response = api_client_for(agent).post(
        f"{BASE}/tickets/{ticket.number}/assign/", {"assignee": colleague.pk}, format="json"
    )
    assert response.status_code == 403


def test_counts_endpoint(ticket, agent, api_client_for) -> None:
    body = api_client_for(agent).get(f"{BASE}/tickets/counts/").json()
    assert body["pending"] == 1 and body["mine"] == 0
    assert body["queues"][str(ticket.queue_id)]["pending"] == 1


def test_agents_read_queues_and_only_admins_write_them(
    company, agent, admin_user, api_client_for
) -> None:
    make_queue(company, "Vendas", members=[agent])
    assert len(api_client_for(agent).get(f"{BASE}/queues/").json()) == 1
    assert (
        api_client_for(agent).post(f"{BASE}/queues/", {"name": "X"}, format="json").status_code
        == 403
    )
    admin = api_client_for(admin_user)
    created = admin.post(
        f"{BASE}/queues/",
        {
            "name": "Suporte",
            "distribution": "round_robin",
            "member_ids": [agent.pk],
            "business_hours": {"mon": [["08:00", "18:00"]]},
            "greeting": "Olá!",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    queue = Queue.objects.get(pk=created.json()["id"])
    assert list(queue.members.all()) == [agent] and queue.distribution == "round_robin"
    bad = admin.patch(
        f"{BASE}/queues/{queue.pk}/", {"business_hours": {"mon": [["8h", "18"]]}}, format="json"
    )
    assert bad.status_code == 400
    dup = admin.post(f"{BASE}/queues/", {"name": "suporte"}, format="json")
    assert dup.status_code == 400
    assert (
        admin.patch(f"{BASE}/queues/{queue.pk}/", {"color": "#123456"}, format="json").status_code
        == 200
    )
    assert admin.delete(f"{BASE}/queues/{queue.pk}/").status_code == 204


def test_the_openapi_schema_lists_the_ticket_endpoints(client) -> None:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/companies/{company_slug}/tickets/{number}/accept/" in paths
    assert "/api/v1/companies/{company_slug}/scheduled-messages/" in paths
