"""Reads the integrations app needs outside its services."""

from __future__ import annotations

from integrations.adapters import ADAPTERS
from integrations.models import Integration

__all__ = ["integration_for_webhook"]


def integration_for_webhook(*, kind: str, public_id: str) -> Integration | None:
    """The active integration a webhook URL names, or None (unknown id, wrong kind,
    inactive integration or company): the caller answers 404 and stores nothing."""
    if kind not in ADAPTERS:  # e.g. "web": no webhook
        return None
    return (
        # The company's AI settings ride along: the ingest hook reads them for every
        # customer message (None is cached too when the company has none).
        Integration.objects.select_related("company", "company__ai_settings")
        .filter(public_id=public_id, kind=kind, is_active=True, company__is_active=True)
        .first()
    )
