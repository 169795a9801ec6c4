"""Business hours: how many seconds of an interval fall inside a company's working hours.

Written by the metrics work as a stand-in until the ticket workflow lands its own; the
signature ``business_seconds_between(company, start, end, queue=None)`` is the contract.

Hours are a mapping ``{"mon": [["08:00", "18:00"]], "tue": [...], ...}`` in the company's
time zone. A queue's own hours win over the company's; with none configured anywhere, every
second counts (a 24/7 operation), so business-hours mode equals calendar mode.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse(value: str) -> time | None:
    """ "08:00" -> time(8, 0); "24:00" -> None (meaning the end of the day)."""
    hours, _, minutes = value.partition(":")
    h, m = int(hours), int(minutes or 0)
    if h >= 24:
        return None
    return time(h, m)


def hours_for(company: Any, queue: Any = None) -> dict[str, list[list[str]]]:
    """The weekly hours that apply: the queue's, else the company's, else {} (always open)."""
    queue_hours = getattr(queue, "business_hours", None) if queue is not None else None
    if queue_hours:
        return queue_hours
    return getattr(company, "business_hours", None) or {}


def _windows(
    day: date, hours: dict[str, list[list[str]]], tz: Any
) -> list[tuple[datetime, datetime]]:
    out = []
    for pair in hours.get(DAY_KEYS[day.weekday()], []) or []:
        try:
            opens, closes = _parse(pair[0]), _parse(pair[1])
        except (ValueError, IndexError, TypeError):
            continue  # a malformed window counts as closed rather than breaking metrics
        start = datetime.combine(day, opens or time(0), tzinfo=tz)
        end = (
            datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
            if closes is None
            else datetime.combine(day, closes, tzinfo=tz)
        )
        if end > start:
            out.append((start, end))
    return out


def business_seconds_between(
    company: Any, start: datetime | None, end: datetime | None, queue: Any = None
) -> float:
    """Seconds between ``start`` and ``end`` that fall inside working hours (>= 0)."""
    if start is None or end is None or end <= start:
        return 0.0
    hours = hours_for(company, queue)
    if not hours or not any(hours.get(k) for k in DAY_KEYS):
        return (end - start).total_seconds()
    tz = company.tzinfo
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    total = 0.0
    day = local_start.date()
    while day <= local_end.date():
        for w_start, w_end in _windows(day, hours, tz):
            lo, hi = max(w_start, start), min(w_end, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total
