"""Superuser panel: queues and tickets with their timeline (response times: metrics/admin.py)."""

from __future__ import annotations

from django.contrib import admin

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
