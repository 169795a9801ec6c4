"""Reads about companies and people."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Company, Membership


def company_members(*, company: Company, include_inactive: bool = True) -> QuerySet[Membership]:
    qs = (
        Membership.objects.for_company(company)
        .select_related("user")
        .order_by("-is_active", "user__full_name", "user__email")
    )
    return qs if include_inactive else qs.filter(is_active=True)
