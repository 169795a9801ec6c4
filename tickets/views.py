"""Staff pages of the ticket workflow: the web ticket form and "My tickets" (any member),
queues, business hours and quick replies (admins; quick replies: everyone their own).
Thin: parse, call one service, render. The live inbox and ticket page are in
tickets/inbox_views.py."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from atende.params import id_list, id_param
from tenants.access import company_view
from tenants.models import Role

from .forms import ChatForm, HoursForm, QueueForm, QuickReplyForm, WebTicketForm
from .models import Queue
from .services import queues as queue_services
from .services import quick_replies, webform


def _errors_to_form(form, exc: ValidationError) -> None:  # type: ignore[no-untyped-def]
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# --- web form & my tickets ----------------------------------------------------------


@company_view()
def web_new(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    form = WebTicketForm(request.POST or None, company=company)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            ticket = webform.web_ticket_open(
                company=company,
                actor=request.user,
                request=webform.WebRequest(
                    title=d["title"],
                    description=d["description"],
                    complexity=d["complexity"],
                    queue=d["queue"],
                    for_other=d["for_other"],
                    other_name=d["other_name"],
                    other_email=d["other_email"],
                    other_phone=d["other_phone"],
                ),
            )
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("Request #%(number)s opened.") % {"number": ticket.number})
            return redirect("tickets:my-ticket", company_slug=company.slug, number=ticket.number)
    return render(request, "tickets/web_new.html", {"form": form})


@company_view()
def my_tickets(request: HttpRequest) -> HttpResponse:
    """The requester's tickets. Live: the page follows the open ones on the requester
    socket and, when one changes, fetches its rows again as JSON (``rows``: the table's
    rows rendered by the server, ``follow``: the numbers to follow)."""
    company = request.company  # type: ignore[attr-defined]
    tickets = list(webform.requester_tickets(company, request.user)[:200])
    follow = webform.requester_list_numbers(tickets)
    context = {"tickets": tickets, "follow": follow, "company": company}
    if _wants_json(request):
        rows = render_to_string("tickets/_my_ticket_rows.html", context, request=request)
        return JsonResponse({"rows": rows, "follow": follow})
    return render(request, "tickets/my_tickets.html", context)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _form_error_text(form: ChatForm) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


@company_view()
def my_ticket(request: HttpRequest, number: int) -> HttpResponse:
    """The requester's page of a request. A POST writes in its chat: a plain form POST
    answers with a redirect; a fetch asking for JSON gets the rendered message (the page
    inserts it without reload) or a 400 with the error."""
    company = request.company  # type: ignore[attr-defined]
    ticket = webform.requester_ticket(company, request.user, number)
    # Bound on every POST, even an empty one: it must fail validation, not render a page.
    form = ChatForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            try:
                message = webform.web_message_post(
                    ticket=ticket, content=form.cleaned_data["content"], actor=request.user
                )
            except ValidationError as exc:
                _errors_to_form(form, exc)
            else:
                if _wants_json(request):
                    return JsonResponse(
                        {
                            "id": message.pk,
                            # A follow-up ticket when the request was closed for good.
                            "ticket": message.ticket.number,  # type: ignore[union-attr]
                            "html": render_to_string(
                                "tickets/_my_message.html", {"m": message}, request
                            ),
                        }
                    )
                return redirect(
                    "tickets:my-ticket", company_slug=company.slug, number=ticket.number
                )
        if _wants_json(request):
            return JsonResponse(
                {"error": _form_error_text(form), "errors": form.errors.get_json_data()},
                status=400,
            )
    thread = list(webform.requester_messages(ticket))
    return render(
        request,
        "tickets/my_ticket.html",
        {
            "ticket": ticket,
            "thread": thread,
            "form": form,
            "follow": webform.requester_thread_numbers(company, request.user, ticket),
            "last_message": max((m.pk for m in thread), default=0),
        },
    )


@company_view()
@require_GET
def my_ticket_thread(request: HttpRequest, number: int) -> HttpResponse:
    """What the requester's page fetches when an event about its request arrives and
    after a reconnection: the public messages after ``after`` (a message id), the messages
    of ``refresh`` re-rendered (or listed in ``gone`` when no longer shown) and the
    ticket's state. Same selectors as the page."""
    company = request.company  # type: ignore[attr-defined]
    ticket = webform.requester_ticket(company, request.user, number)
    after = id_param(request.GET.get("after")) or 0
    refresh = set(id_list(request.GET.get("refresh"), 50))
    visible = webform.requester_messages(ticket)
    new = list(visible.filter(id__gt=after))
    refreshed = list(visible.filter(id__in=refresh - {m.pk for m in new})) if refresh else []
    return JsonResponse(
        {
            "ticket": ticket.number,
            "status": ticket.status,
            "status_label": ticket.get_status_display(),
            "facts": render_to_string("tickets/_my_facts.html", {"ticket": ticket}, request),
            "follow": webform.requester_thread_numbers(company, request.user, ticket),
            "messages": [
                {
                    "id": m.pk,
                    "html": render_to_string("tickets/_my_message.html", {"m": m}, request),
                }
                for m in new
            ],
            "refreshed": {
                str(m.pk): render_to_string("tickets/_my_message.html", {"m": m}, request)
                for m in refreshed
            },
            "gone": sorted(refresh - {m.pk for m in [*new, *refreshed]}),
        }
    )


# --- queues & business hours (admins) ---------------------------------------------------


@company_view(role=Role.ADMIN)
def queues(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    rows = Queue.objects.for_company(company).prefetch_related("members").order_by("order", "name")
    return render(request, "tickets/queues.html", {"queues": rows})


@company_view(role=Role.ADMIN)
def queue_edit(request: HttpRequest, queue_id: int | None = None) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    queue = get_object_or_404(Queue.objects.for_company(company), pk=queue_id) if queue_id else None
    form = QueueForm(request.POST or None, instance=queue, company=company)
    hours = HoursForm(
        request.POST or None, prefix="hours", hours=queue.business_hours if queue else {}
    )
    if request.method == "POST" and form.is_valid() and hours.is_valid():
        values = {k: v for k, v in form.cleaned_data.items() if k != "members"}
        values["business_hours"] = hours.cleaned_data["hours"]
        member_ids = [u.pk for u in form.cleaned_data["members"]]
        try:
            if queue is None:
                queue = queue_services.queue_create(
                    company=company, actor=request.user, member_ids=member_ids, **values
                )
            else:
                queue = queue_services.queue_update(
                    queue=queue, actor=request.user, member_ids=member_ids, **values
                )
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("Queue saved."))
            return redirect("tickets:queues", company_slug=company.slug)
    return render(
        request, "tickets/queue_edit.html", {"form": form, "hours": hours, "queue": queue}
    )


@company_view(role=Role.ADMIN)
@require_POST
def queue_delete(request: HttpRequest, queue_id: int) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    queue = get_object_or_404(Queue.objects.for_company(company), pk=queue_id)
    queue_services.queue_delete(queue=queue, actor=request.user)
    messages.success(request, _("Queue deleted."))
    return redirect("tickets:queues", company_slug=company.slug)


@company_view(role=Role.ADMIN)
def company_hours(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    form = HoursForm(
        request.POST or None,
        hours=company.business_hours,
        initial={"out_of_hours_message": company.out_of_hours_message},
    )
    if request.method == "POST" and form.is_valid():
        queue_services.company_set_hours(
            company=company,
            actor=request.user,
            business_hours=form.cleaned_data["hours"],
            out_of_hours_message=form.cleaned_data["out_of_hours_message"],
        )
        messages.success(request, _("Business hours saved."))
        return redirect("tickets:company-hours", company_slug=company.slug)
    return render(request, "tickets/company_hours.html", {"form": form})


# --- quick replies ----------------------------------------------------------------------


@company_view()
def quick_reply_list(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    membership = request.membership  # type: ignore[attr-defined]
    form = QuickReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            quick_replies.quick_reply_create(
                membership=membership,
                shortcut=form.cleaned_data["shortcut"],
                content=form.cleaned_data["content"],
                personal=form.cleaned_data["personal"],
            )
        except PermissionDenied as exc:
            form.add_error("personal", str(exc))
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("Quick reply saved."))
            return redirect("tickets:quick-replies", company_slug=company.slug)
    replies = quick_replies.quick_replies_manageable(membership).order_by("shortcut", "owner_id")
    return render(request, "tickets/quick_replies.html", {"form": form, "replies": replies})


@company_view()
@require_POST
def quick_reply_delete(request: HttpRequest, reply_id: int) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    membership = request.membership  # type: ignore[attr-defined]
    reply = get_object_or_404(quick_replies.quick_replies_manageable(membership), pk=reply_id)
    quick_replies.quick_reply_delete(membership=membership, reply=reply)
    messages.success(request, _("Quick reply deleted."))
    return redirect("tickets:quick-replies", company_slug=company.slug)
