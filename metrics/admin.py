"""Superuser panel: response times (read-only) and the global dashboard.

The global dashboard is a custom admin view at /admin/metrics/global/, linked from the
admin index (``admin.site.index_template``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path
from django.utils.translation import gettext_lazy as _

from . import selectors
from .models import ResponseTime


@admin.register(ResponseTime)
class ResponseTimeAdmin(admin.ModelAdmin):
    list_display = [
        "answered_at",
        "company",
        "ticket",
        "responder_type",
        "responder",
        "queue",
        "seconds",
        "is_first",
        "is_first_agent",
    ]
    list_filter = ["responder_type", "is_first", "is_first_agent", "company"]
    list_select_related = ["company", "ticket", "responder", "queue"]
    date_hierarchy = "answered_at"
    raw_id_fields = ["ticket", "message", "responder", "queue"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def global_dashboard(request: HttpRequest) -> HttpResponse:
    rows = selectors.global_overview()
    totals = {
        key: sum(r[key] for r in rows)
        for key in (
            "tickets",
            "active_tickets",
            "messages",
            "messages_7d",
            "contacts",
            "errors_24h",
            "errors_7d",
        )
    }
    context = {
        **admin.site.each_context(request),
        "title": _("Global dashboard"),
        "rows": rows,
        "totals": totals,
        "active_companies": sum(1 for r in rows if r["company"].is_active),
    }
    return TemplateResponse(request, "admin/metrics/global.html", context)


_original_get_urls = admin.site.get_urls


def _get_urls() -> list[URLResolver | URLPattern]:
    extra: list[URLResolver | URLPattern] = [
        path("metrics/global/", admin.site.admin_view(global_dashboard), name="metrics-global")
    ]
    return extra + _original_get_urls()


admin.site.get_urls = _get_urls  # type: ignore[method-assign,assignment]
admin.site.index_template = "admin/atende_index.html"
