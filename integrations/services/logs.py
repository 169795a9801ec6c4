"""The per-company integration log (``integrations.LogEntry``), written by every part that
talks to a platform: webhooks, sends, the AI attendant, Google Sheets, routing."""

from __future__ import annotations

from typing import Any

from integrations.models import Integration, LogEntry, LogLevel
from tenants.models import Company

__all__ = ["log_entry"]

MAX_MESSAGE_CHARS = 2000


def log_entry(
    *,
    company: Company | int,
    level: str = LogLevel.INFO,
    source: str,
    message: str,
    context: dict[str, Any] | None = None,
    integration: Integration | None = None,
) -> LogEntry:
    """Record one line of integration activity for the company's admins.

    ``source`` names the part that logs ("webhook", "send", "ai", "sheets", "routing"...).
    ``context`` must be JSON-serialisable and must not hold secrets.
    """
    company_id = company if isinstance(company, int) else company.pk
    return LogEntry.objects.create(
        company_id=company_id,
        integration=integration,
        level=level,
        source=source[:40],
        message=message[:MAX_MESSAGE_CHARS],
        context=context or {},
    )
