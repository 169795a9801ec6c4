"""Reads the integrations app needs outside its services."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings

from atende.rows import columns, fetch_all, fetch_one
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


# (kind, public id) -> (valid until, integration): see integration_for_webhook.
_recent: dict[tuple[str, str], tuple[float, Integration]] = {}
_RECENT_MAX = 10_000


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
    ttl = float(settings.WEBHOOK_INTEGRATION_CACHE_SECONDS)
    key = (kind, public_id)
    now = time.monotonic()
    if ttl > 0 and not fresh:
        kept = _recent.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
    found = fetch_one(_webhook_sql(), [public_id, kind], Integration, Company, AISettings)
    if found is None:
        _recent.pop(key, None)
        return None
    integration = _attach(found)
    if ttl > 0:
        if len(_recent) >= _RECENT_MAX:
            _recent.clear()
        _recent[key] = (now + ttl, integration)
    return integration


# integration id -> (valid until, integration): see integrations_for_ingest.
_recent_by_id: dict[int, tuple[float, Integration]] = {}


def integrations_for_ingest(ids: Iterable[int]) -> dict[int, Integration]:
    """The integrations of a batch of stored events by id, each with its company and the
    company's AI settings (as ``integration_for_webhook``), active or not: an event
    accepted while the integration was active is still ingested. Kept in the process for
    ``WEBHOOK_INTEGRATION_CACHE_SECONDS`` like the webhook URL's lookup (an ingest worker
    sees the same few integrations batch after batch)."""
    ttl = float(settings.WEBHOOK_INTEGRATION_CACHE_SECONDS)
    now = time.monotonic()
    found: dict[int, Integration] = {}
    missing: list[int] = []
    for pk in sorted(set(ids)):
        kept = _recent_by_id.get(pk) if ttl > 0 else None
        if kept is not None and kept[0] > now:
            found[pk] = kept[1]
        else:
            missing.append(pk)
    if missing:
        marks = ", ".join(["%s"] * len(missing))
        sql = f"SELECT {_columns()} {_WITH_COMPANY_SQL}WHERE i.id IN ({marks})"
        for row in fetch_all(sql, missing, Integration, Company, AISettings):
            integration = _attach(row)
            found[integration.pk] = integration
            if ttl > 0:
                if len(_recent_by_id) >= _RECENT_MAX:
                    _recent_by_id.clear()
                _recent_by_id[integration.pk] = (now + ttl, integration)
    return found
