"""Reads the integrations app needs outside its services."""

from __future__ import annotations

import functools

from atende.rows import columns, fetch_one
from integrations.adapters import ADAPTERS
from integrations.ai.models import AISettings
from integrations.models import Integration
from tenants.models import Company

__all__ = ["integration_for_webhook"]


@functools.cache
def _webhook_sql() -> str:
    return (
        f"SELECT {columns(Integration, 'i')}, {columns(Company, 'c')}, "  # noqa: S608 - column names from the models
        f"{columns(AISettings, 'a')} "
        "FROM integrations_integration i "
        "JOIN tenants_company c ON c.id = i.company_id "
        "LEFT JOIN integrations_aisettings a ON a.company_id = c.id "
        "WHERE i.public_id = %s AND i.kind = %s AND i.is_active AND c.is_active "
        "LIMIT 1"
    )


def integration_for_webhook(*, kind: str, public_id: str) -> Integration | None:
    """The active integration a webhook URL names, or None (unknown id, wrong kind,
    inactive integration or company): the caller answers 404 and stores nothing.

    Its company and the company's AI settings come with it in one plain statement (every
    webhook runs this; the ingest hook reads the AI settings for each customer message)."""
    if kind not in ADAPTERS:  # e.g. "web": no webhook
        return None
    found = fetch_one(_webhook_sql(), [public_id, kind], Integration, Company, AISettings)
    if found is None:
        return None
    integration, company, ai = found
    assert isinstance(integration, Integration) and isinstance(company, Company)  # noqa: S101
    integration.company = company
    Company.ai_settings.related.set_cached_value(company, ai)
    return integration
