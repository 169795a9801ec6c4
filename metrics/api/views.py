"""REST endpoints for the metrics: the same selectors and filters as the dashboard.

Supervisors and admins only; query parameters as on the dashboard (period, start, end,
agent, queue, tag, channel, status, business_hours).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.models import LogLevel
from tenants.access import CompanyAPIMixin
from tenants.models import Role

from .. import selectors
from ..filters import FilterError, MetricsFilter, metrics_filter_from
from . import serializers as s

FILTER_PARAMETERS = [
    OpenApiParameter(
        "period",
        str,
        enum=["today", "7d", "30d", "custom"],
        description="Default 7d. Local days of the company.",
    ),
    OpenApiParameter("start", str, description="custom: first day, YYYY-MM-DD"),
    OpenApiParameter("end", str, description="custom: last day (inclusive), YYYY-MM-DD"),
    OpenApiParameter("agent", int, description="User id"),
    OpenApiParameter("queue", int, description="Queue id"),
    OpenApiParameter("tag", str),
    OpenApiParameter("channel", str, description="Integration kind"),
    OpenApiParameter("status", str, description="Ticket status"),
    OpenApiParameter("business_hours", bool, description="Count business hours only"),
]


class MetricsAPIView(CompanyAPIMixin, APIView):
    min_role = Role.SUPERVISOR

    def metrics_filter(self, request: Request) -> MetricsFilter:
        try:
            return metrics_filter_from(self.company, request.query_params)
        except FilterError as exc:
            raise ValidationError({"detail": str(exc)}) from exc


class SummaryView(MetricsAPIView):
    """Cards (live counts, first response and resolution) and the period's totals."""

    @extend_schema(parameters=FILTER_PARAMETERS, responses=s.SummarySerializer)
    def get(self, request: Request, company_slug: str) -> Response:
        f = self.metrics_filter(request)
        shared: dict[str, Any] = {}
        data = {
            "period": {"start": f.start, "end": f.end, "business_hours": f.business_hours},
            "cards": selectors.cards(self.company, f, shared),
            "totals": selectors.totals(self.company, f, shared),
        }
        return Response(s.SummarySerializer(data).data)


class CardsView(MetricsAPIView):
    """The dashboard cards alone (cheap; what the live refresh reads)."""

    @extend_schema(parameters=FILTER_PARAMETERS, responses=s.CardsSerializer)
    def get(self, request: Request, company_slug: str) -> Response:
        return Response(
            s.CardsSerializer(selectors.cards(self.company, self.metrics_filter(request))).data
        )


class TimeseriesView(MetricsAPIView):
    """Per-day volume and response-time trend, per-hour volume."""

    @extend_schema(parameters=FILTER_PARAMETERS, responses=s.TimeseriesSerializer)
    def get(self, request: Request, company_slug: str) -> Response:
        data = selectors.timeseries(self.company, self.metrics_filter(request))
        return Response(s.TimeseriesSerializer(data).data)


class HeatmapView(MetricsAPIView):
    """Customer messages by weekday x hour in the company's time zone."""

    @extend_schema(parameters=FILTER_PARAMETERS, responses=s.HeatmapSerializer)
    def get(self, request: Request, company_slug: str) -> Response:
        data = selectors.heatmap(self.company, self.metrics_filter(request))
        return Response(s.HeatmapSerializer(data).data)


class AgentsView(MetricsAPIView):
    """The per-agent table (bot replies never count)."""

    @extend_schema(parameters=FILTER_PARAMETERS, responses=s.AgentRowSerializer(many=True))
    def get(self, request: Request, company_slug: str) -> Response:
        rows = selectors.agent_table(self.company, self.metrics_filter(request))
        return Response(s.AgentRowSerializer(rows, many=True).data)


class QueuesView(MetricsAPIView):
    """The per-queue table."""

    @extend_schema(parameters=FILTER_PARAMETERS, responses=s.QueueRowSerializer(many=True))
    def get(self, request: Request, company_slug: str) -> Response:
        rows = selectors.queue_table(self.company, self.metrics_filter(request))
        return Response(s.QueueRowSerializer(rows, many=True).data)


class ClientsView(CompanyAPIMixin, generics.ListAPIView):
    """Contacts with their ticket count and last activity; ``q`` searches."""

    serializer_class = s.ClientSerializer
    min_role = Role.SUPERVISOR

    @extend_schema(parameters=[OpenApiParameter("q", str)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.clients(self.company, self.request.query_params.get("q", "")[:100])


class LogsView(CompanyAPIMixin, generics.ListAPIView):
    """The integration log, newest first; ``level`` and ``source`` filter."""

    serializer_class = s.LogEntrySerializer
    min_role = Role.SUPERVISOR

    @extend_schema(
        parameters=[
            OpenApiParameter("level", str, enum=LogLevel.values),
            OpenApiParameter("source", str),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # type: ignore[no-untyped-def]
        level = self.request.query_params.get("level", "")
        if level and level not in LogLevel.values:
            raise ValidationError({"level": _("Unknown level.")})
        return selectors.log_entries(
            self.company, level=level, source=self.request.query_params.get("source", "")[:40]
        )
