"""Staff actions: state changes, timeline events, permissions, conflicts."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.conftest import make_member
from tickets.models import TicketEvent, TicketEventKind, TicketStatus
from tickets.services import actions

from .workflow_factories import make_queue, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales(company, agent):
    return make_queue(company, "Vendas", members=[agent])


@pytest.fixture
def ticket(company, sales):
    return make_ticket(company, queue=sales)


def kinds(ticket):
    return list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))


def test_accepting_a_pending_ticket_assigns_it_and_pauses_the_ai(
    ticket, agent, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        result = actions.ticket_accept(ticket=ticket, actor=agent)
    assert result.status == TicketStatus.OPEN
    assert result.assignee == agent
    assert result.assigned_at is not None
    assert result.ai_paused
    assert kinds(ticket) == [TicketEventKind.ASSIGNED, TicketEventKind.AI_PAUSED]
    assert callbacks, "the realtime event is published after commit"


def test_a_second_accept_gets_a_conflict_naming_the_winner(company, ticket, agent, sales) -> None:
    colleague = make_member(company, "colega@azul.test")
    sales.members.add(colleague)
    actions.ticket_accept(ticket=ticket, actor=agent)
    with pytest.raises(actions.TicketConflict) as conflict:
        actions.ticket_accept(ticket=ticket, actor=colleague)
    assert agent.display_name in conflict.value.message
    assert conflict.value.ticket.assignee_id == agent.pk
    # Accepting again by the winner is harmless.
    assert actions.ticket_accept(ticket=ticket, actor=agent).assignee_id == agent.pk


def test_an_agent_cannot_act_on_a_ticket_outside_their_queues(company, agent) -> None:
    other_queue = make_queue(company, "Financeiro")
    theirs = make_ticket(company, queue=other_queue)
    with pytest.raises(PermissionDenied):
        actions.ticket_accept(ticket=theirs, actor=agent)
    with pytest.raises(PermissionDenied):
        actions.ticket_resolve(ticket=theirs, actor=agent)


def test_an_outsider_cannot_act_at_all(ticket, outsider) -> None:
    with pytest.raises(PermissionDenied):
        actions.ticket_accept(ticket=ticket, actor=outsider)


def test_only_supervisors_assign_to_someone_else(company, ticket, agent, supervisor) -> None:
    colleague = make_member(company, "colega@azul.test")
    with pytest.raises(PermissionDenied):
        actions.ticket_assign(ticket=ticket, assignee=colleague, actor=agent)
    result = actions.ticket_assign(
        ticket=ticket, assignee=colleague, actor=supervisor, note="cobre hoje"
    )
    assert result.assignee == colleague and result.status == TicketStatus.OPEN
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEventKind.ASSIGNED)
    assert (
        event.data["to"] == colleague.pk
        and event.note == "cobre hoje"
        and event.actor == supervisor
    )


def test_an_agent_may_give_back_their_own_ticket(
    ticket, agent, django_capture_on_commit_callbacks
) -> None:
    actions.ticket_accept(ticket=ticket, actor=agent)
    with django_capture_on_commit_callbacks() as callbacks:
        result = actions.ticket_assign(ticket=ticket, assignee=None, actor=agent)
    assert result.status == TicketStatus.PENDING and result.assignee is None
    assert TicketEventKind.UNASSIGNED in kinds(ticket)
    assert len(callbacks) == 1  # realtime; no routing task for a manual queue


def test_assigning_to_a_non_member_is_refused(ticket, supervisor, outsider) -> None:
    with pytest.raises(ValidationError):
        actions.ticket_assign(ticket=ticket, assignee=outsider, actor=supervisor)


def test_transfer_to_a_queue_puts_the_ticket_back_in_waiting_with_the_note(
    company, ticket, agent
) -> None:
    finance = make_queue(company, "Financeiro")
    actions.ticket_accept(ticket=ticket, actor=agent)
    result = actions.ticket_transfer(
        ticket=ticket, queue=finance, note="boleto vencido", actor=agent
    )
    assert result.queue == finance
    assert result.status == TicketStatus.PENDING and result.assignee is None
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEventKind.TRANSFERRED)
    assert event.note == "boleto vencido"
    assert event.data["from_queue"] == ticket.queue_id and event.data["to_queue"] == finance.pk
    assert event.data["from_queue_name"] == "Vendas" and event.data["to_queue_name"] == "Financeiro"
    assert event.data["from"] == agent.pk


def test_an_agent_transfers_only_to_a_member_of_the_target_queue(
    company, ticket, agent, supervisor
) -> None:
    finance = make_queue(company, "Financeiro")
    stranger = make_member(company, "stranger@azul.test")
    with pytest.raises(ValidationError):
        actions.ticket_transfer(ticket=ticket, queue=finance, assignee=stranger, actor=agent)
    finance.members.add(stranger)
    result = actions.ticket_transfer(ticket=ticket, queue=finance, assignee=stranger, actor=agent)
    assert result.assignee == stranger and result.status == TicketStatus.OPEN
    assert result.ai_paused


def test_a_transfer_to_where_the_ticket_already_is_is_refused(ticket, agent, sales) -> None:
    with pytest.raises(ValidationError):
        actions.ticket_transfer(ticket=ticket, queue=sales, actor=agent)
    with pytest.raises(ValidationError):
        actions.ticket_transfer(ticket=ticket, actor=agent)


def test_transfer_to_another_companys_queue_is_refused(ticket, supervisor, other_company) -> None:
    foreign = make_queue(other_company, "Deles")
    with pytest.raises(ValidationError):
        actions.ticket_transfer(ticket=ticket, queue=foreign, actor=supervisor)


def test_resolve_sets_resolved_at_resumes_the_ai_and_cannot_run_twice(ticket, agent) -> None:
    actions.ticket_accept(ticket=ticket, actor=agent)
    result = actions.ticket_resolve(ticket=ticket, actor=agent)
    assert result.status == TicketStatus.RESOLVED and result.resolved_at is not None
    assert not result.ai_paused
    assert kinds(ticket)[-2:] == [TicketEventKind.RESOLVED, TicketEventKind.AI_RESUMED]
    with pytest.raises(actions.TicketConflict):
        actions.ticket_resolve(ticket=ticket, actor=agent)


def test_reopen_restores_the_assignee_and_resets_the_response_clock(ticket, agent) -> None:
    actions.ticket_accept(ticket=ticket, actor=agent)
    resolved = actions.ticket_resolve(ticket=ticket, actor=agent)
    resolved.first_response_at = resolved.resolved_at
    resolved.save()
    result = actions.ticket_reopen(ticket=ticket, actor=agent, note="cliente voltou")
    assert result.status == TicketStatus.OPEN and result.assignee == agent
    assert result.reopen_count == 1 and result.reopened_at is not None
    assert result.resolved_at is None and result.first_response_at is None
    with pytest.raises(actions.TicketConflict):
        actions.ticket_reopen(ticket=ticket, actor=agent)


def test_reopen_is_refused_when_the_conversation_has_a_newer_active_ticket(
    company, ticket, agent, sales
) -> None:
    actions.ticket_resolve(ticket=ticket, actor=agent)
    newer = make_ticket(company, queue=sales)
    newer.conversation = ticket.conversation
    newer.save()
    with pytest.raises(actions.TicketConflict) as conflict:
        actions.ticket_reopen(ticket=ticket, actor=agent)
    assert f"#{newer.number}" in conflict.value.message


def test_priority_and_tags_are_recorded_with_before_and_after(ticket, agent) -> None:
    actions.ticket_set_priority(ticket=ticket, priority="urgent", actor=agent)
    result = actions.ticket_set_tags(
        ticket=ticket, tags=[" vip ", "VIP", "boleto", ""], actor=agent
    )
    assert result.priority == "urgent"
    assert result.tags == ["vip", "boleto"]
    tags_event = TicketEvent.objects.get(ticket=ticket, kind=TicketEventKind.TAGS_CHANGED)
    assert tags_event.data["added"] == ["vip", "boleto"]
    prio = TicketEvent.objects.get(ticket=ticket, kind=TicketEventKind.PRIORITY_CHANGED)
    assert prio.data == {"from": "medium", "to": "urgent"}
    with pytest.raises(ValidationError):
        actions.ticket_set_priority(ticket=ticket, priority="whenever", actor=agent)
    with pytest.raises(ValidationError):
        actions.ticket_set_tags(ticket=ticket, tags=["x" * 51], actor=agent)


def test_pause_and_resume_ai_are_idempotent(ticket, agent) -> None:
    actions.ticket_pause_ai(ticket=ticket, actor=agent)
    actions.ticket_pause_ai(ticket=ticket, actor=agent)
    actions.ticket_resume_ai(ticket=ticket, actor=agent)
    actions.ticket_resume_ai(ticket=ticket, actor=agent)
    assert kinds(ticket) == [TicketEventKind.AI_PAUSED, TicketEventKind.AI_RESUMED]


def test_a_superuser_acts_as_an_admin(ticket, superuser) -> None:
    assert actions.ticket_accept(ticket=ticket, actor=superuser).assignee == superuser


def test_the_system_can_pause_and_transfer_without_an_actor(company, ticket, sales) -> None:
    finance = make_queue(company, "Financeiro")
    actions.ticket_pause_ai(ticket=ticket, actor=None)
    moved = actions.ticket_transfer(ticket=ticket, queue=finance, note="pediu boleto", actor=None)
    assert moved.queue == finance and moved.status == TicketStatus.PENDING
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEventKind.TRANSFERRED)
    assert event.actor is None and event.actor_label == "system"
    # Asking again for where it already waits is a no-op for the system, not an error.
    assert actions.ticket_transfer(ticket=ticket, queue=finance, actor=None).queue == finance
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.TRANSFERRED).count() == 1
