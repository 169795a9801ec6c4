"""Staff actions on a ticket: accept, assign, transfer, resolve, reopen, priority, tags, AI.

Every action has the shape ``ticket_<verb>(*, ticket, ..., actor)`` and:

1. runs in one short transaction and takes the ticket's row lock first
   (``select_for_update``), then re-reads and re-checks the state it depends on. Two
   agents accepting the same ticket at once therefore serialise on the lock: the first
   wins, the second finds the ticket taken and gets ``TicketConflict`` whose ``ticket``
   is the winner's result (so the UI shows who has it);
2. checks the actor's permission (``actor=None`` means the system: routing, give-back);
3. writes a ``TicketEvent`` and publishes ``realtime.ticket_changed`` (after commit);
4. returns the updated ticket.

Permission rules: agents may act on tickets they can see (their queues' and their own):
accept, resolve, reopen, transfer (to a queue, or to a member of the target queue),
priority, tags, AI pause/resume. Only supervisors and admins assign a ticket to somebody
else (``ticket_assign``); an agent may only assign to themselves (= accept) or unassign a
ticket of their own (= give it back to the queue).

A staff member taking a ticket (accept, assign, transfer to an agent) pauses the AI
attendant for it; a staff reply does too (the message_stored hook in tickets.apps).
Resolving resumes it, so the next conversation starts with the AI again. Assignments made
by the routing (``actor=None``) leave the AI alone: the agent's first reply pauses it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations import realtime
from tenants.models import Membership, Role

from ..models import (
    ACTIVE_STATUSES,
    Priority,
    Queue,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketStatus,
)
from ..selectors import can_see_ticket

MAX_TAGS = 20
MAX_TAG_LENGTH = 50


class TicketConflict(Exception):
    """The ticket changed under the actor (someone else acted first). ``ticket`` is its
    current state; ``message`` is translated and safe to show."""

    def __init__(self, message: str, ticket: Ticket) -> None:
        super().__init__(message)
        self.message = message
        self.ticket = ticket


class TicketActionDenied(PermissionDenied):
    """The actor's role or visibility does not allow the action."""


# --- helpers ------------------------------------------------------------------------


def actor_membership(company_id: int, actor: Any) -> Membership | None:
    """The actor's active membership (superusers act as admins); None for the system."""
    if actor is None:
        return None
    if getattr(actor, "is_superuser", False):
        return Membership(company_id=company_id, user=actor, role=Role.ADMIN, is_active=True)
    membership = (
        Membership.objects.filter(company_id=company_id, user=actor, is_active=True)
        .select_related("user")
        .first()
    )
    if membership is None:
        raise TicketActionDenied(_("You are not a member of this company."))
    return membership


def _lock(ticket: Ticket) -> Ticket:
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("queue", "assignee")
        .get(pk=ticket.pk, company_id=ticket.company_id)
    )


def _require_visible(membership: Membership | None, ticket: Ticket) -> None:
    if membership is not None and not can_see_ticket(membership, ticket):
        raise TicketActionDenied(_("You cannot act on this ticket."))


def _event(
    ticket: Ticket, kind: str, actor: Any, *, note: str = "", label: str = "", **data: Any
) -> TicketEvent:
    return TicketEvent.objects.create(
        company_id=ticket.company_id,
        ticket=ticket,
        kind=kind,
        actor=actor,
        actor_label=label or ("" if actor is not None else "system"),
        note=note,
        data=data,
    )


def _from(previous: Any) -> dict[str, Any]:
    """Who had the ticket before (``from`` is a keyword, hence the dict)."""
    return {
        "from": previous.pk if previous else None,
        "from_name": _who(previous) if previous else "",
    }


def _change(before: Any, after: Any) -> dict[str, Any]:
    return {"from": before, "to": after}


def _who(user: Any) -> str:
    return user.display_name if user is not None else _("nobody")


def _active_member(company_id: int, user: Any) -> Membership:
    membership = (
        Membership.objects.filter(company_id=company_id, user=user, is_active=True)
        .select_related("user")
        .first()
    )
    if membership is None or not membership.user.is_active:
        raise ValidationError(
            {"assignee": _("This person is not an active member of the company.")}
        )
    return membership


def _publish(ticket: Ticket, event: str, **data: Any) -> None:
    realtime.ticket_changed(
        ticket,
        event,
        status=ticket.status,
        queue=ticket.queue_id,
        assignee=ticket.assignee_id,
        **data,
    )


def _pause_ai_locked(ticket: Ticket, actor: Any, *, reason: str) -> bool:
    if ticket.ai_paused:
        return False
    ticket.ai_paused = True
    ticket.save(update_fields=["ai_paused", "updated_at"])
    _event(ticket, TicketEventKind.AI_PAUSED, actor, reason=reason)
    return True


def _resume_ai_locked(ticket: Ticket, actor: Any, *, reason: str) -> bool:
    if not ticket.ai_paused:
        return False
    ticket.ai_paused = False
    ticket.save(update_fields=["ai_paused", "updated_at"])
    _event(ticket, TicketEventKind.AI_RESUMED, actor, reason=reason)
    return True


def _set_assignee_locked(ticket: Ticket, assignee: Any, *, now: Any) -> None:
    ticket.assignee = assignee
    ticket.status = TicketStatus.OPEN
    ticket.assigned_at = now
    ticket.save(update_fields=["assignee", "status", "assigned_at", "updated_at"])


def _route_later(ticket: Ticket) -> None:
    from .routing import schedule_route

    schedule_route(ticket)


# --- actions ------------------------------------------------------------------------


@transaction.atomic
def ticket_accept(*, ticket: Ticket, actor: Any) -> Ticket:
    """The actor takes a pending ticket ("assign to me"). Exactly one of several
    concurrent accepts wins; the others get ``TicketConflict`` with the winner's ticket."""
    membership = actor_membership(ticket.company_id, actor)
    locked = _lock(ticket)
    _require_visible(membership, locked)
    if locked.assignee_id == actor.pk and locked.status == TicketStatus.OPEN:
        return locked  # accepting twice is a no-op
    if locked.status not in ACTIVE_STATUSES:
        raise TicketConflict(
            _("Ticket #%(number)s is already %(status)s.")
            % {"number": locked.number, "status": locked.get_status_display().lower()},
            locked,
        )
    if locked.assignee_id is not None:
        raise TicketConflict(
            _("Ticket #%(number)s was already taken by %(name)s.")
            % {"number": locked.number, "name": _who(locked.assignee)},
            locked,
        )
    now = timezone.now()
    _set_assignee_locked(locked, actor, now=now)
    _event(locked, TicketEventKind.ASSIGNED, actor, to=actor.pk, to_name=_who(actor), accepted=True)
    _pause_ai_locked(locked, actor, reason="assigned")
    _publish(locked, "ticket.assigned", previous_assignee=None)
    return locked


@transaction.atomic
def ticket_assign(*, ticket: Ticket, assignee: Any, actor: Any, note: str = "") -> Ticket:
    """Give the ticket to ``assignee`` (None: unassign, back to pending in its queue).

    Supervisors/admins (and the system) assign anyone active in the company; agents may
    only assign to themselves or unassign their own ticket."""
    membership = actor_membership(ticket.company_id, actor)
    locked = _lock(ticket)
    _require_visible(membership, locked)
    if locked.status not in ACTIVE_STATUSES:
        raise TicketConflict(
            _("Ticket #%(number)s is %(status)s: reopen it first.")
            % {"number": locked.number, "status": locked.get_status_display().lower()},
            locked,
        )
    if membership is not None and not membership.is_supervisor:
        own = assignee is not None and assignee.pk == actor.pk
        giving_back = assignee is None and locked.assignee_id == actor.pk
        if not (own or giving_back):
            raise TicketActionDenied(_("Only supervisors and admins assign tickets to others."))
    previous = locked.assignee
    if (assignee.pk if assignee else None) == locked.assignee_id:
        return locked
    now = timezone.now()
    if assignee is None:
        locked.assignee = None
        locked.status = TicketStatus.PENDING
        locked.queued_at = now
        locked.save(update_fields=["assignee", "status", "queued_at", "updated_at"])
        _event(
            locked,
            TicketEventKind.UNASSIGNED,
            actor,
            note=note,
            **_from(previous),
        )
        _publish(locked, "ticket.assigned", previous_assignee=previous.pk if previous else None)
        _route_later(locked)
        return locked
    _active_member(locked.company_id, assignee)
    _set_assignee_locked(locked, assignee, now=now)
    _event(
        locked,
        TicketEventKind.ASSIGNED,
        actor,
        note=note,
        to=assignee.pk,
        to_name=_who(assignee),
        **_from(previous),
    )
    if actor is not None:
        _pause_ai_locked(locked, actor, reason="assigned")
    _publish(locked, "ticket.assigned", previous_assignee=previous.pk if previous else None)
    return locked


@transaction.atomic
def ticket_transfer(
    *, ticket: Ticket, actor: Any, queue: Queue | None = None, assignee: Any = None, note: str = ""
) -> Ticket:
    """Move the ticket to another queue and/or person, with an optional note.

    - queue only: the ticket waits (pending, unassigned) in the new queue and is routed;
    - assignee (with or without a queue): the ticket is open with that person.
    Agents may transfer tickets they see; a person they transfer to must be a member of
    the target queue (supervisors/admins may pick anyone active)."""
    if queue is None and assignee is None:
        raise ValidationError(_("Choose a queue or a person to transfer to."))
    membership = actor_membership(ticket.company_id, actor)
    locked = _lock(ticket)
    _require_visible(membership, locked)
    if locked.status not in ACTIVE_STATUSES:
        raise TicketConflict(
            _("Ticket #%(number)s is %(status)s: reopen it first.")
            % {"number": locked.number, "status": locked.get_status_display().lower()},
            locked,
        )
    if queue is not None and queue.company_id != locked.company_id:
        raise ValidationError({"queue": _("Unknown queue.")})
    target_queue = queue if queue is not None else locked.queue
    if assignee is not None:
        _active_member(locked.company_id, assignee)
        if membership is not None and not membership.is_supervisor:
            in_queue = (
                target_queue is not None and target_queue.members.filter(pk=assignee.pk).exists()
            )
            if not in_queue and assignee.pk != actor.pk:
                raise ValidationError(
                    {"assignee": _("This person is not a member of the target queue.")}
                )
    same_queue = (target_queue.pk if target_queue else None) == locked.queue_id
    if actor is None and same_queue and assignee is None and locked.status == TicketStatus.PENDING:
        return locked  # the system (AI hand-off) asking for where the ticket already waits
    if same_queue and (assignee.pk if assignee else None) == locked.assignee_id:
        raise ValidationError(_("The ticket is already there."))
    if same_queue and assignee is None and locked.status == TicketStatus.PENDING:
        raise ValidationError(_("The ticket is already waiting in this queue."))
    previous_queue_id, previous = locked.queue_id, locked.assignee
    now = timezone.now()
    locked.queue = target_queue
    if not same_queue:
        locked.queued_at = now
    if assignee is not None:
        locked.assignee = assignee
        locked.status = TicketStatus.OPEN
        locked.assigned_at = now
    else:
        locked.assignee = None
        locked.status = TicketStatus.PENDING
        locked.queued_at = now
    locked.save(
        update_fields=["queue", "queued_at", "assignee", "status", "assigned_at", "updated_at"]
    )
    _event(
        locked,
        TicketEventKind.TRANSFERRED,
        actor,
        note=note.strip(),
        from_queue=previous_queue_id,
        from_queue_name=(
            previous_queue_id
            and Queue.objects.filter(pk=previous_queue_id).values_list("name", flat=True).first()
        )
        or "",
        to_queue=locked.queue_id,
        to_queue_name=locked.queue.name if locked.queue else "",
        **_from(previous),
        to=assignee.pk if assignee else None,
        to_name=_who(assignee) if assignee else "",
    )
    if assignee is not None and actor is not None:
        _pause_ai_locked(locked, actor, reason="transferred")
    _publish(
        locked,
        "ticket.transferred",
        previous_queue=previous_queue_id,
        previous_assignee=previous.pk if previous else None,
    )
    if assignee is None:
        _route_later(locked)
    return locked


@transaction.atomic
def ticket_resolve(*, ticket: Ticket, actor: Any, note: str = "") -> Ticket:
    """Close the work on the ticket. The AI attendant is resumed for what comes next."""
    membership = actor_membership(ticket.company_id, actor)
    locked = _lock(ticket)
    _require_visible(membership, locked)
    if locked.status not in ACTIVE_STATUSES:
        raise TicketConflict(
            _("Ticket #%(number)s is already %(status)s.")
            % {"number": locked.number, "status": locked.get_status_display().lower()},
            locked,
        )
    previous = locked.status
    locked.status = TicketStatus.RESOLVED
    locked.resolved_at = timezone.now()
    locked.waiting_since = None
    locked.unread_count = 0
    locked.save(
        update_fields=["status", "resolved_at", "waiting_since", "unread_count", "updated_at"]
    )
    _event(locked, TicketEventKind.RESOLVED, actor, note=note.strip(), previous=previous)
    _resume_ai_locked(locked, actor, reason="resolved")
    _publish(locked, "ticket.status", previous_status=previous)
    if locked.queue_id:
        # Capacity freed: waiting tickets of the queue may now go to this agent.
        from .routing import schedule_route_queue

        schedule_route_queue(locked.company_id, locked.queue_id)
    return locked


@transaction.atomic
def ticket_reopen(*, ticket: Ticket, actor: Any, note: str = "") -> Ticket:
    """Reopen a resolved/closed ticket. It goes back to its assignee when they are still
    an active member, else it waits in its queue. The company's reopen window governs
    only automatic reopening by customer messages (tickets.services.lifecycle); staff
    may reopen any ticket, unless the conversation already has a newer active ticket."""
    membership = actor_membership(ticket.company_id, actor)
    locked = _lock(ticket)
    _require_visible(membership, locked)
    if locked.status in ACTIVE_STATUSES:
        raise TicketConflict(
            _("Ticket #%(number)s is already %(status)s.")
            % {"number": locked.number, "status": locked.get_status_display().lower()},
            locked,
        )
    other = (
        Ticket.objects.filter(conversation_id=locked.conversation_id, status__in=ACTIVE_STATUSES)
        .exclude(pk=locked.pk)
        .first()
    )
    if other is not None:
        raise TicketConflict(
            _("This conversation continues in ticket #%(number)s.") % {"number": other.number},
            locked,
        )
    previous = locked.status
    now = timezone.now()
    keep = (
        locked.assignee is not None
        and Membership.objects.filter(
            company_id=locked.company_id, user=locked.assignee, is_active=True
        ).exists()
    )
    if not keep:
        locked.assignee = None
    locked.status = TicketStatus.OPEN if keep else TicketStatus.PENDING
    if not keep:
        locked.queued_at = now
    locked.reopened_at = now
    locked.reopen_count += 1
    locked.resolved_at = None
    locked.closed_at = None
    # Response-time metrics restart on reopen (DESIGN.md).
    locked.first_response_at = None
    try:
        with transaction.atomic():
            locked.save(
                update_fields=[
                    "assignee",
                    "status",
                    "queued_at",
                    "reopened_at",
                    "reopen_count",
                    "resolved_at",
                    "closed_at",
                    "first_response_at",
                    "updated_at",
                ]
            )
    except IntegrityError:
        # A customer message opened a new ticket between our check and the save.
        raise TicketConflict(_("This conversation already has an active ticket."), locked) from None
    _event(locked, TicketEventKind.REOPENED, actor, note=note.strip(), previous=previous)
    _publish(locked, "ticket.status", previous_status=previous)
    if not keep:
        _route_later(locked)
    return locked


@transaction.atomic
def ticket_set_priority(*, ticket: Ticket, priority: str, actor: Any) -> Ticket:
    if priority not in Priority.values:
        raise ValidationError({"priority": _("Unknown priority.")})
    membership = actor_membership(ticket.company_id, actor)
    locked = _lock(ticket)
    _require_visible(membership, locked)
    if locked.priority == priority:
        return locked
    previous = locked.priority
    locked.priority = priority
    locked.save(update_fields=["priority", "updated_at"])
    change: dict[str, Any] = {"from": previous, "to": priority}
    _event(locked, TicketEventKind.PRIORITY_CHANGED, actor, **change)
    _publish(locked, "ticket.updated", priority=priority)
    return locked


def clean_tags(tags: Any) -> list[str]:
    """Trimmed, de-duplicated (case-insensitively, first spelling kept), bounded."""
    if isinstance(tags, str):
        tags = tags.split(",")
    if not isinstance(tags, list | tuple):
        raise ValidationError({"tags": _("Tags must be a list of words.")})
    out: list[str] = []
    seen: set[str] = set()
    for raw in tags:
        tag = " ".join(str(raw).split())
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise ValidationError(
                {"tags": _("A tag has at most %(n)d characters.") % {"n": MAX_TAG_LENGTH}}
            )
        if tag.lower() not in seen:
            seen.add(tag.lower())
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise ValidationError({"tags": _("At most %(n)d tags.") % {"n": MAX_TAGS}})
    return out


@transaction.atomic
def ticket_set_tags(*, ticket: Ticket, tags: Any, actor: Any) -> Ticket:
    new = clean_tags(tags)
    membership = actor_membership(ticket.company_id, actor)
    locked = _lock(ticket)
    _require_visible(membership, locked)
    previous = list(locked.tags or [])
    if previous == new:
        return locked
    locked.tags = new
    locked.save(update_fields=["tags", "updated_at"])
    _event(
        locked,
        TicketEventKind.TAGS_CHANGED,
        actor,
        **_change(previous, new),
        added=[t for t in new if t not in previous],
        removed=[t for t in previous if t not in new],
    )
    _publish(locked, "ticket.updated", tags=new)
    return locked


@transaction.atomic
def ticket_pause_ai(*, ticket: Ticket, actor: Any, reason: str = "manual") -> Ticket:
    """Stop the AI attendant answering on this ticket (idempotent: no event when paused)."""
    membership = actor_membership(ticket.company_id, actor)
    locked = _lock(ticket)
    _require_visible(membership, locked)
    if _pause_ai_locked(locked, actor, reason=reason):
        _publish(locked, "ticket.updated", ai_paused=True)
    return locked


@transaction.atomic
def ticket_resume_ai(*, ticket: Ticket, actor: Any, reason: str = "manual") -> Ticket:
    """Let the AI attendant answer again (idempotent)."""
    membership = actor_membership(ticket.company_id, actor)
    locked = _lock(ticket)
    _require_visible(membership, locked)
    if _resume_ai_locked(locked, actor, reason=reason):
        _publish(locked, "ticket.updated", ai_paused=False)
    return locked


@transaction.atomic
def ticket_give_back(*, ticket: Ticket, reason: str = "offline") -> Ticket | None:
    """System action: the assignee went offline without answering; the ticket goes back
    to pending in its queue and is routed again. Returns None when the state changed
    meanwhile (answered, resolved, reassigned...)."""
    from .routing import assignee_has_replied

    locked = _lock(ticket)
    if locked.status != TicketStatus.OPEN or locked.assignee_id is None:
        return None
    if ticket.assignee_id is not None and locked.assignee_id != ticket.assignee_id:
        return None
    if assignee_has_replied(locked):
        return None
    previous = locked.assignee
    locked.assignee = None
    locked.status = TicketStatus.PENDING
    locked.queued_at = timezone.now()
    locked.save(update_fields=["assignee", "status", "queued_at", "updated_at"])
    _event(
        locked,
        TicketEventKind.UNASSIGNED,
        None,
        label="system",
        reason=reason,
        **_from(previous),
    )
    _publish(locked, "ticket.assigned", previous_assignee=previous.pk if previous else None)
    _route_later(locked)
    return locked
