"""Request ids and log context: every log line carries request id, user and company."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
user_var: contextvars.ContextVar[str] = contextvars.ContextVar("user", default="-")
company_var: contextvars.ContextVar[str] = contextvars.ContextVar("company", default="-")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def bind_company(slug: str) -> None:
    """Called by tenant resolution (views, API, tasks) so logs name the company."""
    company_var.set(slug)


class LogContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.user = user_var.get()
        record.company = company_var.get()
        return True


class RequestIdMiddleware:
    """Takes a sane X-Request-ID from the proxy or makes one, and echoes it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = rid  # type: ignore[attr-defined]
        tokens = (request_id_var.set(rid), user_var.set("-"), company_var.set("-"))
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(tokens[0])
            user_var.reset(tokens[1])
            company_var.reset(tokens[2])
        response["X-Request-ID"] = rid
        return response


class LogContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            user_var.set(str(user.pk))
        return self.get_response(request)
