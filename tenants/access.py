"""Tenant resolution and access checks, shared by views, the API and websocket consumers.

A company you do not belong to does not exist for you: 404, never 403 (STYLE.md rule 7).
An inactive company or membership is different: the user is told they are locked out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.request import Request

from atende.observability import bind_company

from .models import Company, Membership, Role


class CompanyLocked(Exception):
    def __init__(self, company: Company, reason: str) -> None:
        super().__init__(reason)
        self.company = company
        self.reason = reason


def resolve_membership(user: Any, company_slug: str) -> Membership:
    """The user's membership in the company, or Http404 when there is none for them.

    Superusers act as admins of every company (they run the installation).
    Raises CompanyLocked when the company or the membership is inactive.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        raise Http404
    membership = (
        Membership.objects.select_related("company", "user")
        .filter(company__slug=company_slug, user=user)
        .first()
    )
    if membership is None:
        if not user.is_superuser:
            raise Http404
        company = Company.objects.filter(slug=company_slug).first()
        if company is None:
            raise Http404
        membership = Membership(company=company, user=user, role=Role.ADMIN, is_active=True)
        return membership
    if user.is_superuser:
        return membership
    if not membership.company.is_active:
        raise CompanyLocked(
            membership.company, _("This company is deactivated. Talk to its owner.")
        )
    if not membership.is_active:
        raise CompanyLocked(
            membership.company, _("Your access to this company was deactivated by its admin.")
        )
    return membership


def active_memberships(user: Any) -> list[Membership]:
    if not user.is_authenticated:
        return []
    return list(
        Membership.objects.select_related("company")
        .filter(user=user, is_active=True, company__is_active=True)
        .order_by("company__name")
    )


def company_view(role: str = Role.AGENT) -> Callable:
    """Decorator for staff pages under /app/<company_slug>/: sets request.company and
    request.membership, 404 for outsiders, 403 page for a too-low role."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(
            request: HttpRequest, company_slug: str, *args: Any, **kwargs: Any
        ) -> HttpResponse:
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            try:
                membership = resolve_membership(request.user, company_slug)
            except CompanyLocked as locked:
                return render(
                    request,
                    "tenants/locked.html",
                    {"locked_company": locked.company, "reason": locked.reason},
                    status=403,
                )
            request.company = membership.company  # type: ignore[attr-defined]
            request.membership = membership  # type: ignore[attr-defined]
            bind_company(membership.company.slug)
            if not membership.has_role(role):
                return render(request, "tenants/forbidden.html", status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class CompanyAPIMixin:
    """Base for company-scoped DRF views under /api/v1/companies/<company_slug>/.

    ``min_role`` guards reads, ``write_role`` guards unsafe methods. ``queryset`` is
    scoped to the company automatically by ``get_queryset``.
    """

    min_role: str = Role.AGENT
    write_role: str | None = None
    company: Company
    membership: Membership

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        try:
            membership = resolve_membership(request.user, kwargs["company_slug"])
        except Http404 as exc:
            raise exceptions.NotFound() from exc
        except CompanyLocked as locked:
            raise exceptions.PermissionDenied(locked.reason) from locked
        self.company = membership.company
        self.membership = membership
        bind_company(self.company.slug)
        needed = self.min_role
        if request.method not in ("GET", "HEAD", "OPTIONS") and self.write_role:
            needed = self.write_role
        if not membership.has_role(needed):
            raise exceptions.PermissionDenied(_("Your role does not allow this."))

    def get_queryset(self) -> Any:
        return super().get_queryset().for_company(self.company)  # type: ignore[misc]
