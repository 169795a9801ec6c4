"""Superuser panel: contacts (with their platform identities), conversations, messages."""

from __future__ import annotations

from django.contrib import admin

from conversations.models import Contact, ContactIdentity, Conversation, Message


class ContactIdentityInline(admin.TabularInline):
    model = ContactIdentity
    extra = 0
    fields = ["integration", "external_id", "created_at"]
    readonly_fields = ["created_at"]
    raw_id_fields = ["integration"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "company", "phone", "email", "is_group", "last_activity_at"]
    list_filter = ["is_group", "company"]
    search_fields = ["name", "phone", "email"]
    list_select_related = ["company"]
    raw_id_fields = ["company"]
    readonly_fields = ["phone_key", "created_at", "updated_at"]
    inlines = [ContactIdentityInline]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "company",
        "integration",
        "external_id",
        "is_group",
        "last_message_at",
    ]
    list_filter = ["is_group", "integration__kind", "company"]
    search_fields = ["external_id", "contact__name", "contact__phone", "group_name"]
    list_select_related = ["company", "integration", "contact"]
    raw_id_fields = ["company", "integration", "contact"]
    readonly_fields = ["created_at"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "company",
        "conversation",
        "direction",
        "sender_type",
        "short_content",
        "delivery_status",
        "is_private",
        "created_at",
    ]
    list_filter = ["direction", "sender_type", "delivery_status", "is_private", "company"]
    search_fields = ["content", "external_id", "client_id"]
    list_select_related = ["company", "conversation__contact"]
    raw_id_fields = ["company", "conversation", "ticket", "sender_user"]
    readonly_fields = ["client_id", "received_at", "sent_at", "send_attempts"]
    date_hierarchy = "created_at"

    @admin.display(description="content")
    def short_content(self, obj: Message) -> str:
        return obj.content[:80]
