"""Plain staff pages: the conversation list and one conversation's thread with reply and
note forms (the live inbox is separate)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from conversations import selectors
from conversations.forms import NoteForm, ReplyForm
from conversations.models import Conversation
from conversations.services.outbound import message_retry, message_send, note_add
from integrations.models import IntegrationKind
from tenants.access import company_view
from tickets.models import TicketStatus

THREAD_SIZE = 200


def _conversation(request: HttpRequest, conversation_id: int) -> Conversation:
    conversation = (
        selectors.visible_conversations(request.membership)  # type: ignore[attr-defined]
        .select_related("contact", "integration")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise Http404
    return conversation


@company_view()
def conversation_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    search = request.GET.get("q", "").strip()[:100]
    conversations = selectors.conversation_list(
        request.membership,  # type: ignore[attr-defined]
        status=status if status in [*TicketStatus.values, "none"] else "",
        kind=kind if kind in IntegrationKind.values else "",
        search=search,
    )
    page = Paginator(conversations, 50).get_page(request.GET.get("page"))
    labels = dict(TicketStatus.choices)
    for conversation in page:
        conversation.ticket_status_label = labels.get(conversation.ticket_status, "")  # type: ignore[attr-defined]
    return render(
        request,
        "conversations/list.html",
        {
            "page": page,
            "status": status,
            "kind": kind,
            "q": search,
            "statuses": TicketStatus.choices,
            "kinds": IntegrationKind.choices,
        },
    )


@company_view()
def conversation_detail(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    # The newest THREAD_SIZE messages, shown oldest first.
    thread = list(selectors.conversation_messages(conversation).order_by("-id")[:THREAD_SIZE])[::-1]
    return render(
        request,
        "conversations/detail.html",
        {
            "conversation": conversation,
            "thread": thread,
            "ticket": selectors.current_ticket(conversation),
            "reply_form": ReplyForm(),
            "note_form": NoteForm(),
        },
    )


def _post_to_ticket(request: HttpRequest, conversation_id: int, *, note: bool) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    form = (NoteForm if note else ReplyForm)(request.POST)
    ticket = selectors.current_ticket(conversation)
    back = redirect(
        "conversations:detail",
        company_slug=request.company.slug,  # type: ignore[attr-defined]
        conversation_id=conversation.pk,
    )
    if ticket is None:
        messages.error(request, _("This conversation has no ticket to reply on."))
        return back
    if not form.is_valid():
        messages.error(request, _("Write something first."))
        return back
    try:
        if note:
            note_add(ticket=ticket, content=form.cleaned_data["content"], actor=request.user)
        else:
            message_send(ticket=ticket, content=form.cleaned_data["content"], actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return back


@company_view()
@require_POST
def conversation_reply(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _post_to_ticket(request, conversation_id, note=False)


@company_view()
@require_POST
def conversation_note(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _post_to_ticket(request, conversation_id, note=True)


@company_view()
@require_POST
def message_retry_view(request: HttpRequest, message_id: int) -> HttpResponse:
    message = (
        selectors.visible_messages(request.membership)  # type: ignore[attr-defined]
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        raise Http404
    try:
        message_retry(message=message, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The message will be sent again."))
    return redirect(
        "conversations:detail",
        company_slug=request.company.slug,  # type: ignore[attr-defined]
        conversation_id=message.conversation_id,
    )
