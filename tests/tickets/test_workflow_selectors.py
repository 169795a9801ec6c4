"""Who sees which ticket, inbox filters and counts."""

from __future__ import annotations

import pytest
from django.http import Http404

from tenants.models import Membership
from tests.conftest import make_member
from tickets import selectors
from tickets.models import TicketStatus

from .workflow_factories import make_message, make_queue, make_ticket

pytestmark = pytest.mark.django_db


def membership(user, company):
    return Membership.objects.select_related("user").get(user=user, company=company)


@pytest.fixture
def setup(company, agent, supervisor):
    other_agent = make_member(company, "other@azul.test")
    sales = make_queue(company, "Vendas", members=[agent])
    support = make_queue(company, "Suporte", members=[other_agent])
    return {
        "sales": sales,
        "support": support,
        "other_agent": other_agent,
        "in_sales": make_ticket(company, queue=sales, contact_name="Ana"),
        "in_support": make_ticket(company, queue=support, contact_name="Bruno"),
        "mine_elsewhere": make_ticket(
            company, queue=support, status=TicketStatus.OPEN, assignee=agent, contact_name="Carla"
        ),
        "unqueued": make_ticket(company, queue=None, contact_name="Davi"),
    }


def test_an_agent_sees_their_queues_tickets_and_their_own_only(company, agent, setup) -> None:
    visible = set(selectors.visible_tickets(membership(agent, company)))
    assert visible == {setup["in_sales"], setup["mine_elsewhere"]}


def test_a_supervisor_sees_every_ticket_of_the_company(
    company, supervisor, setup, other_company
) -> None:
    make_ticket(other_company)
    visible = set(selectors.visible_tickets(membership(supervisor, company)))
    assert visible == {
        setup["in_sales"],
        setup["in_support"],
        setup["mine_elsewhere"],
        setup["unqueued"],
    }


def test_an_agent_in_two_queues_gets_no_duplicate_rows(company, agent, setup) -> None:
    setup["support"].members.add(agent)
    rows = list(selectors.visible_tickets(membership(agent, company)))
    assert len(rows) == len(set(rows)) == 3


def test_ticket_for_member_is_404_for_a_ticket_of_another_queue(company, agent, setup) -> None:
    m = membership(agent, company)
    assert selectors.ticket_for_member(m, setup["in_sales"].number) == setup["in_sales"]
    with pytest.raises(Http404):
        selectors.ticket_for_member(m, setup["in_support"].number)
    with pytest.raises(Http404):
        selectors.ticket_for_member(m, "not-a-number")
    assert selectors.can_see_ticket(m, setup["in_sales"])
    assert not selectors.can_see_ticket(m, setup["unqueued"])


def test_ticket_for_member_never_finds_another_companys_ticket(
    company, other_company, supervisor
) -> None:
    theirs = make_ticket(other_company)
    with pytest.raises(Http404):
        selectors.ticket_for_member(membership(supervisor, company), theirs.number)


def test_inbox_status_groups(company, agent, supervisor, setup) -> None:
    m = membership(supervisor, company)
    resolved = make_ticket(company, queue=setup["sales"], status=TicketStatus.RESOLVED)

    def numbers(status):
        return {t.pk for t in selectors.inbox_tickets(m, selectors.InboxFilters(status=status))}

    assert numbers("pending") == {
        setup["in_sales"].pk,
        setup["in_support"].pk,
        setup["unqueued"].pk,
    }
    assert numbers("open") == {setup["mine_elsewhere"].pk}
    assert numbers("resolved") == {resolved.pk}
    assert numbers("mine") == set()
    assert numbers("mine") == set()
    assert numbers("") == numbers("pending") | numbers("open")
    assert {
        t.pk
        for t in selectors.inbox_tickets(
            membership(agent, company), selectors.InboxFilters(status="mine")
        )
    } == {setup["mine_elsewhere"].pk}


def test_inbox_filters_by_queue_agent_tag_channel_and_search(
    company, supervisor, agent, setup
) -> None:
    m = membership(supervisor, company)
    tagged = make_ticket(
        company, queue=setup["sales"], tags=["vip", "boleto"], kind="twilio", phone="+5511999990000"
    )
    make_message(tagged, "Quero a segunda via do boleto")

    def pks(**kw):
        return {
            t.pk for t in selectors.inbox_tickets(m, selectors.InboxFilters(status="all", **kw))
        }

    assert pks(queue=setup["sales"].pk) == {setup["in_sales"].pk, tagged.pk}
    assert pks(agent=agent.pk) == {setup["mine_elsewhere"].pk}
    assert pks(tag="vip") == {tagged.pk}
    assert pks(channel="twilio") == {tagged.pk}
    assert pks(channel=str(tagged.conversation.integration_id)) == {tagged.pk}
    assert pks(search="segunda via") == {tagged.pk}
    assert pks(search="99999") == {tagged.pk}
    assert pks(search="carla") == {setup["mine_elsewhere"].pk}
    assert pks(search=f"#{tagged.number}") >= {tagged.pk}


def test_filters_from_query_params_ignore_garbage() -> None:
    f = selectors.inbox_filters_from({"status": "bogus", "queue": "x1", "agent": "7", "q": " ana "})
    assert f.status == "" and f.queue is None and f.agent == 7 and f.search == "ana"


def test_the_inbox_list_runs_a_constant_number_of_queries(
    company, supervisor, setup, django_assert_num_queries
) -> None:
    m = membership(supervisor, company)
    for _ in range(5):
        make_ticket(company, queue=setup["sales"])
    with django_assert_num_queries(1):
        rows = list(selectors.inbox_tickets(m, selectors.InboxFilters(status="all")))
        seen = [
            (
                t.contact.name,
                t.queue and t.queue.name,
                t.assignee and t.assignee.email,
                t.conversation.integration.kind,
            )
            for t in rows
        ]
    assert len(seen) == 9


def test_counts_per_status_queue_mine_and_unread_in_two_queries(
    company, agent, setup, django_assert_num_queries
) -> None:
    setup["in_sales"].unread_count = 3
    setup["in_sales"].save()
    setup["mine_elsewhere"].unread_count = 2
    setup["mine_elsewhere"].save()
    m = membership(agent, company)
    with django_assert_num_queries(2):
        counts = selectors.inbox_counts(m)
    assert counts["pending"] == 1
    assert counts["open"] == 1
    assert counts["mine"] == 1
    assert counts["unread"] == 5
    assert counts["mine_unread"] == 2
    assert counts["queues"][setup["sales"].pk] == {"pending": 1, "open": 0, "unread": 3}
    assert counts["queues"][setup["support"].pk] == {"pending": 0, "open": 1, "unread": 2}
