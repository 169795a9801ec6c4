"""The superuser panel for tickets: queues, tickets with their timeline, quick replies,
scheduled messages and Chatwoot contact links (read-mostly; staff work in the app)."""

from __future__ import annotations

from django.contrib import admin

from .models import ChatwootContactLink, Queue, QuickReply, ScheduledMessage, Ticket, TicketEvent


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "company", "distribution", "is_default", "order"]
    list_filter = ["distribution", "company"]
    search_fields = ["name", "company__name"]
    filter_horizontal = ["members"]


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "actor", "actor_label", "note", "data"]
    readonly_fields = fields


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "company",
        "status",
        "queue",
        "assignee",
        "priority",
        "last_message_at",
    ]
    list_filter = ["status", "priority", "company"]
    search_fields = ["=number", "contact__name", "contact__phone", "title"]
    list_select_related = ["company", "queue", "assignee"]
    raw_id_fields = ["conversation", "contact", "assignee", "requester", "queue"]
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
