"""Superuser panel: queues, tickets with their timeline, quick replies, scheduled messages
and Chatwoot contact links (response times: metrics/admin.py)."""

from __future__ import annotations

from django.contrib import admin

from tickets.models import (
    ChatwootContactLink,
    Queue,
    QuickReply,
    ScheduledMessage,
    Ticket,
    TicketEvent,
)


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


@admin.register(QuickReply)
class QuickReplyAdmin(admin.ModelAdmin):
    list_display = ["shortcut", "company", "owner", "updated_at"]
    search_fields = ["shortcut", "content"]
    list_filter = ["company"]
    raw_id_fields = ["owner"]


@admin.register(ScheduledMessage)
class ScheduledMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "company", "ticket", "send_at", "status", "created_by"]
    list_filter = ["status", "company"]
    raw_id_fields = ["ticket", "created_by", "message"]


@admin.register(ChatwootContactLink)
class ChatwootContactLinkAdmin(admin.ModelAdmin):
    list_display = ["user", "company", "inbox_identifier", "contact_identifier", "created_at"]
    search_fields = ["user__email", "contact_identifier"]
    raw_id_fields = ["user"]
