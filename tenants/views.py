"""Staff pages of the tenants app: company picker, home, members, language."""

from __future__ import annotations

from allauth.account.forms import ResetPasswordForm
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import selectors, services
from .access import active_memberships, company_view
from .forms import MemberAddForm, MemberUpdateForm
from .models import Membership, Role


@login_required
def company_picker(request: HttpRequest) -> HttpResponse:
    memberships = active_memberships(request.user)
    if len(memberships) == 1 and not request.user.is_superuser:
        return redirect("tickets:inbox", company_slug=memberships[0].company.slug)
    return render(request, "tenants/picker.html", {"memberships": memberships})


@company_view()
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/home.html")


@company_view(role=Role.ADMIN)
def members(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership, created = services.member_add(
                company=company,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                full_name=form.cleaned_data["full_name"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if created:
                # The new user sets their password through the reset email.
                reset = ResetPasswordForm(data={"email": membership.user.email})
                if reset.is_valid():
                    reset.save(request)
                messages.success(
                    request, _("%(email)s was invited.") % {"email": membership.user.email}
                )
            else:
                messages.success(
                    request, _("%(email)s was added.") % {"email": membership.user.email}
                )
            return redirect("tenants:members", company_slug=company.slug)
    return render(
        request,
        "tenants/members.html",
        {
            "form": form,
            "members": selectors.company_members(company=company),
            "roles": Role.choices,
        },
    )


@company_view(role=Role.ADMIN)
@require_POST
def member_update(request: HttpRequest, membership_id: int) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    membership = get_object_or_404(Membership.objects.for_company(company), pk=membership_id)
    form = MemberUpdateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please correct the member's details."))
    else:
        try:
            services.member_update(
                membership=membership,
                role=form.cleaned_data["role"],
                is_active=form.cleaned_data["is_active"],
                max_open_tickets=form.cleaned_data["max_open_tickets"],
                actor=request.user,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Member updated."))
    return redirect("tenants:members", company_slug=company.slug)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Like django.views.i18n.set_language, but remembers the choice on the user."""
    language = request.POST.get("language", "")
    if not check_for_language(language) or language not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest(_("Unknown language."))
    next_url = (
        request.POST.get("next") or request.headers.get("referer") or reverse("tenants-picker")
    )
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = reverse("tenants-picker")
    if request.user.is_authenticated:
        services.user_set_language(user=request.user, language=language)  # type: ignore[arg-type]
    response = redirect(next_url)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
    )
    return response
