"""REST endpoints for contacts, conversations and their messages (company-scoped; agents
see what their tickets let them see)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from atende.api import CursorPagination
from conversations import selectors
from conversations.models import Conversation, Message
from conversations.services.outbound import message_retry, message_send, note_add
from integrations.base import DeliveryStatus, Direction
from tenants.access import CompanyAPIMixin
from tickets.models import TicketStatus

from .serializers import (
    ContactSerializer,
    ConversationSerializer,
    MessageSerializer,
    ReplySerializer,
)


def _date_param(request: Request, name: str) -> Any:
    try:
        return selectors.as_datetime(request.query_params.get(name))
    except ValueError:
        raise exceptions.ValidationError({name: _("Use an ISO date or datetime.")}) from None


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise exceptions.ValidationError({name: _("Use a number.")}) from None


def _choice_param(request: Request, name: str, choices: list[str]) -> str:
    value = request.query_params.get(name, "")
    if value and value not in choices:
        raise exceptions.ValidationError(
            {name: _("One of: %(values)s.") % {"values": ", ".join(choices)}}
        )
    return value


def _api_validation(exc: ValidationError) -> exceptions.ValidationError:
    return exceptions.ValidationError(
        exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
    )


@extend_schema(parameters=[OpenApiParameter("q", str, description="name, phone or email")])
class ContactListView(CompanyAPIMixin, generics.ListAPIView):
    """Contacts of the company (agents: those of tickets they can see)."""

    serializer_class = ContactSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.contact_search(
            self.membership, search=self.request.query_params.get("q", "").strip()
        )


class ContactDetailView(CompanyAPIMixin, generics.RetrieveAPIView):
    serializer_class = ContactSerializer
    lookup_url_kwarg = "contact_id"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.visible_contacts(self.membership)


CONVERSATION_FILTERS = [
    OpenApiParameter(
        "status",
        str,
        enum=[*TicketStatus.values, "none"],
        description="status of the conversation's current ticket",
    ),
    OpenApiParameter("kind", str, enum=["chatwoot", "twilio", "umbler", "web"]),
    OpenApiParameter("integration", int),
    OpenApiParameter("contact", int),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="last message at or after"),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="last message before"),
    OpenApiParameter("q", str, description="contact name or phone, group name"),
]


@extend_schema(parameters=CONVERSATION_FILTERS)
class ConversationListView(CompanyAPIMixin, generics.ListAPIView):
    """Conversations with their current ticket and last message, newest first."""

    serializer_class = ConversationSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        request = self.request
        return selectors.conversation_list(
            self.membership,
            status=_choice_param(request, "status", [*TicketStatus.values, "none"]),
            kind=_choice_param(request, "kind", ["chatwoot", "twilio", "umbler", "web"]),
            integration_id=_int_param(request, "integration"),
            contact_id=_int_param(request, "contact"),
            since=_date_param(request, "since"),
            until=_date_param(request, "until"),
            search=request.query_params.get("q", "").strip(),
        )


class ConversationDetailView(CompanyAPIMixin, generics.RetrieveAPIView):
    serializer_class = ConversationSerializer
    lookup_url_kwarg = "conversation_id"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.conversation_list(self.membership)


class ConversationMixin(CompanyAPIMixin):
    def get_conversation(self) -> Conversation:
        conversation = (
            selectors.visible_conversations(self.membership)
            .filter(pk=self.kwargs["conversation_id"])  # type: ignore[attr-defined]
            .first()
        )
        if conversation is None:
            raise exceptions.NotFound()
        return conversation


class MessagePagination(CursorPagination):
    ordering = "-id"


@extend_schema(
    parameters=[
        OpenApiParameter("status", str, enum=[s.value for s in DeliveryStatus]),
        OpenApiParameter("direction", str, enum=[d.value for d in Direction]),
        OpenApiParameter("since", OpenApiTypes.DATETIME),
        OpenApiParameter("until", OpenApiTypes.DATETIME),
    ]
)
class ConversationMessagesView(ConversationMixin, generics.ListAPIView):
    """Messages of a conversation, newest first (cursor pagination)."""

    serializer_class = MessageSerializer
    pagination_class = MessagePagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        request = self.request
        return selectors.conversation_messages(
            self.get_conversation(),
            status=_choice_param(request, "status", [s.value for s in DeliveryStatus]),
            direction=_choice_param(request, "direction", [d.value for d in Direction]),
            since=_date_param(request, "since"),
            until=_date_param(request, "until"),
        )


class ConversationReplyView(ConversationMixin, generics.GenericAPIView):
    """Send a reply on the conversation's current ticket (``private: true``: a note)."""

    serializer_class = ReplySerializer

    @extend_schema(request=ReplySerializer, responses={201: MessageSerializer})
    def post(self, request: Request, company_slug: str, conversation_id: int) -> Response:
        conversation = self.get_conversation()
        serializer = ReplySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        ticket = selectors.current_ticket(conversation)
        if ticket is None:
            raise exceptions.ValidationError(
                {"detail": _("This conversation has no ticket to reply on.")}
            )
        try:
            if data["private"]:
                message = note_add(ticket=ticket, content=data["content"], actor=request.user)
            else:
                message = message_send(
                    ticket=ticket,
                    content=data["content"],
                    actor=request.user,
                    attachments=data["attachments"],
                    source="api",
                )
        except ValidationError as exc:
            raise _api_validation(exc) from exc
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class MessageRetryView(CompanyAPIMixin, generics.GenericAPIView):
    """Send a failed reply again."""

    serializer_class = MessageSerializer

    @extend_schema(request=None, responses={200: MessageSerializer})
    def post(self, request: Request, company_slug: str, message_id: int) -> Response:
        message: Message | None = (
            selectors.visible_messages(self.membership).filter(pk=message_id).first()
        )
        if message is None:
            raise exceptions.NotFound()
        try:
            message = message_retry(message=message, actor=request.user)
        except ValidationError as exc:
            raise _api_validation(exc) from exc
        return Response(MessageSerializer(message).data)
