"""REST endpoints for integrations and their webhook log (company admins only)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from atende.api import CursorPagination
from atende.params import id_param
from integrations.models import Integration, IntegrationKind, WebhookEvent
from integrations.services.config import (
    integration_create,
    integration_deactivate,
    integration_update,
)
from tenants.access import CompanyAPIMixin
from tenants.models import Role

from .serializers import (
    WEBHOOK_STATUSES,
    IntegrationCreateSerializer,
    IntegrationSerializer,
    IntegrationUpdateSerializer,
    WebhookEventDetailSerializer,
    WebhookEventSerializer,
)


def _api_validation(exc: ValidationError) -> exceptions.ValidationError:
    return exceptions.ValidationError(
        exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
    )


class IntegrationListView(CompanyAPIMixin, generics.ListCreateAPIView):
    """The company's integrations, each with its webhook URL and health. Admins only."""

    min_role = Role.ADMIN
    serializer_class = IntegrationSerializer
    queryset = Integration.objects.order_by("name", "id")

    @extend_schema(request=IntegrationCreateSerializer, responses={201: IntegrationSerializer})
    def post(self, request: Request, company_slug: str) -> Response:
        serializer = IntegrationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            integration = integration_create(
                company=self.company, actor=request.user, **serializer.validated_data
            )
        except ValidationError as exc:
            raise _api_validation(exc) from exc
        return Response(
            IntegrationSerializer(integration, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class IntegrationDetailView(CompanyAPIMixin, generics.GenericAPIView):
    """One integration. PATCH changes it (secrets write-only); DELETE deactivates it."""

    min_role = Role.ADMIN
    serializer_class = IntegrationSerializer
    queryset = Integration.objects.all()
    lookup_url_kwarg = "integration_id"

    @extend_schema(responses=IntegrationSerializer)
    def get(self, request: Request, company_slug: str, integration_id: int) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=IntegrationUpdateSerializer, responses=IntegrationSerializer)
    def patch(self, request: Request, company_slug: str, integration_id: int) -> Response:
        integration = self.get_object()
        serializer = IntegrationUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            integration = integration_update(
                integration=integration, actor=request.user, **serializer.validated_data
            )
        except ValidationError as exc:
            raise _api_validation(exc) from exc
        return Response(self.get_serializer(integration).data)

    @extend_schema(request=None, responses=IntegrationSerializer)
    def delete(self, request: Request, company_slug: str, integration_id: int) -> Response:
        integration = integration_deactivate(integration=self.get_object(), actor=request.user)
        return Response(self.get_serializer(integration).data)


class WebhookEventPagination(CursorPagination):
    ordering = "-id"


@extend_schema(
    parameters=[
        OpenApiParameter("status", str, enum=WEBHOOK_STATUSES),
        OpenApiParameter("kind", str, enum=IntegrationKind.values),
        OpenApiParameter("integration", int),
    ]
)
class WebhookEventListView(CompanyAPIMixin, generics.ListAPIView):
    """Every webhook request received, newest first. Admins only."""

    min_role = Role.ADMIN
    serializer_class = WebhookEventSerializer
    pagination_class = WebhookEventPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        params = self.request.query_params
        wanted = params.get("status", "")
        if wanted and wanted not in WEBHOOK_STATUSES:
            raise exceptions.ValidationError(
                {"status": _("One of: %(values)s.") % {"values": ", ".join(WEBHOOK_STATUSES)}}
            )
        integration = params.get("integration", "")
        if integration and id_param(integration) is None:
            raise exceptions.ValidationError({"integration": _("Use a number.")})
        events = WebhookEvent.objects.for_company(self.company).select_related("integration")
        if wanted:
            events = events.filter(status=wanted)
        if params.get("kind"):
            events = events.filter(kind=params["kind"])
        if integration:
            events = events.filter(integration_id=int(integration))
        return events


class WebhookEventDetailView(CompanyAPIMixin, generics.RetrieveAPIView):
    """One webhook request with its headers and body (as text)."""

    min_role = Role.ADMIN
    serializer_class = WebhookEventDetailSerializer
    queryset = WebhookEvent.objects.select_related("integration")
    lookup_url_kwarg = "event_id"


class WebhookEventReplayView(CompanyAPIMixin, generics.GenericAPIView):
    """Process a stored webhook request again (after a fix, or a failed ingest)."""

    min_role = Role.ADMIN
    serializer_class = WebhookEventDetailSerializer
    queryset = WebhookEvent.objects.select_related("integration")
    lookup_url_kwarg = "event_id"

    @extend_schema(request=None, responses=WebhookEventDetailSerializer)
    def post(self, request: Request, company_slug: str, event_id: int) -> Response:
        event = self.get_object()
        from integrations.services.webhooks import webhook_replay

        try:
            webhook_replay(event=event, actor=request.user)
        except ValidationError as exc:
            raise _api_validation(exc) from exc
        event.refresh_from_db()
        return Response(self.get_serializer(event).data)
