"""The period and filters every metrics read takes, parsed once from query parameters.

The dashboard, the JSON/REST endpoints and the CSV export all call ``metrics_filter_from``
with the request's query string, so the same URL parameters mean the same numbers on
screen, in the API and in exports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from tenants.models import Company
from tickets.models import TicketStatus

PERIODS = ("today", "7d", "30d", "custom")
MAX_DAYS = 366
TRUE_VALUES = {"1", "true", "on", "yes"}


class FilterError(ValueError):
    """Bad query parameters: shown to the user / answered with a 400."""


@dataclass(frozen=True)
class MetricsFilter:
    start: datetime  # aware, inclusive
    end: datetime  # aware, exclusive
    period: str = "7d"
    agent_id: int | None = None
    queue_id: int | None = None
    tag: str = ""
    channel: str = ""  # integrations.IntegrationKind value
    status: str = ""  # tickets.TicketStatus value
    business_hours: bool = False

    @property
    def days(self) -> list[date]:
        """The local dates the period covers (in the company's time zone, set by the parser)."""
        tz = self.start.tzinfo
        first = self.start.date()
        last = (self.end - timedelta(microseconds=1)).astimezone(tz).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def as_params(self) -> dict[str, str]:
        """Query parameters that reproduce this filter (for links to the CSV and API)."""
        params: dict[str, str] = {"period": self.period}
        if self.period == "custom":
            params["start"] = self.start.date().isoformat()
            params["end"] = (self.end - timedelta(days=1)).date().isoformat()
        for key, value in (
            ("agent", self.agent_id),
            ("queue", self.queue_id),
            ("tag", self.tag),
            ("channel", self.channel),
            ("status", self.status),
        ):
            if value:
                params[key] = str(value)
        if self.business_hours:
            params["business_hours"] = "1"
        return params

    def with_business_hours(self, on: bool) -> MetricsFilter:
        return replace(self, business_hours=on)


def _int_or_none(params: Mapping[str, Any], key: str) -> int | None:
    raw = (params.get(key) or "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise FilterError(_("%(field)s must be a number.") % {"field": key}) from exc
    if value <= 0:
        raise FilterError(_("%(field)s must be a number.") % {"field": key})
    return value


def _date(params: Mapping[str, Any], key: str) -> date:
    raw = (params.get(key) or "").strip()
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise FilterError(_("%(field)s must be a date (YYYY-MM-DD).") % {"field": key}) from exc


def metrics_filter_from(
    company: Company, params: Mapping[str, Any], *, now: datetime | None = None
) -> MetricsFilter:
    """Parse ``period`` (today, 7d, 30d, custom with ``start``/``end`` dates, inclusive),
    ``agent``, ``queue``, ``tag``, ``channel``, ``status`` and ``business_hours``.
    Days are the company's local days. Raises FilterError on bad input."""
    from integrations.models import IntegrationKind

    tz = company.tzinfo
    today = (now or timezone.now()).astimezone(tz).date()
    period = (params.get("period") or "7d").strip()
    if period not in PERIODS:
        raise FilterError(_("Unknown period."))
    if period == "custom":
        first, last = _date(params, "start"), _date(params, "end")
        if last < first:
            raise FilterError(_("The end date is before the start date."))
        if (last - first).days + 1 > MAX_DAYS:
            raise FilterError(_("The period can cover at most %(days)s days.") % {"days": MAX_DAYS})
    else:
        span = {"today": 1, "7d": 7, "30d": 30}[period]
        first, last = today - timedelta(days=span - 1), today
    start = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    status = (params.get("status") or "").strip()
    if status and status not in TicketStatus.values:
        raise FilterError(_("Unknown status."))
    channel = (params.get("channel") or "").strip()
    if channel and channel not in IntegrationKind.values:
        raise FilterError(_("Unknown channel."))
    tag = (params.get("tag") or "").strip()[:100]
    return MetricsFilter(
        start=start,
        end=end,
        period=period,
        agent_id=_int_or_none(params, "agent"),
        queue_id=_int_or_none(params, "queue"),
        tag=tag,
        channel=channel,
        status=status,
        business_hours=(params.get("business_hours") or "").strip().lower() in TRUE_VALUES,
    )
