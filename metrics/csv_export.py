"""Streamed CSV exports of the per-ticket and per-agent tables.

Rows come from the same selectors as the dashboard and the API (same filters, same
business-hours rule), written as they are produced so the first byte leaves at once.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from tenants.models import Company

from . import selectors
from .filters import MetricsFilter

AGENT_COLUMNS = [
    "agent_id",
    "name",
    "email",
    "tickets",
    "messages",
    "replies",
    "first_response_p50",
    "first_response_p90",
    "reply_p50",
    "reply_p90",
    "resolved",
    "resolution_p50",
    "online_seconds",
]
TICKET_COLUMNS = [
    "number",
    "status",
    "priority",
    "queue",
    "assignee",
    "channel",
    "contact",
    "tags",
    "created_at",
    "resolved_at",
    "reopen_count",
    "first_response_seconds",
    "answered_first_by_ai",
    "resolution_seconds",
    "handling_seconds",
    "queue_wait_seconds",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any, tz: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)  # exact: the same number the screen and the API carry
    return value


def _rows(columns: list[str], rows: Iterable[dict[str, Any]], tz: Any) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([_cell(row[c], tz) for c in columns])


def export_rows(company: Company, f: MetricsFilter, table: str) -> Iterator[str]:
    if table == "agents":
        return _rows(AGENT_COLUMNS, selectors.agent_table(company, f), company.tzinfo)
    if table == "tickets":
        return _rows(TICKET_COLUMNS, selectors.ticket_rows(company, f), company.tzinfo)
    raise ValueError(_("Unknown table."))
