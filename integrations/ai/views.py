"""Staff pages of the AI attendant: settings (admins) and the buffer monitor (supervisors)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from conversations.models import Conversation
from tenants.access import company_view
from tenants.models import Role

from . import selectors, services
from .forms import AISettingsForm


@company_view(role=Role.ADMIN)
def ai_settings(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    ai = selectors.ai_settings_get(company=company)
    form = AISettingsForm(request.POST or None, instance=ai, company=company)
    if request.method == "POST":
        if form.is_valid():
            ai = form.save()
            messages.success(request, _("AI settings saved."))
            return redirect("integrations:ai-settings", company_slug=company.slug)
        messages.error(request, _("Please correct the errors below."))
    groups = {name: [form[f] for f in fields] for name, fields in AISettingsForm.GROUPS.items()}
    return render(
        request,
        "integrations/ai_settings.html",
        {
            "form": form,
            "ai": ai,
            "groups": groups,
            "api_key_masked": _masked(ai.api_key),
            "has_service_account": bool(ai.sheets_service_account),
        },
    )


def _masked(value: str) -> str:
    from integrations import crypto

    return crypto.mask(value)


@company_view(role=Role.SUPERVISOR)
def ai_monitor(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    return render(
        request,
        "integrations/ai_monitor.html",
        {
            "ai": selectors.ai_settings_get(company=company),
            "buffers": selectors.pending_buffers(company=company),
            "replies": selectors.recent_replies(company=company),
        },
    )


@company_view(role=Role.SUPERVISOR)
def ai_monitor_data(request: HttpRequest) -> JsonResponse:
    company = request.company  # type: ignore[attr-defined]
    return JsonResponse(
        {
            "buffers": selectors.pending_buffers(company=company),
            "replies": [
                selectors.reply_as_dict(r) for r in selectors.recent_replies(company=company)
            ],
        }
    )


def _conversation(request: HttpRequest, conversation_id: int) -> Conversation:
    return get_object_or_404(
        Conversation.objects.for_company(request.company),  # type: ignore[attr-defined]
        pk=conversation_id,
    )


@company_view(role=Role.SUPERVISOR)
@require_POST
def ai_reply_now(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    if services.reply_now(conversation=conversation, actor=request.user):
        messages.success(request, _("The AI is answering now."))
    else:
        messages.warning(request, _("Nothing is waiting for a reply on this conversation."))
    return redirect("integrations:ai-monitor", company_slug=conversation.company.slug)


@company_view(role=Role.SUPERVISOR)
@require_POST
def ai_pause(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    services.ai_pause(conversation=conversation, actor=request.user)
    messages.success(request, _("The AI is paused on this conversation's ticket."))
    return redirect("integrations:ai-monitor", company_slug=conversation.company.slug)
