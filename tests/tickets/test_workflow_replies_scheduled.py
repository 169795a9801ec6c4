"""Quick replies and scheduled messages (services, beat task, API)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from conversations.models import Conversation, Message
from tenants.models import Membership
from tests.conftest import make_member
from tickets.models import ScheduledMessage, ScheduledStatus, TicketStatus
from tickets.services import quick_replies, scheduled
from tickets.tasks import send_due_scheduled_messages

from .workflow_factories import make_queue, make_ticket

BASE = "/api/v1/companies/loja-azul"


def member(user, company):
    return Membership.objects.select_related("user").get(user=user, company=company)


@pytest.mark.django_db
def test_personal_replies_hide_company_ones_with_the_same_shortcut(
    company, agent, supervisor
) -> None:
    sup, ag = member(supervisor, company), member(agent, company)
    quick_replies.quick_reply_create(
        membership=sup, shortcut="/ola", content="Olá! (empresa)", personal=False
    )
    quick_replies.quick_reply_create(
        membership=sup, shortcut="pix", content="Nossa chave PIX...", personal=False
    )
    quick_replies.quick_reply_create(membership=ag, shortcut="ola", content="Oi, aqui é o agente")
    quick_replies.quick_reply_create(membership=sup, shortcut="meu", content="do supervisor")
    got = {r.shortcut: r.content for r in quick_replies.quick_replies_for(ag)}
    assert got == {"ola": "Oi, aqui é o agente", "pix": "Nossa chave PIX..."}
    assert [r.shortcut for r in quick_replies.quick_replies_for(ag, "/p")] == ["pix"]


@pytest.mark.django_db
def test_only_supervisors_manage_company_replies_and_shortcuts_are_unique(
    company, agent, supervisor
) -> None:
    ag, sup = member(agent, company), member(supervisor, company)
    with pytest.raises(PermissionDenied):
        quick_replies.quick_reply_create(membership=ag, shortcut="x", content="y", personal=False)
    reply = quick_replies.quick_reply_create(
        membership=sup, shortcut="x", content="y", personal=False
    )
    with pytest.raises(ValidationError):
        quick_replies.quick_reply_create(membership=sup, shortcut="X", content="z", personal=False)
    with pytest.raises(PermissionDenied):
        quick_replies.quick_reply_update(membership=ag, reply=reply, content="hack")
    with pytest.raises(ValidationError):
        quick_replies.quick_reply_create(membership=ag, shortcut="///", content="z")


@pytest.mark.django_db
def test_quick_replies_api(company, agent, outsider, api_client_for) -> None:
    api = api_client_for(agent)
    created = api.post(
        f"{BASE}/quick-replies/", {"shortcut": "tchau", "content": "Até logo!"}, format="json"
    )
    assert created.status_code == 201 and created.json()["scope"] == "personal"
    assert (
        api.post(
            f"{BASE}/quick-replies/",
            {"shortcut": "c", "content": "d", "personal": False},
            format="json",
        ).status_code
        == 403
    )
    assert [r["shortcut"] for r in api.get(f"{BASE}/quick-replies/?prefix=tc").json()] == ["tchau"]
    rid = created.json()["id"]
    assert (
        api.patch(f"{BASE}/quick-replies/{rid}/", {"content": "Tchau!"}, format="json").json()[
            "content"
        ]
        == "Tchau!"
    )
    assert api_client_for(outsider).get(f"{BASE}/quick-replies/{rid}/").status_code == 404
    other = make_member(company, "other@azul.test")
    assert api_client_for(other).delete(f"{BASE}/quick-replies/{rid}/").status_code == 404
    assert api.delete(f"{BASE}/quick-replies/{rid}/").status_code == 204


@pytest.fixture
def wa_ticket(company, agent):
    queue = make_queue(company, "Vendas", members=[agent])
    ticket = make_ticket(
        company, queue=queue, kind="twilio", status=TicketStatus.OPEN, assignee=agent
    )
    Conversation.objects.filter(pk=ticket.conversation_id).update(
        last_inbound_at=timezone.now() - timedelta(hours=20)
    )
    ticket.conversation.refresh_from_db()
    return ticket


@pytest.mark.django_db
def test_the_24h_window_warning_for_whatsapp_only(company, wa_ticket) -> None:
    conv = wa_ticket.conversation
    now = timezone.now()
    assert not scheduled.outside_24h_window(conv, now + timedelta(hours=3))
    assert scheduled.outside_24h_window(conv, now + timedelta(hours=5))
    assert scheduled.window_closes_at(conv) == conv.last_inbound_at + timedelta(hours=24)
    web = make_ticket(company, kind="web")
    assert not scheduled.outside_24h_window(web.conversation, now + timedelta(days=3))
    cw = make_ticket(company, kind="chatwoot")
    assert not scheduled.outside_24h_window(cw.conversation, now + timedelta(days=3))
    cw.conversation.integration.settings = {"channel_type": "Channel::Whatsapp"}
    cw.conversation.integration.save()
    assert scheduled.outside_24h_window(cw.conversation, now + timedelta(days=3))


@pytest.mark.django_db
def test_scheduling_validates_the_time_and_the_ticket(company, wa_ticket, agent) -> None:
    with pytest.raises(ValidationError):
        scheduled.scheduled_message_create(
            ticket=wa_ticket,
            content="x",
            send_at=timezone.now() - timedelta(minutes=1),
            actor=agent,
        )
    with pytest.raises(ValidationError):
        scheduled.scheduled_message_create(
            ticket=wa_ticket, content="  ", send_at=timezone.now() + timedelta(hours=1), actor=agent
        )
    wa_ticket.status = TicketStatus.RESOLVED
    wa_ticket.save()
    with pytest.raises(ValidationError):
        scheduled.scheduled_message_create(
            ticket=wa_ticket, content="x", send_at=timezone.now() + timedelta(hours=1), actor=agent
        )


@pytest.mark.django_db
def test_due_messages_are_sent_once_and_cancelled_ones_never(
    company, wa_ticket, agent, django_capture_on_commit_callbacks
) -> None:
    due = scheduled.scheduled_message_create(
        ticket=wa_ticket,
        content="Bom dia!",
        send_at=timezone.now() + timedelta(seconds=1),
        actor=agent,
    )
    later = scheduled.scheduled_message_create(
        ticket=wa_ticket, content="Depois", send_at=timezone.now() + timedelta(hours=2), actor=agent
    )
    cancelled = scheduled.scheduled_message_create(
        ticket=wa_ticket, content="Não", send_at=timezone.now() + timedelta(seconds=1), actor=agent
    )
    scheduled.scheduled_message_cancel(scheduled=cancelled, membership=member(agent, company))
    ScheduledMessage.objects.filter(pk__in=[due.pk, cancelled.pk]).update(
        send_at=timezone.now() - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks() as callbacks:
        send_due_scheduled_messages()
    send_due_scheduled_messages()
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.status == ScheduledStatus.SENT and due.message.content == "Bom dia!"
    assert due.message.sender_user == agent and due.message.direction == "out"
    assert later.status == ScheduledStatus.SCHEDULED
    assert list(Message.objects.filter(ticket=wa_ticket).values_list("content", flat=True)) == [
        "Bom dia!"
    ]
    assert callbacks  # the platform send is enqueued after commit
    with pytest.raises(ValidationError):
        scheduled.scheduled_message_cancel(scheduled=due, membership=member(agent, company))


@pytest.mark.django_db
def test_a_failed_send_is_marked_failed(company, wa_ticket, agent) -> None:
    row = scheduled.scheduled_message_create(
        ticket=wa_ticket, content="x", send_at=timezone.now() + timedelta(hours=1), actor=agent
    )
    ScheduledMessage.objects.filter(pk=row.pk).update(send_at=timezone.now(), content="y" * 20_000)
    scheduled.scheduled_send_due()
    row.refresh_from_db()
    assert row.status == ScheduledStatus.FAILED and row.error


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_claimers_send_each_message_once(company) -> None:
    agent = make_member(company, "ag@azul.test")
    queue = make_queue(company, "Vendas", members=[agent])
    ticket = make_ticket(company, queue=queue, kind="web", status=TicketStatus.OPEN, assignee=agent)
    rows = [
        scheduled.scheduled_message_create(
            ticket=ticket, content=f"m{i}", send_at=timezone.now() + timedelta(hours=1), actor=agent
        )
        for i in range(30)
    ]
    ScheduledMessage.objects.filter(pk__in=[r.pk for r in rows]).update(send_at=timezone.now())
    barrier = threading.Barrier(2)
    counts: list = []

    def claim() -> None:
        try:
            barrier.wait()
            counts.append(scheduled.scheduled_send_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(counts) == 30
    assert Message.objects.filter(ticket=ticket).count() == 30
    assert ScheduledMessage.objects.filter(status=ScheduledStatus.SENT).count() == 30


@pytest.mark.django_db
def test_scheduled_messages_api(company, wa_ticket, agent, outsider, api_client_for) -> None:
    api = api_client_for(agent)
    send_at = (timezone.now() + timedelta(hours=6)).isoformat()
    created = api.post(
        f"{BASE}/scheduled-messages/",
        {"ticket": wa_ticket.number, "content": "Lembrete", "send_at": send_at},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["outside_24h_window"] is True
    assert api.get(f"{BASE}/scheduled-messages/?ticket={wa_ticket.number}").json()["count"] == 1
    sid = created.json()["id"]
    assert api_client_for(outsider).delete(f"{BASE}/scheduled-messages/{sid}/").status_code == 404
    stranger = make_member(company, "x@azul.test")
    assert api_client_for(stranger).get(f"{BASE}/scheduled-messages/{sid}/").status_code == 404
    assert (
        api.post(
            f"{BASE}/scheduled-messages/",
            {"ticket": wa_ticket.number, "content": "x", "send_at": "2000-01-01T00:00:00Z"},
            format="json",
        ).status_code
        == 400
    )
    assert api.delete(f"{BASE}/scheduled-messages/{sid}/").json()["status"] == "cancelled"
