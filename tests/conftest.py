"""Shared fixtures: a company, another company, and people in each role plus an outsider
(STYLE.md rule 17). Tests run against the PostgreSQL/Redis of DATABASE_URL/REDIS_URL."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tenants.models import Company, Membership, Role, User

PASSWORD = "correct horse battery staple"


def make_user(email: str, *, password: str = PASSWORD, **extra: Any) -> User:
    return User.objects.create_user(email=email, password=password, **extra)


def make_member(company: Company, email: str, role: str = Role.AGENT, **extra: Any) -> User:
    user = make_user(email, full_name=email.split("@")[0].title())
    Membership.objects.create(company=company, user=user, role=role, **extra)
    return user


@pytest.fixture
def company(db: None) -> Company:
    return Company.objects.create(name="Loja Azul", slug="loja-azul")


@pytest.fixture
def other_company(db: None) -> Company:
    return Company.objects.create(name="Outra Empresa", slug="outra")


@pytest.fixture
def admin_user(company: Company) -> User:
    return make_member(company, "admin@azul.test", Role.ADMIN)


@pytest.fixture
def supervisor(company: Company) -> User:
    return make_member(company, "supervisor@azul.test", Role.SUPERVISOR)


@pytest.fixture
def agent(company: Company) -> User:
    return make_member(company, "agent@azul.test", Role.AGENT)


@pytest.fixture
def outsider(other_company: Company) -> User:
    """An admin of another company: must see nothing of ``company``."""
    return make_member(other_company, "charlie@outra.test", Role.ADMIN)


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser(email="root@atende.test", password=PASSWORD)


def jwt_for(user: User) -> str:
    return str(RefreshToken.for_user(user).access_token)


@pytest.fixture
def api_client_for() -> Callable[[User], APIClient]:
    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt_for(user)}")
        return client

    return make


@pytest.fixture
def client_for(client: Any) -> Callable[[User], Any]:
    from django.test import Client

    def make(user: User) -> Client:
        c = Client()
        c.force_login(user)
        return c

    return make


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


def clear_cached_state() -> None:
    """Delete this installation's cache keys (rate limits...), leaving the channel layer,
    the Celery broker and other users of the same Redis untouched."""
    from django.conf import settings
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    keys = list(client.scan_iter(match=f"{settings.REDIS_PREFIX}:*", count=1000))
    keys = [k for k in keys if b":asgi" not in k and b":celery" not in k]
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _inline_realtime(settings: Any) -> None:
    """Events are published inside the after-commit hook, so a test can assert right after
    the call; tests of the publisher thread set REALTIME_PUBLISH back to "thread"."""
    settings.REALTIME_PUBLISH = "inline"


@pytest.fixture(autouse=True)
def _inline_webhooks(settings: Any) -> None:
    """Webhooks are ingested inside the request, so a test can assert on what a POST
    created; the tests of queued ingest (tests/integrations/test_queued_ingest.py) set
    WEBHOOK_INGEST back to "queued" and run the worker's batches themselves."""
    settings.WEBHOOK_INGEST = "inline"


@pytest.fixture(autouse=True)
def _fresh_integration_lookups(settings: Any) -> Any:
    """Each webhook looks its integration up (tests change integrations between posts);
    tests/integrations/test_queued_ingest.py covers the kept copies."""
    from integrations import selectors

    settings.WEBHOOK_INTEGRATION_CACHE_SECONDS = 0
    selectors._recent.clear()
    selectors._recent_by_id.clear()
    yield
    selectors._recent.clear()
    selectors._recent_by_id.clear()


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    """Cached state must not leak between tests (or between runs on a real Redis)."""
    clear_cached_state()
    yield


@contextmanager
def round_trips() -> Iterator[list[int]]:
    """Count the client's requests to PostgreSQL that wait for an answer (on any
    connection): a statement outside a pipeline, a COMMIT, and a pipeline's Sync or flush
    (however many statements it carries). ``counted[0]`` is the count."""
    import psycopg._cursor_base as cursor_base
    import psycopg._pipeline_base as pipeline_base
    import psycopg.generators as generators

    counted = [0]
    patched: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, counts: Callable[..., bool]) -> None:
        original = getattr(owner, name)

        def counting(*args: Any, **kwargs: Any) -> Any:
            if counts(*args, **kwargs):
                counted[0] += 1
            return original(*args, **kwargs)

        patched.append((owner, name, original))
        setattr(owner, name, counting)

    patch(cursor_base, "execute", lambda *a, **k: True)
    patch(generators, "execute", lambda *a, **k: True)  # the connection's commands
    base = pipeline_base.BasePipeline
    patch(base, "_sync_gen", lambda *a, **k: True)
    patch(base, "_exit_gen", lambda *a, **k: True)
    # a cursor's fetch inside a pipeline (the exit's own flush is part of its Sync)
    patch(
        base,
        "_fetch_gen",
        lambda self, *, flush: bool(
            flush and self.result_queue and sys._getframe(2).f_code.co_name != "_exit_gen"
        ),
    )
    try:
        yield counted
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)
