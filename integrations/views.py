"""Staff pages for integrations (company admins): list with webhook URL and health,
create/edit with write-only secrets, deactivate."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from integrations.forms import IntegrationForm
from integrations.models import Integration, IntegrationKind
from integrations.services.config import (
    integration_create,
    integration_deactivate,
    integration_update,
)
from tenants.access import company_view
from tenants.models import Role


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


@company_view(role=Role.ADMIN)
def integration_list(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    integrations = Integration.objects.for_company(company).order_by("-is_active", "name", "id")
    rows = [(i, i.webhook_url(request)) for i in integrations]
    return render(
        request, "integrations/list.html", {"rows": rows, "kinds": IntegrationKind.choices}
    )


@company_view(role=Role.ADMIN)
def integration_new(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    kind = request.POST.get("kind") or request.GET.get("kind") or ""
    if kind not in IntegrationKind.values:
        return render(request, "integrations/choose_kind.html", {"kinds": IntegrationKind.choices})
    form = IntegrationForm(request.POST or None, kind=kind)
    if request.method == "POST" and form.is_valid():
        try:
            integration = integration_create(
                company=company,
                kind=kind,
                name=form.cleaned_data["name"],
                settings={k: v for k, v in form.settings_values().items() if v},
                secrets=form.secrets_values(),
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_service_errors(_errors(exc))
        else:
            messages.success(
                request, _("Integration created. Copy its webhook URL into the platform.")
            )
            return redirect(
                "integrations:edit", company_slug=company.slug, integration_id=integration.pk
            )
    return render(
        request,
        "integrations/form.html",
        {
            "form": form,
            "kind": kind,
            "kind_label": IntegrationKind(kind).label,
            "integration": None,
        },
    )


@company_view(role=Role.ADMIN)
def integration_edit(request: HttpRequest, integration_id: int) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    integration = get_object_or_404(Integration.objects.for_company(company), pk=integration_id)
    form = IntegrationForm(request.POST or None, kind=integration.kind, instance=integration)
    if request.method == "POST" and form.is_valid():
        try:
            integration_update(
                integration=integration,
                name=form.cleaned_data["name"],
                settings=form.settings_values(),
                secrets=form.secrets_values(),
                clear_secrets=form.clear_values(),
                is_active=form.cleaned_data.get("is_active"),
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_service_errors(_errors(exc))
        else:
            messages.success(request, _("Integration saved."))
            return redirect(
                "integrations:edit", company_slug=company.slug, integration_id=integration.pk
            )
    return render(
        request,
        "integrations/form.html",
        {
            "form": form,
            "kind": integration.kind,
            "kind_label": integration.get_kind_display(),
            "integration": integration,
            "webhook_url": integration.webhook_url(request),
        },
    )


@company_view(role=Role.ADMIN)
@require_POST
def integration_deactivate_view(request: HttpRequest, integration_id: int) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    integration = Integration.objects.for_company(company).filter(pk=integration_id).first()
    if integration is None:
        raise Http404
    integration_deactivate(integration=integration, actor=request.user)
    messages.success(request, _("%(name)s was deactivated.") % {"name": integration.name})
    return redirect("integrations:list", company_slug=company.slug)
