"""Staff pages of the metrics app: dashboard, live cards, CSV export, clients, logs.

Supervisors and admins only (agents get the 403 page; other companies 404). Views parse
the query string into a MetricsFilter, call selectors, and render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from conversations.models import Message
from integrations.base import DeliveryStatus
from integrations.models import IntegrationKind, LogLevel, WebhookEvent, WebhookStatus
from tenants.access import company_view
from tenants.models import Membership, Role
from tickets.models import Queue, TicketStatus

from . import actions, selectors
from .csv_export import export_rows
from .filters import FilterError, metrics_filter_from

CLIENTS_PER_PAGE = 50
LOGS_PER_PAGE = 100


def _filter_choices(company: Any) -> dict[str, Any]:
    return {
        "agents": Membership.objects.for_company(company)
        .filter(is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email"),
        "queues": Queue.objects.for_company(company).order_by("order", "name"),
        "channels": IntegrationKind.choices,
        "statuses": TicketStatus.choices,
    }


@company_view(role=Role.SUPERVISOR)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    status = 200
    try:
        f = metrics_filter_from(company, request.GET)
    except FilterError as exc:
        messages.error(request, str(exc))
        f = metrics_filter_from(company, {})
        status = 400
    data = selectors.dashboard(company, f)
    params = urlencode(f.as_params())
    chart_data = {
        "daily": data["timeseries"]["daily"],
        "hourly": data["timeseries"]["hourly"],
        "heatmap": data["heatmap"]["cells"],
        "agents": [
            {
                "name": a["name"],
                "reply_p50": a["reply_p50"],
                "first_response_p50": a["first_response_p50"],
                "messages": a["messages"],
            }
            for a in data["agents"]
        ],
        "queues": [
            {
                "name": q["name"],
                "color": q["color"],
                "first_response_p50": q["first_response_p50"],
                "tickets_created": q["tickets_created"],
            }
            for q in data["queues"]
        ],
    }
    return render(
        request,
        "metrics/dashboard.html",
        {
            "f": f,
            "data": data,
            "chart_data": chart_data,
            "params": params,
            "weekdays": [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")],
            **_filter_choices(company),
        },
        status=status,
    )


@company_view(role=Role.SUPERVISOR)
@require_GET
def cards_json(request: HttpRequest) -> HttpResponse:
    """The cards alone, for the dashboard's live refresh (docs/metrics.md)."""
    company = request.company  # type: ignore[attr-defined]
    try:
        f = metrics_filter_from(company, request.GET)
    except FilterError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    return JsonResponse(selectors.cards(company, f))


@company_view(role=Role.SUPERVISOR)
@require_GET
def export(request: HttpRequest) -> HttpResponseBase:
    company = request.company  # type: ignore[attr-defined]
    table = request.GET.get("table", "tickets")
    if table not in ("tickets", "agents"):
        return HttpResponseBadRequest(_("Unknown table."))
    try:
        f = metrics_filter_from(company, request.GET)
    except FilterError as exc:
        return HttpResponseBadRequest(str(exc))
    response = StreamingHttpResponse(
        export_rows(company, f, table), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime(timezone.now(), company.tzinfo).strftime("%Y%m%d-%H%M")
    mode = "-business-hours" if f.business_hours else ""
    response["Content-Disposition"] = (
        f'attachment; filename="{company.slug}-{table}{mode}-{stamp}.csv"'
    )
    return response


@company_view(role=Role.SUPERVISOR)
@require_GET
def clients(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    search = request.GET.get("q", "")[:100]
    page = Paginator(selectors.clients(company, search), CLIENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    channels = selectors.channels_for(company, [c.pk for c in page.object_list])
    rows = [{"contact": c, "channels": channels.get(c.pk, [])} for c in page.object_list]
    return render(
        request,
        "metrics/clients.html",
        {"page": page, "rows": rows, "q": search, "kinds": dict(IntegrationKind.choices)},
    )


@company_view(role=Role.SUPERVISOR)
@require_GET
def logs(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    level = request.GET.get("level", "")
    source = request.GET.get("source", "")[:40]
    if level and level not in LogLevel.values:
        level = ""
    page = Paginator(selectors.log_entries(company, level=level, source=source), LOGS_PER_PAGE)
    return render(
        request,
        "metrics/logs.html",
        {
            "page": page.get_page(request.GET.get("page")),
            "level": level,
            "source": source,
            "levels": LogLevel.choices,
            "sources": selectors.log_sources(company),
            "summary": selectors.error_summary(company),
            "recent_errors": selectors.recent_errors(company),
            "failed_webhooks": selectors.failed_webhooks(company),
            "failed_sends": selectors.failed_sends(company),
            "filter_params": urlencode(
                {k: v for k, v in (("level", level), ("source", source)) if v}
            ),
        },
    )


@company_view(role=Role.SUPERVISOR)
@require_POST
def webhook_replay(request: HttpRequest, event_id: int) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    event = get_object_or_404(
        WebhookEvent.objects.for_company(company), pk=event_id, status=WebhookStatus.FAILED
    )
    ok, detail = actions.replay_webhook(event=event, actor=request.user)
    (messages.success if ok else messages.error)(request, detail)
    return redirect("metrics:logs", company_slug=company.slug)


@company_view(role=Role.SUPERVISOR)
@require_POST
def message_retry(request: HttpRequest, message_id: int) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    message = get_object_or_404(
        Message.objects.for_company(company), pk=message_id, delivery_status=DeliveryStatus.FAILED
    )
    ok, detail = actions.retry_message(message=message, actor=request.user)
    (messages.success if ok else messages.error)(request, detail)
    return redirect("metrics:logs", company_slug=company.slug)
