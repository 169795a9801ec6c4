"""The superuser panel for companies and people. Only superusers may open /admin/."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Company, Membership, User


def _superusers_only(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


admin.site.has_permission = _superusers_only  # type: ignore[method-assign]
admin.site.site_header = _("Atende administration")
admin.site.site_title = _("Atende")
admin.site.index_title = _("Installation")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "is_active", "max_open_tickets", "created_at"]
    readonly_fields = ["created_at"]


class CompanyMembershipInline(MembershipInline):
    fk_name = "company"


class UserMembershipInline(MembershipInline):
    fk_name = "user"
    autocomplete_fields = ["company"]
    fields = ["company", "role", "is_active", "max_open_tickets", "created_at"]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active", "timezone", "language", "created_at"]
    list_filter = ["is_active", "language", "timezone"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [CompanyMembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "company", "role", "is_active", "max_open_tickets", "created_at"]
    list_filter = ["role", "is_active", "company"]
    search_fields = ["user__email", "user__full_name", "company__name", "company__slug"]
    autocomplete_fields = ["user", "company"]
    list_select_related = ["user", "company"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_superuser", "language", "date_joined"]
    list_filter = ["is_active", "is_superuser", "is_staff", "language"]
    search_fields = ["email", "full_name"]
    inlines = [UserMembershipInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("full_name", "language", "sound_enabled")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    readonly_fields = ["last_login", "date_joined"]
    filter_horizontal = ["groups"]
