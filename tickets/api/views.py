"""Tickets REST API: thin views over tickets.selectors and tickets.services.

Every view resolves the company first (CompanyAPIMixin: 404 for outsiders on every
method), then the ticket through ``ticket_for_member`` (404 for a ticket the member may
not see), then calls one service. A lost race answers 409 with the ticket's current state.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from atende.params import id_param
from tenants.access import CompanyAPIMixin
from tenants.models import Role

from .. import selectors
from ..models import Queue, QuickReply, ScheduledMessage, ScheduledStatus, Ticket
from ..services import actions, queues, quick_replies, scheduled
from . import serializers as s

User = get_user_model()

INBOX_PARAMS = [
    OpenApiParameter("status", str, enum=list(selectors.STATUS_GROUPS)),
    OpenApiParameter("queue", int),
    OpenApiParameter("agent", int, description="Assignee user id."),
    OpenApiParameter("tag", str),
    OpenApiParameter("channel", str, description="Integration kind or integration id."),
    OpenApiParameter("q", str, description="Contact name, phone, e-mail, number or text."),
    OpenApiParameter("unread", bool),
]


class TicketListView(CompanyAPIMixin, generics.ListAPIView):
    """Tickets the member may see, filtered like the inbox, newest activity first."""

    serializer_class = s.TicketSerializer

    def get_queryset(self) -> Any:
        filters = selectors.inbox_filters_from(self.request.query_params)
        return selectors.inbox_tickets(self.membership, filters)

    @extend_schema(parameters=INBOX_PARAMS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class TicketCountsView(CompanyAPIMixin, generics.GenericAPIView):
    """Inbox counts for the member: pending, open, mine, unread, per queue."""

    serializer_class = s.CountsSerializer

    def get(self, request: Request, company_slug: str) -> Response:
        return Response(selectors.inbox_counts(self.membership))


class TicketDetailView(CompanyAPIMixin, generics.GenericAPIView):
    serializer_class = s.TicketSerializer

    def get(self, request: Request, company_slug: str, number: int) -> Response:
        ticket = selectors.ticket_for_member(self.membership, number)
        return Response(s.TicketSerializer(ticket).data)


class TicketTimelineView(CompanyAPIMixin, generics.GenericAPIView):
    """Messages and timeline events of the ticket, interleaved, oldest first."""

    serializer_class = s.TimelineItemSerializer

    @extend_schema(responses=s.TimelineItemSerializer(many=True))
    def get(self, request: Request, company_slug: str, number: int) -> Response:
        ticket = selectors.ticket_for_member(self.membership, number)
        items = selectors.ticket_timeline_items(ticket)
        return Response(s.TimelineItemSerializer(items, many=True).data)


def _member_user(company_id: int, user_id: int | None, field: str) -> Any:
    if user_id is None:
        return None
    user = User.objects.filter(
        pk=user_id, memberships__company_id=company_id, memberships__is_active=True
    ).first()
    if user is None:
        raise exceptions.ValidationError({field: ["Unknown member."]})
    return user


def _queue(company_id: int, queue_id: int | None) -> Queue | None:
    if queue_id is None:
        return None
    queue = Queue.objects.for_company(company_id).filter(pk=queue_id).first()
    if queue is None:
        raise exceptions.ValidationError({"queue": ["Unknown queue."]})
    return queue


class TicketActionView(CompanyAPIMixin, generics.GenericAPIView):
    """Base of the action endpoints: POST runs ``run`` on the visible ticket."""

    serializer_class: Any = s.NoteInput

    def run(self, ticket: Ticket, data: dict[str, Any]) -> Ticket:  # pragma: no cover
        raise NotImplementedError

    @extend_schema(responses={200: s.TicketSerializer, 409: s.ConflictSerializer})
    def post(self, request: Request, company_slug: str, number: int) -> Response:
        ticket = selectors.ticket_for_member(self.membership, number)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            ticket = self.run(ticket, serializer.validated_data)
        except actions.TicketConflict as conflict:
            current = Ticket.objects.select_related(
                "contact", "conversation__integration", "queue", "assignee", "requester"
            ).get(pk=conflict.ticket.pk)
            return Response(
                {
                    "detail": conflict.message,
                    "code": "conflict",
                    "ticket": s.TicketSerializer(current).data,
                },
                status=status.HTTP_409_CONFLICT,
            )
        ticket = Ticket.objects.select_related(
            "contact", "conversation__integration", "queue", "assignee", "requester"
        ).get(pk=ticket.pk)
        return Response(s.TicketSerializer(ticket).data)


class AcceptView(TicketActionView):
    """Take the ticket ("assign to me"). 409 when someone else took it first."""

    def run(self, ticket: Ticket, data: dict[str, Any]) -> Ticket:
        return actions.ticket_accept(ticket=ticket, actor=self.request.user)


class AssignView(TicketActionView):
    """Assign to a member (supervisors/admins), or unassign with ``assignee: null``."""

    serializer_class = s.AssignInput

    def run(self, ticket: Ticket, data: dict[str, Any]) -> Ticket:
        assignee = _member_user(self.company.pk, data["assignee"], "assignee")
        return actions.ticket_assign(
            ticket=ticket, assignee=assignee, actor=self.request.user, note=data["note"]
        )


class TransferView(TicketActionView):
    """Transfer to a queue and/or a person, with a note."""

    serializer_class = s.TransferInput

    def run(self, ticket: Ticket, data: dict[str, Any]) -> Ticket:
        return actions.ticket_transfer(
            ticket=ticket,
            queue=_queue(self.company.pk, data["queue"]),
            assignee=_member_user(self.company.pk, data["assignee"], "assignee"),
            note=data["note"],
            actor=self.request.user,
        )


class ResolveView(TicketActionView):
    def run(self, ticket: Ticket, data: dict[str, Any]) -> Ticket:
        return actions.ticket_resolve(ticket=ticket, actor=self.request.user, note=data["note"])


class ReopenView(TicketActionView):
    def run(self, ticket: Ticket, data: dict[str, Any]) -> Ticket:
        return actions.ticket_reopen(ticket=ticket, actor=self.request.user, note=data["note"])


class PriorityView(TicketActionView):
    serializer_class = s.PriorityInput

    def run(self, ticket: Ticket, data: dict[str, Any]) -> Ticket:
        return actions.ticket_set_priority(
            ticket=ticket, priority=data["priority"], actor=self.request.user
        )


class TagsView(TicketActionView):
    serializer_class = s.TagsInput

    def run(self, ticket: Ticket, data: dict[str, Any]) -> Ticket:
        return actions.ticket_set_tags(ticket=ticket, tags=data["tags"], actor=self.request.user)


class PauseAIView(TicketActionView):
    def run(self, ticket: Ticket, data: dict[str, Any]) -> Ticket:
        return actions.ticket_pause_ai(ticket=ticket, actor=self.request.user)


class ResumeAIView(TicketActionView):
    def run(self, ticket: Ticket, data: dict[str, Any]) -> Ticket:
        return actions.ticket_resume_ai(ticket=ticket, actor=self.request.user)


# --- queues -------------------------------------------------------------------------


class QueueListView(CompanyAPIMixin, generics.ListCreateAPIView):
    """Every queue of the company (agents read them to transfer); admins create."""

    serializer_class = s.QueueSerializer
    queryset = Queue.objects.prefetch_related("members")
    write_role = Role.ADMIN
    pagination_class = None

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        member_ids = data.pop("member_ids", None)
        queue = queues.queue_create(
            company=self.company, actor=request.user, member_ids=member_ids, **data
        )
        return Response(s.QueueSerializer(queue).data, status=status.HTTP_201_CREATED)


class QueueDetailView(CompanyAPIMixin, generics.RetrieveUpdateDestroyAPIView):
    serializer_class = s.QueueSerializer
    queryset = Queue.objects.prefetch_related("members")
    write_role = Role.ADMIN
    lookup_url_kwarg = "queue_id"

    def perform_update(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        member_ids = data.pop("member_ids", None)
        serializer.instance = queues.queue_update(
            queue=serializer.instance, actor=self.request.user, member_ids=member_ids, **data
        )

    def perform_destroy(self, instance: Queue) -> None:
        queues.queue_delete(queue=instance, actor=self.request.user)


# --- quick replies --------------------------------------------------------------------


class QuickReplyListView(CompanyAPIMixin, generics.ListCreateAPIView):
    """Quick replies usable by the member (``?prefix=`` filters by shortcut)."""

    serializer_class = s.QuickReplySerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        return quick_replies.quick_replies_for(
            self.membership, self.request.query_params.get("prefix", "")
        )

    @extend_schema(parameters=[OpenApiParameter("prefix", str)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reply = quick_replies.quick_reply_create(
            membership=self.membership,
            shortcut=serializer.validated_data["shortcut"],
            content=serializer.validated_data["content"],
            personal=serializer.validated_data.get("personal", True),
        )
        return Response(s.QuickReplySerializer(reply).data, status=status.HTTP_201_CREATED)


class QuickReplyDetailView(CompanyAPIMixin, generics.RetrieveUpdateDestroyAPIView):
    serializer_class = s.QuickReplySerializer
    lookup_url_kwarg = "reply_id"
    http_method_names = ["get", "patch", "delete", "options", "head"]

    def get_queryset(self) -> Any:
        return quick_replies.quick_replies_manageable(self.membership)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = quick_replies.quick_reply_update(
            membership=self.membership,
            reply=serializer.instance,
            shortcut=serializer.validated_data.get("shortcut"),
            content=serializer.validated_data.get("content"),
        )

    def perform_destroy(self, instance: QuickReply) -> None:
        quick_replies.quick_reply_delete(membership=self.membership, reply=instance)


# --- scheduled messages -----------------------------------------------------------------


class ScheduledListView(CompanyAPIMixin, generics.ListCreateAPIView):
    """Scheduled messages of tickets the member may see (``?ticket=<number>``,
    ``?status=``). Each says whether it falls outside WhatsApp's 24-hour window."""

    serializer_class = s.ScheduledMessageSerializer

    def get_queryset(self) -> Any:
        qs = (
            ScheduledMessage.objects.for_company(self.company)
            .filter(ticket__in=selectors.visible_tickets(self.membership))
            .select_related("ticket__conversation__integration", "created_by")
        )
        number = self.request.query_params.get("ticket", "")
        if (ticket_number := id_param(number)) is not None:
            qs = qs.filter(ticket__number=ticket_number)
        wanted = self.request.query_params.get("status", "")
        if wanted in ScheduledStatus.values:
            qs = qs.filter(status=wanted)
        return qs.order_by("send_at", "id")

    @extend_schema(
        parameters=[OpenApiParameter("ticket", int), OpenApiParameter("status", str)],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.ScheduleInput, responses={201: s.ScheduledMessageSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.ScheduleInput(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = selectors.ticket_for_member(self.membership, data.validated_data["ticket"])
        row = scheduled.scheduled_message_create(
            ticket=ticket,
            content=data.validated_data["content"],
            send_at=data.validated_data["send_at"],
            actor=request.user,
        )
        row = self.get_queryset().get(pk=row.pk)
        return Response(s.ScheduledMessageSerializer(row).data, status=status.HTTP_201_CREATED)


class ScheduledDetailView(CompanyAPIMixin, generics.GenericAPIView):
    """Read a scheduled message; DELETE cancels it (author or supervisor)."""

    serializer_class = s.ScheduledMessageSerializer

    def _row(self, scheduled_id: int) -> ScheduledMessage:
        row = (
            ScheduledMessage.objects.for_company(self.company)
            .filter(pk=scheduled_id, ticket__in=selectors.visible_tickets(self.membership))
            .select_related("ticket__conversation__integration", "created_by")
            .first()
        )
        if row is None:
            raise Http404
        return row

    def get(self, request: Request, company_slug: str, scheduled_id: int) -> Response:
        return Response(s.ScheduledMessageSerializer(self._row(scheduled_id)).data)

    def delete(self, request: Request, company_slug: str, scheduled_id: int) -> Response:
        row = scheduled.scheduled_message_cancel(
            scheduled=self._row(scheduled_id), membership=self.membership
        )
        return Response(s.ScheduledMessageSerializer(self._row(row.pk)).data)


# --- web form -------------------------------------------------------------------------


class WebTicketCreateView(CompanyAPIMixin, generics.GenericAPIView):
    """Open a ticket through the web form ("Abrir chamado") as the authenticated user."""

    serializer_class = s.WebTicketInput

    @extend_schema(request=s.WebTicketInput, responses={201: s.TicketSerializer})
    def post(self, request: Request, company_slug: str) -> Response:
        from ..services.webform import WebRequest, web_ticket_open

        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        # A ValidationError becomes a 400 in atende.api.exception_handler.
        ticket = web_ticket_open(
            company=self.company,
            actor=request.user,
            request=WebRequest(
                title=v["title"],
                description=v["description"],
                complexity=v["complexity"],
                queue=_queue(self.company.pk, v["queue"]),
                for_other=v["for_other"],
                other_name=v["other_name"],
                other_email=v["other_email"],
                other_phone=v["other_phone"],
            ),
        )
        ticket = Ticket.objects.select_related(
            "contact", "conversation__integration", "queue", "assignee", "requester"
        ).get(pk=ticket.pk)
        return Response(s.TicketSerializer(ticket).data, status=status.HTTP_201_CREATED)
