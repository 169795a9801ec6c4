"""Django handlers for the webhook URLs (``/webhooks/``): the same URLconf and views, with
the short middleware list ``settings.WEBHOOK_MIDDLEWARE`` instead of the full one.

Platforms post webhooks without cookies, sessions, CSRF tokens, languages or messages:
the staff-facing middleware (sessions, auth, CSRF, locale, messages, allauth, CSP...) only
costs CPU there (about half a millisecond per request, measured with bench/ingest.py).
``atende.wsgi`` and ``atende.asgi`` route ``/webhooks/`` here and everything else to
Django's own handler; Django's test client keeps the full stack (the views are the same).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler

WEBHOOK_PREFIX = "/webhooks/"


def _load_short(load: Callable[[bool], None], is_async: bool) -> None:
    full = settings.MIDDLEWARE
    settings.MIDDLEWARE = settings.WEBHOOK_MIDDLEWARE  # read once, while loading
    try:
        load(is_async)
    finally:
        settings.MIDDLEWARE = full


class WebhookWSGIHandler(WSGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        _load_short(super().load_middleware, is_async)


class WebhookASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        _load_short(super().load_middleware, is_async)


def freeze_startup_objects() -> None:
    """Call once Django is loaded. Everything loaded so far (Django, the apps, models,
    settings: ~200,000 objects) lives as long as the process; freezing it keeps the
    garbage collector's full passes to what requests allocate: they took 100-200 ms every
    ~15 requests of the metrics dashboard (a p95 spike), 1-3 ms frozen (bench/README.md,
    metrics).

    The URLconf is loaded first (its views, serializers, DRF, the admin), which Django
    otherwise imports on the first request, after the freeze: the first full pass
    after the first requests still took ~100 ms in the web servers, and a pass over an
    unfrozen ingest worker 150 ms, each a stall of every event in flight (bench/README.md,
    real time). A collection first, so that no garbage is kept for ever.
    """
    from django.urls import get_resolver

    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 - imports the URLconf and every view it names
    resolver.reverse_dict  # noqa: B018 - builds the reverse lookup tables once
    gc.collect()
    gc.freeze()


def wsgi_router(main: Any) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """``main`` for every path but ``/webhooks/`` (call after django.setup())."""
    webhooks = WebhookWSGIHandler()

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(WEBHOOK_PREFIX):
            return webhooks(environ, start_response)
        return main(environ, start_response)  # type: ignore[no-any-return]

    return application


def asgi_router(main: Any) -> Callable[..., Any]:
    """The ASGI counterpart of ``wsgi_router`` for HTTP scopes."""
    webhooks = WebhookASGIHandler()

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("path", "").startswith(WEBHOOK_PREFIX):
            await webhooks(scope, receive, send)
        else:
            await main(scope, receive, send)

    return application
