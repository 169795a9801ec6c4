"""The one generic webhook endpoint for every platform: ``POST /webhooks/<kind>/<public id>/``.

Thin: find the integration, read the raw body (bounded), hand everything to
``integrations.services.webhooks.webhook_receive`` and translate its result into the answer
each platform expects (Twilio: empty TwiML; the others: JSON). See docs/webhooks.md.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.models import Integration, WebhookStatus
from integrations.selectors import integration_for_webhook
from integrations.services.webhooks import TWIML_EMPTY, WebhookResult, webhook_receive


def _read_body(request: HttpRequest) -> tuple[bytes, bool]:
    """At most WEBHOOK_MAX_BODY_BYTES of the body, and whether it was longer."""
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    # request.read, not request.body: the latter refuses (500) bodies above Django's limit
    # before we could store and answer them.
    data = request.read(limit + 1)
    return data[:limit], len(data) > limit


def public_url(request: HttpRequest, integration: Integration) -> str:
    """The URL the platform called, as it called it (Twilio signs it): the integration's
    or the installation's public base URL when set (behind proxies), else the request's."""
    base = str(integration.settings.get("public_base_url") or "").rstrip("/")
    base = base or settings.PUBLIC_BASE_URL
    if base:
        return f"{base}{request.get_full_path()}"
    return request.build_absolute_uri()


def _answer(integration: Integration, result: WebhookResult) -> HttpResponse:
    event = result.event
    if result.http_status < 300:
        if integration.kind == "twilio":
            response = HttpResponse(
                TWIML_EMPTY, content_type="text/xml; charset=utf-8", status=result.http_status
            )
        else:
            response = JsonResponse(
                {"status": event.status, "event": event.pk}, status=result.http_status
            )
    else:
        body = {"status": event.status, "event": event.pk}
        if event.status in (WebhookStatus.FAILED, WebhookStatus.REJECTED):
            body["error"] = event.error
        response = JsonResponse(body, status=result.http_status)
    response["X-Atende-Event"] = str(event.pk)
    return response


@csrf_exempt
def receive(request: HttpRequest, kind: str, public_id: str) -> HttpResponse:
    started = time.perf_counter()
    integration = integration_for_webhook(kind=kind, public_id=public_id)
    if integration is None:
        return JsonResponse({"error": "not found"}, status=404)
    if request.method != "POST":
        response = JsonResponse({"error": "method not allowed"}, status=405)
        response["Allow"] = "POST"
        return response
    raw_body, truncated = _read_body(request)
    content_type = (request.content_type or "").split(";", 1)[0].strip().lower()
    result = webhook_receive(
        integration=integration,
        raw_body=raw_body,
        body_truncated=truncated,
        content_type=content_type,
        headers=request.headers,
        query={key: request.GET.get(key, "") for key in request.GET},
        url=public_url(request, integration),
        started=started,
        refresh=lambda: integration_for_webhook(kind=kind, public_id=public_id, fresh=True),
    )
    return _answer(integration, result)
