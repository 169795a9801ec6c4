"""The staff inbox and the ticket page (server-rendered; static/js/inbox.js and ticket.js
apply websocket events without reload). Views stay thin: parse, check, call one service
or selector, render."""

from __future__ import annotations

from dataclasses import replace
from itertools import chain
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Left
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from atende.params import id_list, id_param
from conversations import realtime
from conversations.models import Message
from integrations.models import Integration
from tenants import services as tenant_services
from tenants.access import company_view

from . import selectors
from .models import Priority, Queue, TicketStatus
from .services.reading import ticket_mark_read

INBOX_LIMIT = 100
# Lazy: built at import time, shown in each viewer's language.
TABS = (
    ("pending", gettext_lazy("Waiting")),
    ("open", gettext_lazy("Open")),
    ("mine", gettext_lazy("Mine")),
    ("resolved", gettext_lazy("Resolved")),
)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("accept", "")


# --- inbox -----------------------------------------------------------------------------


@company_view()
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    company = request.company  # type: ignore[attr-defined]
    # Read the sequence before the rows: an event published in between is replayed to the
    # page's socket (since=seq) rather than lost.
    seq = realtime.current_seq(company.pk)
    filters = selectors.inbox_filters_from(request.GET)
    if filters.status not in {tab for tab, _label in TABS}:
        filters = replace(filters, status="pending")
    preview = Message.objects.filter(
        company_id=company.pk, ticket_id=OuterRef("pk"), is_private=False
    ).order_by("-created_at", "-id")
    tickets = selectors.inbox_tickets(membership, filters).annotate(
        preview=Left(Subquery(preview.values("content")[:1]), realtime.PREVIEW_CHARS)
    )[:INBOX_LIMIT]
    rows = []
    for ticket in tickets:
        row = realtime.ticket_row(ticket)
        row["preview"] = ticket.preview or ""
        # Labels in the viewer's language; websocket payloads keep the raw values and
        # static/js/inbox.js maps them through the row's data-label-* attributes.
        row["status_label"] = ticket.get_status_display()
        row["priority_label"] = ticket.get_priority_display()
        row["channel_label"] = ticket.conversation.integration.get_kind_display()
        rows.append(row)
    queues = selectors.member_queues(membership)
    counts = realtime.member_counts(membership)
    return render(
        request,
        "tickets/inbox.html",
        {
            "rows": rows,
            "filters": filters,
            "tabs": TABS,
            "queues": queues,
            "agents": selectors.transfer_targets(membership) if membership.is_supervisor else [],
            "channels": sorted(
                set(Integration.objects.for_company(company).values_list("kind", flat=True))
            ),
            "counts": counts,
            "seq": seq,
            "limit": INBOX_LIMIT,
        },
    )


@company_view()
@require_POST
def sound_toggle(request: HttpRequest) -> HttpResponse:
    enabled = request.POST.get("enabled", "") in {"1", "true", "on"}
    tenant_services.user_set_sound(user=request.user, enabled=enabled)  # type: ignore[arg-type]
    if _wants_json(request):
        return JsonResponse({"sound": enabled})
    return redirect("tickets:inbox", company_slug=request.company.slug)  # type: ignore[attr-defined]


# --- ticket page -----------------------------------------------------------------------


def _thread(ticket: Any, *, after_message: int = 0, after_event: int = 0) -> list[dict[str, Any]]:
    """Messages and timeline events of the ticket, interleaved by time."""
    msgs = selectors.ticket_messages(ticket).filter(id__gt=after_message)
    events = selectors.ticket_timeline(ticket).filter(id__gt=after_event)
    customer = str(ticket.contact)
    items = chain(
        (
            {
                "kind": "message",
                "at": m.created_at,
                "obj": m,
                "key": f"m{m.pk}",
                "customer": customer,
            }
            for m in msgs
        ),
        ({"kind": "event", "at": e.created_at, "obj": e, "key": f"e{e.pk}"} for e in events),
    )
    return sorted(items, key=lambda item: (item["at"], item["key"]))


def _page_context(request: HttpRequest, ticket: Any) -> dict[str, Any]:
    membership = request.membership  # type: ignore[attr-defined]
    return {
        "ticket": ticket,
        "row": realtime.ticket_row(ticket),
        "membership": membership,
        "is_mine": ticket.assignee_id == request.user.pk,
        "is_active": ticket.status in (TicketStatus.PENDING, TicketStatus.OPEN),
        "queues": Queue.objects.for_company(ticket.company_id).order_by("order", "name"),
        "members": selectors.transfer_targets(membership),
        "priorities": Priority.choices,
        "quick_replies_url": reverse(
            "tickets:quick-reply-search",
            args=[request.company.slug],  # type: ignore[attr-defined]
        ),
    }


@company_view()
@require_GET
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    seq = realtime.current_seq(membership.company_id)
    ticket = selectors.ticket_for_member(membership, number)
    items = _thread(ticket)
    context = _page_context(request, ticket)
    context.update(
        {
            "items": items,
            "seq": seq,
            "last_message": max((i["obj"].pk for i in items if i["kind"] == "message"), default=0),
            "last_event": max((i["obj"].pk for i in items if i["kind"] == "event"), default=0),
        }
    )
    return render(request, "tickets/ticket.html", context)


@company_view()
@require_GET
def ticket_items(request: HttpRequest, number: int) -> HttpResponse:
    """New thread items after the page's cursors, re-rendered messages and the side panel:
    what the ticket page fetches when an event about its ticket arrives."""
    membership = request.membership  # type: ignore[attr-defined]
    ticket = selectors.ticket_for_member(membership, number)

    def _int(name: str) -> int:
        raw = request.GET.get(name, "")
        return id_param(raw) or 0

    items = _thread(ticket, after_message=_int("after_m"), after_event=_int("after_e"))
    refresh_ids = id_list(request.GET.get("refresh"), 50)
    refreshed = selectors.ticket_messages(ticket).filter(id__in=refresh_ids)
    context = _page_context(request, ticket)
    return JsonResponse(
        {
            "items": [
                {
                    "key": item["key"],
                    "html": render_to_string("tickets/_item.html", {"item": item}, request),
                }
                for item in items
            ],
            "refreshed": {
                str(m.pk): render_to_string(
                    "tickets/_item.html",
                    {
                        "item": {
                            "kind": "message",
                            "obj": m,
                            "key": f"m{m.pk}",
                            "customer": str(ticket.contact),
                        }
                    },
                    request,
                )
                for m in refreshed
            },
            "panel": render_to_string("tickets/_panel.html", context, request),
            "status": ticket.status,
        }
    )


@company_view()
@require_POST
def ticket_read(request: HttpRequest, number: int) -> HttpResponse:
    ticket = selectors.ticket_for_member(request.membership, number)  # type: ignore[attr-defined]
    changed = ticket_mark_read(ticket=ticket, actor=request.user)
    return JsonResponse({"changed": changed})


@company_view()
@require_POST
def ticket_reply(request: HttpRequest, number: int) -> HttpResponse:
    """Send a reply through the ticket's integration, or add a private note."""
    from conversations.services.outbound import message_send, note_add

    ticket = selectors.ticket_for_member(request.membership, number)  # type: ignore[attr-defined]
    content = request.POST.get("content", "")
    try:
        if request.POST.get("mode") == "note":
            message = note_add(ticket=ticket, content=content, actor=request.user)
        else:
            message = message_send(ticket=ticket, content=content, actor=request.user)
    except ValidationError as exc:
        error = " ".join(exc.messages)
        if _wants_json(request):
            return JsonResponse({"error": error}, status=400)
        messages.error(request, error)
    else:
        if _wants_json(request):
            html = render_to_string(
                "tickets/_item.html",
                {
                    "item": {
                        "kind": "message",
                        "obj": message,
                        "key": f"m{message.pk}",
                        "customer": "",
                    }
                },
                request,
            )
            return JsonResponse({"id": message.pk, "key": f"m{message.pk}", "html": html})
    return redirect("tickets:detail", company_slug=ticket.company.slug, number=ticket.number)


def _user_in_company(membership: Any, raw: str) -> Any:
    user_id = id_param(raw)
    if user_id is None:
        raise ValidationError(_("Choose a person."))
    target = selectors.transfer_targets(membership).filter(user_id=user_id).first()
    if target is None:
        raise ValidationError(_("This person is not an active member of the company."))
    return target.user


def _queue_in_company(membership: Any, raw: str) -> Queue | None:
    if not raw:
        return None
    queue = Queue.objects.for_company(membership.company_id).filter(pk=id_param(raw) or 0).first()
    if queue is None:
        raise ValidationError(_("Unknown queue."))
    return queue


def _run_action(request: HttpRequest, ticket: Any, action: str) -> str:
    """Call the workflow service for ``action``; returns the success message."""
    from .services import actions

    membership = request.membership  # type: ignore[attr-defined]
    data, user = request.POST, request.user
    note = data.get("note", "")
    if action == "accept":
        actions.ticket_accept(ticket=ticket, actor=user)
        return _("You took ticket #%(n)s.")
    if action == "assign":
        assignee = _user_in_company(membership, data.get("assignee", ""))
        actions.ticket_assign(ticket=ticket, assignee=assignee, actor=user, note=note)
        return _("Ticket #%(n)s assigned.")
    if action == "transfer":
        queue = _queue_in_company(membership, data.get("queue", ""))
        raw_assignee = data.get("assignee", "")
        assignee = _user_in_company(membership, raw_assignee) if raw_assignee else None
        actions.ticket_transfer(
            ticket=ticket, queue=queue, assignee=assignee, note=note, actor=user
        )
        return _("Ticket #%(n)s transferred.")
    if action == "resolve":
        actions.ticket_resolve(ticket=ticket, actor=user, note=note)
        return _("Ticket #%(n)s resolved.")
    if action == "reopen":
        actions.ticket_reopen(ticket=ticket, actor=user, note=note)
        return _("Ticket #%(n)s reopened.")
    if action == "priority":
        actions.ticket_set_priority(ticket=ticket, priority=data.get("priority", ""), actor=user)
        return _("Priority changed.")
    if action == "tags":
        tags = [t.strip() for t in data.get("tags", "").split(",") if t.strip()]
        actions.ticket_set_tags(ticket=ticket, tags=tags, actor=user)
        return _("Tags saved.")
    if action == "pause_ai":
        actions.ticket_pause_ai(ticket=ticket, actor=user)
        return _("AI attendant paused for this ticket.")
    if action == "resume_ai":
        actions.ticket_resume_ai(ticket=ticket, actor=user)
        return _("AI attendant resumed for this ticket.")
    raise ValidationError(_("Unknown action."))


@company_view()
@require_POST
def ticket_action(request: HttpRequest, number: int) -> HttpResponse:
    from .services.actions import TicketConflict

    membership = request.membership  # type: ignore[attr-defined]
    ticket = selectors.ticket_for_member(membership, number)
    slug = request.company.slug  # type: ignore[attr-defined]
    try:
        done = _run_action(request, ticket, request.POST.get("action", ""))
    except TicketConflict as conflict:
        # Someone acted first: say what happened; the page shows the winner's result.
        messages.error(request, conflict.message)
    except PermissionDenied as denied:
        messages.error(request, str(denied) or _("Your role does not allow this."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done % {"n": ticket.number})
        try:
            selectors.ticket_for_member(membership, number)
        except Http404:
            # Transferred out of this member's sight: back to the inbox.
            return redirect("tickets:inbox", company_slug=slug)
    return redirect(reverse("tickets:detail", args=[slug, ticket.number]))


@company_view()
@require_GET
def quick_replies(request: HttpRequest) -> HttpResponse:
    """Quick replies whose shortcut starts with ``q`` (the composer's "/shortcut")."""
    from .services.quick_replies import quick_replies_for

    membership = request.membership  # type: ignore[attr-defined]
    prefix = request.GET.get("q", "").lstrip("/").strip()[:50]
    found = quick_replies_for(membership, prefix=prefix)[:10]
    return JsonResponse(
        {"results": [{"shortcut": q.shortcut, "content": q.content} for q in found]}
    )
