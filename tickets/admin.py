"""Superuser panel: queues, tickets with their timeline, response times."""

from __future__ import annotations

from django.contrib import admin

from metrics.models import ResponseTime
from tickets.models import Queue, Ticket, TicketEvent


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "company", "distribution", "is_default", "order"]
    list_filter = ["distribution", "is_default", "company"]
    search_fields = ["name", "company__name"]
    list_select_related = ["company"]
    raw_id_fields = ["company"]
    filter_horizontal = ["members"]


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    fields = ["created_at", "kind", "actor", "actor_label", "data", "note"]
    readonly_fields = ["created_at", "kind", "actor", "actor_label", "data", "note"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "company",
        "contact",
        "status",
        "queue",
        "assignee",
        "priority",
        "created_at",
        "last_message_at",
    ]
    list_filter = ["status", "priority", "company"]
    search_fields = ["=number", "contact__name", "contact__phone", "title"]
    list_select_related = ["company", "contact", "queue", "assignee"]
    raw_id_fields = ["company", "conversation", "contact", "queue", "assignee", "requester"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "created_at"
    inlines = [TicketEventInline]


if not admin.site.is_registered(ResponseTime):

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
        ]
        list_filter = ["responder_type", "is_first", "company"]
        search_fields = ["=ticket__number", "responder__email"]
        list_select_related = ["company", "ticket", "responder", "queue"]
        raw_id_fields = ["company", "ticket", "message", "responder", "queue"]
        date_hierarchy = "answered_at"
