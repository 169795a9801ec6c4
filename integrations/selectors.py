"""Reads the integrations app needs outside its services."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings

from atende.rows import columns, fetch_all, fetch_one, in_ids
from integrations.adapters import ADAPTERS
from integrations.ai.models import AISettings
from integrations.models import Integration
from tenants.models import Company

__all__ = ["integration_for_webhook", "integrations_for_ingest"]


_WITH_COMPANY_SQL = (
    "FROM integrations_integration i "
    "JOIN tenants_company c ON c.id = i.company_id "
    "LEFT JOIN integrations_aisettings a ON a.company_id = c.id "
)


@functools.cache
def _columns() -> str:
    return f"{columns(Integration, 'i')}, {columns(Company, 'c')}, {columns(AISettings, 'a')}"


@functools.cache
def _webhook_sql() -> str:
    return (
        f"SELECT {_columns()} {_WITH_COMPANY_SQL}"
        "WHERE i.public_id = %s AND i.kind = %s AND i.is_active AND c.is_active "
        "LIMIT 1"
    )


def _attach(found: tuple[Any, ...]) -> Integration:
    integration, company, ai = found
    assert isinstance(integration, Integration) and isinstance(company, Company)  # noqa: S101
    integration.company = company
    Company.ai_settings.related.set_cached_value(company, ai)
    return integration


class _Kept[K]:
    """Integrations this process looked up, each kept ``WEBHOOK_INTEGRATION_CACHE_SECONDS``
    (0: none kept). A plain dict: a process serves a few integrations, cleared past
    ``MAX`` entries."""

    MAX = 10_000

    def __init__(self) -> None:
        self._rows: dict[K, tuple[float, Integration]] = {}

    @staticmethod
    def _ttl() -> float:
        return float(settings.WEBHOOK_INTEGRATION_CACHE_SECONDS)

    def get(self, key: K) -> Integration | None:
        kept = self._rows.get(key) if self._ttl() > 0 else None
        return kept[1] if kept is not None and kept[0] > time.monotonic() else None

    def put(self, key: K, integration: Integration) -> None:
        ttl = self._ttl()
        if ttl > 0:
            if len(self._rows) >= self.MAX:
                self._rows.clear()
            self._rows[key] = (time.monotonic() + ttl, integration)

    def forget(self, key: K) -> None:
        self._rows.pop(key, None)

    def clear(self) -> None:
        self._rows.clear()


# by (kind, public id): integration_for_webhook; by id: integrations_for_ingest
_recent: _Kept[tuple[str, str]] = _Kept()
_recent_by_id: _Kept[int] = _Kept()


def integration_for_webhook(
    *, kind: str, public_id: str, fresh: bool = False
) -> Integration | None:
    """The active integration a webhook URL names, or None (unknown id, wrong kind,
    inactive integration or company): the caller answers 404 and stores nothing.

    Its company and the company's AI settings come with it in one plain statement (every
    webhook runs this; the ingest hook reads the AI settings for each customer message).
    A found integration is kept in the process for ``WEBHOOK_INTEGRATION_CACHE_SECONDS``
    (the lookup was half of a queued webhook's own cost): a deactivation reaches the
    webhook URL within that time, and a signature that fails against a kept copy is
    checked again against a ``fresh`` one (rotated secrets work at once; docs/webhooks.md).
    Unknown ids are never kept."""
    if kind not in ADAPTERS:  # e.g. "web": no webhook
        return None
    key = (kind, public_id)
    kept = None if fresh else _recent.get(key)
    if kept is not None:
        return kept
    found = fetch_one(_webhook_sql(), [public_id, kind], Integration, Company, AISettings)
    if found is None:
        _recent.forget(key)
        return None
    integration = _attach(found)
    _recent.put(key, integration)
    return integration


def integrations_for_ingest(ids: Iterable[int]) -> dict[int, Integration]:
    """The integrations of a batch of stored events by id, each with its company and the
    company's AI settings (as ``integration_for_webhook``), active or not: an event
    accepted while the integration was active is still ingested. Kept in the process for
    ``WEBHOOK_INTEGRATION_CACHE_SECONDS`` like the webhook URL's lookup (an ingest worker
    sees the same few integrations batch after batch)."""
    found: dict[int, Integration] = {}
    missing: list[int] = []
    for pk in sorted(set(ids)):
        kept = _recent_by_id.get(pk)
        if kept is not None:
            found[pk] = kept
        else:
            missing.append(pk)
    if missing:
        where, params = in_ids("i.id", missing)
        sql = f"SELECT {_columns()} {_WITH_COMPANY_SQL}WHERE {where}"
        for row in fetch_all(sql, params, Integration, Company, AISettings):
            integration = _attach(row)
            found[integration.pk] = integration
            _recent_by_id.put(integration.pk, integration)
    return found
