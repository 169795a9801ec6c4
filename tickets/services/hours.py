"""Business hours: is a company (or queue) open now, and how many working seconds lie
between two instants. Metrics use ``business_seconds_between`` for business-hours mode,
so the screen and the exports follow the same rule.

Format (``Company.business_hours``, ``Queue.business_hours``), in the company's time zone::

    {"mon": [["08:00", "12:00"], ["13:00", "18:00"]], "tue": [...], ..., "sun": [],
     "holidays": ["2026-12-25", "2027-01-01"]}

- A queue with hours of its own uses them instead of the company's.
- No weekday configured anywhere: always open (a 24/7 operation; business-hours mode
  then equals calendar mode). With some weekdays configured, a missing day is closed.
- ``"24:00"`` ends a window at midnight. A window whose end is not after its start runs
  overnight: ``["22:00", "06:00"]`` on Friday is Friday 22:00 to Saturday 06:00.
- On a holiday (a local date) nothing is open, including the morning part of the previous
  day's overnight window.
- Local wall-clock times are turned into instants with ``zoneinfo``, and durations are
  measured in UTC, so zones with daylight saving time count real seconds; for zones
  without it (America/Sao_Paulo since 2019) every working day has its nominal length.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60

# weekday (0=Mon) -> ((start_minute, end_minute), ...) with 0 <= start < end <= 1440.
Weekly = tuple[tuple[tuple[int, int], ...], ...]


def _minutes(value: Any) -> int:
    text = str(value).strip()
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(text)
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and m):
        raise ValueError(text)
    return h * 60 + m


def validate_hours(spec: Any) -> dict[str, Any]:
    """Check and normalise an hours mapping; raises ValidationError with a clear message."""
    if spec in (None, "", {}):
        return {}
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except ValueError:
            raise ValidationError(_("Business hours must be valid JSON.")) from None
    if not isinstance(spec, dict):
        raise ValidationError(_("Business hours must map weekdays to time windows."))
    unknown = set(spec) - {*DAY_KEYS, "holidays"}
    if unknown:
        raise ValidationError(
            _("Unknown key in business hours: %(keys)s.") % {"keys": ", ".join(sorted(unknown))}
        )
    out: dict[str, Any] = {}
    for day in DAY_KEYS:
        windows = spec.get(day)
        if windows is None:
            continue
        if not isinstance(windows, list):
            raise ValidationError(_("%(day)s: a list of [start, end] pairs.") % {"day": day})
        clean = []
        for pair in windows:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise ValidationError(_("%(day)s: a list of [start, end] pairs.") % {"day": day})
            try:
                start, end = _minutes(pair[0]), _minutes(pair[1])
            except ValueError:
                raise ValidationError(
                    _("%(day)s: times are HH:MM, from 00:00 to 24:00.") % {"day": day}
                ) from None
            if start in (DAY_MINUTES, end):
                raise ValidationError(_("%(day)s: a window cannot be empty.") % {"day": day})
            clean.append([str(pair[0]).strip(), str(pair[1]).strip()])
        out[day] = clean
    holidays = spec.get("holidays") or []
    if not isinstance(holidays, list):
        raise ValidationError(_("Holidays: a list of dates (YYYY-MM-DD)."))
    try:
        out_holidays = sorted({date.fromisoformat(str(d)).isoformat() for d in holidays})
    except ValueError:
        raise ValidationError(_("Holidays: a list of dates (YYYY-MM-DD).")) from None
    if out_holidays:
        out["holidays"] = out_holidays
    return out


@functools.lru_cache(maxsize=512)
def _compile(spec_json: str) -> tuple[Weekly, frozenset[date]] | None:
    spec = json.loads(spec_json)
    if not any(day in spec for day in DAY_KEYS):
        return None  # nothing configured: always open
    weekly: list[list[tuple[int, int]]] = [[] for _ in DAY_KEYS]
    for index, day in enumerate(DAY_KEYS):
        for pair in spec.get(day) or []:
            try:
                start, end = _minutes(pair[0]), _minutes(pair[1])
            except (ValueError, IndexError, TypeError):
                continue  # a malformed stored window counts as closed, never crashes
            if end > start:
                weekly[index].append((start, end))
            elif start < DAY_MINUTES:  # overnight: the tail belongs to the next day
                weekly[index].append((start, DAY_MINUTES))
                if end > 0:
                    weekly[(index + 1) % 7].append((0, end))
    holidays = set()
    for raw in spec.get("holidays") or []:
        try:
            holidays.add(date.fromisoformat(str(raw)))
        except ValueError:
            continue
    merged = tuple(tuple(_merge(sorted(day))) for day in weekly)
    return merged, frozenset(holidays)


def _merge(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in windows:
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def hours_for(company: Any, queue: Any = None) -> dict[str, Any]:
    """The hours that apply: the queue's own when it has weekdays set, else the company's."""
    queue_hours = getattr(queue, "business_hours", None) if queue is not None else None
    if queue_hours and any(day in queue_hours for day in DAY_KEYS):
        return queue_hours
    return getattr(company, "business_hours", None) or {}


def _tz(company: Any) -> Any:
    tz = getattr(company, "tzinfo", None)
    return tz if tz is not None else ZoneInfo(company.timezone)


def _schedule(company: Any, queue: Any) -> tuple[Weekly, frozenset[date]] | None:
    return _compile(json.dumps(hours_for(company, queue), sort_keys=True))


def is_open(company: Any, queue: Any = None, at: datetime | None = None) -> bool:
    """Is the company (or the queue) within business hours at ``at`` (default: now)?"""
    schedule = _schedule(company, queue)
    if schedule is None:
        return True
    weekly, holidays = schedule
    if at is None:
        at = datetime.now(UTC)
    local = at.astimezone(_tz(company))
    if local.date() in holidays:
        return False
    minute = local.hour * 60 + local.minute + local.second / 60
    return any(start <= minute < end for start, end in weekly[local.weekday()])


def _at(day: date, minute: int, tz: Any) -> datetime:
    if minute >= DAY_MINUTES:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)


def business_seconds_between(
    company: Any, start: datetime | None, end: datetime | None, queue: Any = None
) -> float:
    """Working seconds in ``[start, end)`` under the company's (or queue's) hours;
    0 when either end is missing or ``end <= start``. Calendar seconds when no hours are
    configured."""
    if start is None or end is None or end <= start:
        return 0.0
    schedule = _schedule(company, queue)
    if schedule is None:
        return (end - start).total_seconds()
    weekly, holidays = schedule
    tz = _tz(company)
    start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
    day = start_utc.astimezone(tz).date()
    last = end_utc.astimezone(tz).date()
    total = 0.0
    while day <= last:
        if day not in holidays:
            for w_start, w_end in weekly[day.weekday()]:
                lo = max(_at(day, w_start, tz).astimezone(UTC), start_utc)
                hi = min(_at(day, w_end, tz).astimezone(UTC), end_utc)
                if hi > lo:
                    total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total


def next_opening(company: Any, queue: Any = None, at: datetime | None = None) -> datetime | None:
    """When the company (queue) next opens after ``at`` (None when always open or never)."""
    schedule = _schedule(company, queue)
    if schedule is None:
        return None
    weekly, holidays = schedule
    tz = _tz(company)
    at = at or datetime.now(UTC)
    local = at.astimezone(tz)
    for offset in range(0, 370):
        day = local.date() + timedelta(days=offset)
        if day in holidays:
            continue
        for w_start, _end in weekly[day.weekday()]:
            opening = _at(day, w_start, tz)
            if opening > at:
                return opening
    return None
