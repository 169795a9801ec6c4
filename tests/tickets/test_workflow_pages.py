"""Staff pages: web ticket form, my tickets, queues, business hours, quick replies."""

from __future__ import annotations

import pytest

from conversations.models import Message
from integrations.models import Integration
from tenants.models import Company
from tests.conftest import make_member
from tickets.models import Queue, QuickReply, Ticket, TicketStatus
from tickets.services import actions

from .workflow_factories import make_queue

pytestmark = pytest.mark.django_db

APP = "/app/loja-azul"


def test_opening_a_ticket_for_myself(
    company, agent, client_for, django_capture_on_commit_callbacks
) -> None:
    sales = make_queue(
        company, "Vendas", greeting="Recebemos seu pedido!", distribution="round_robin"
    )
    web = client_for(agent)
    assert web.get(f"{APP}/tickets/new/").status_code == 200
    with django_capture_on_commit_callbacks() as callbacks:
        response = web.post(
            f"{APP}/tickets/new/",
            {
                "title": "Impressora",
                "description": "Não imprime.",
                "complexity": "low",
                "queue": sales.pk,
                "for_other": "0",
            },
        )
    assert response.status_code == 302, response.content
    ticket = Ticket.objects.get(company=company)
    assert response["Location"] == f"{APP}/my-tickets/{ticket.number}/"
    assert ticket.title == "Impressora" and ticket.complexity == "low" and ticket.queue == sales
    assert ticket.requester == agent and ticket.requested_for_name == ""
    assert ticket.contact.email == agent.email
    assert ticket.conversation.integration.kind == "web"
    assert ticket.status == TicketStatus.PENDING and ticket.unread_count == 1
    contents = list(
        Message.objects.filter(ticket=ticket).order_by("id").values_list("sender_type", "content")
    )
    assert contents == [
        ("contact", "Impressora\n\nNão imprime."),
        ("system", "Recebemos seu pedido!"),
    ]
    assert any("schedule_route" in cb.__qualname__ for cb in callbacks)
    page = web.get(f"{APP}/my-tickets/{ticket.number}/")
    assert "Impressora" in page.text and "Recebemos seu pedido!" in page.text
    assert "Impressora" in web.get(f"{APP}/my-tickets/").text


def test_opening_a_ticket_for_another_person_needs_a_name_and_a_contact(
    company, agent, client_for
) -> None:
    web = client_for(agent)
    base = {
        "title": "Acesso",
        "description": "Sem acesso ao sistema",
        "complexity": "high",
        "for_other": "1",
    }
    missing = web.post(f"{APP}/tickets/new/", {**base, "other_name": "Joana"})
    assert missing.status_code == 200 and not Ticket.objects.exists()
    bad_phone = web.post(
        f"{APP}/tickets/new/", {**base, "other_name": "Joana", "other_phone": "12"}
    )
    assert bad_phone.status_code == 200 and not Ticket.objects.exists()
    ok = web.post(
        f"{APP}/tickets/new/", {**base, "other_name": "Joana", "other_phone": "(11) 98888-7777"}
    )
    assert ok.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.requested_for_name == "Joana" and ticket.requested_for_phone == "+5511988887777"
    assert ticket.contact.phone == "+5511988887777" and ticket.contact.name == "Joana"
    assert ticket.requester == agent
    # Same person again: the same contact.
    web.post(
        f"{APP}/tickets/new/",
        {**base, "other_name": "Joana S.", "other_phone": "+55 11 98888-7777"},
    )
    assert Ticket.objects.count() == 2 and len({t.contact_id for t in Ticket.objects.all()}) == 1


def test_the_web_integration_is_created_once(company, agent, client_for) -> None:
    web = client_for(agent)
    for _ in range(2):
        web.post(
            f"{APP}/tickets/new/",
            {"title": "x", "description": "y", "complexity": "low", "for_other": "0"},
        )
    assert Integration.objects.filter(company=company, kind="web").count() == 1


def test_the_requester_chats_and_staff_replies_show_up(
    company, agent, supervisor, client_for
) -> None:
    from conversations.services.outbound import message_send, note_add

    web = client_for(agent)
    web.post(
        f"{APP}/tickets/new/",
        {"title": "VPN", "description": "Cai toda hora", "complexity": "medium", "for_other": "0"},
    )
    ticket = Ticket.objects.get()
    assert (
        web.post(f"{APP}/my-tickets/{ticket.number}/", {"content": "Alguma novidade?"}).status_code
        == 302
    )
    message_send(ticket=ticket, content="Estamos olhando.", actor=supervisor)
    note_add(ticket=ticket, content="nota interna secreta", actor=supervisor)
    page = web.get(f"{APP}/my-tickets/{ticket.number}/").text
    assert "Alguma novidade?" in page and "Estamos olhando." in page
    assert "nota interna secreta" not in page
    ticket.refresh_from_db()
    assert ticket.unread_count == 2


def test_writing_on_a_resolved_request_reopens_it(company, agent, supervisor, client_for) -> None:
    web = client_for(agent)
    web.post(
        f"{APP}/tickets/new/",
        {"title": "VPN", "description": "Cai", "complexity": "medium", "for_other": "0"},
    )
    ticket = Ticket.objects.get()
    actions.ticket_resolve(ticket=ticket, actor=supervisor)
    web.post(f"{APP}/my-tickets/{ticket.number}/", {"content": "Voltou a cair"})
    ticket.refresh_from_db()
    assert ticket.status in (TicketStatus.PENDING, TicketStatus.OPEN) and ticket.reopen_count == 1


def test_nobody_else_sees_my_request_page(company, agent, outsider, client_for) -> None:
    web = client_for(agent)
    web.post(
        f"{APP}/tickets/new/",
        {"title": "x", "description": "y", "complexity": "low", "for_other": "0"},
    )
    number = Ticket.objects.get().number
    colleague = make_member(company, "colega@azul.test")
    assert client_for(colleague).get(f"{APP}/my-tickets/{number}/").status_code == 404
    assert (
        client_for(colleague).post(f"{APP}/my-tickets/{number}/", {"content": "hack"}).status_code
        == 404
    )
    assert client_for(outsider).get(f"{APP}/my-tickets/{number}/").status_code == 404
    assert client_for(outsider).get(f"{APP}/tickets/new/").status_code == 404


def test_the_web_form_api_creates_a_ticket(company, agent, api_client_for) -> None:
    response = api_client_for(agent).post(
        "/api/v1/companies/loja-azul/tickets/web/",
        {
            "title": "API",
            "description": "via API",
            "complexity": "low",
            "for_other": True,
            "other_name": "Zé",
            "other_email": "ze@example.com",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["requested_for_email"] == "ze@example.com"
    bad = api_client_for(agent).post(
        "/api/v1/companies/loja-azul/tickets/web/",
        {
            "title": "API",
            "description": "x",
            "complexity": "low",
            "for_other": True,
            "other_name": "Zé",
        },
        format="json",
    )
    assert bad.status_code == 400


def test_admins_manage_queues_with_members_and_hours(
    company, admin_user, agent, client_for
) -> None:
    web = client_for(admin_user)
    assert web.get(f"{APP}/queues/").status_code == 200
    response = web.post(
        f"{APP}/queues/new/",
        {
            "name": "Suporte",
            "color": "#112233",
            "distribution": "least_busy",
            "greeting": "Oi!",
            "out_of_hours_message": "Fechado",
            "order": 1,
            "members": [agent.pk],
            "hours-enabled": "on",
            "hours-mon": "08:00-12:00, 13:00-18:00",
            "hours-sat": "22:00-02:00",
            "hours-holidays": "2026-12-25",
        },
    )
    assert response.status_code == 302, response.content
    queue = Queue.objects.get(company=company)
    assert queue.distribution == "least_busy" and list(queue.members.all()) == [agent]
    assert queue.business_hours == {
        "mon": [["08:00", "12:00"], ["13:00", "18:00"]],
        "tue": [],
        "wed": [],
        "thu": [],
        "fri": [],
        "sat": [["22:00", "02:00"]],
        "sun": [],
        "holidays": ["2026-12-25"],
    }
    bad = web.post(
        f"{APP}/queues/{queue.pk}/",
        {
            "name": "Suporte",
            "color": "#112233",
            "distribution": "manual",
            "order": 1,
            "hours-enabled": "on",
            "hours-mon": "8h às 18h",
        },
    )
    assert bad.status_code == 200
    assert web.get(f"{APP}/queues/{queue.pk}/").status_code == 200
    assert web.post(f"{APP}/queues/{queue.pk}/delete/").status_code == 302
    assert not Queue.objects.exists()


def test_agents_cannot_open_the_queue_admin(company, agent, client_for) -> None:
    assert client_for(agent).get(f"{APP}/queues/").status_code == 403
    assert client_for(agent).get(f"{APP}/business-hours/").status_code == 403


def test_admins_set_the_company_hours(company, admin_user, client_for) -> None:
    web = client_for(admin_user)
    assert web.get(f"{APP}/business-hours/").status_code == 200
    response = web.post(
        f"{APP}/business-hours/",
        {"enabled": "on", "mon": "09:00-17:00", "out_of_hours_message": "Voltamos às 9h."},
    )
    assert response.status_code == 302
    company = Company.objects.get(pk=company.pk)
    assert company.business_hours["mon"] == [["09:00", "17:00"]]
    assert company.out_of_hours_message == "Voltamos às 9h."
    web.post(f"{APP}/business-hours/", {"out_of_hours_message": ""})
    assert Company.objects.get(pk=company.pk).business_hours == {}


def test_quick_replies_page(company, agent, supervisor, client_for) -> None:
    web = client_for(agent)
    assert (
        web.post(
            f"{APP}/quick-replies/", {"shortcut": "oi", "content": "Olá!", "personal": "on"}
        ).status_code
        == 302
    )
    refused = web.post(f"{APP}/quick-replies/", {"shortcut": "empresa", "content": "x"})
    assert refused.status_code == 200 and not QuickReply.objects.filter(shortcut="empresa").exists()
    assert (
        client_for(supervisor)
        .post(f"{APP}/quick-replies/", {"shortcut": "empresa", "content": "x"})
        .status_code
        == 302
    )
    assert QuickReply.objects.get(shortcut="empresa").owner is None
    mine = QuickReply.objects.get(shortcut="oi")
    assert client_for(supervisor).post(f"{APP}/quick-replies/{mine.pk}/delete/").status_code == 404
    assert "/oi" in web.get(f"{APP}/quick-replies/").text
    assert web.post(f"{APP}/quick-replies/{mine.pk}/delete/").status_code == 302


def test_superusers_open_the_ticket_admin_pages(company, superuser, client_for) -> None:
    web = client_for(superuser)
    for model in ("queue", "ticket", "quickreply", "scheduledmessage", "chatwootcontactlink"):
        assert web.get(f"/admin/tickets/{model}/").status_code == 200, model
