"""tickets.services.hours.business_seconds_between, as metrics use it."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from tickets.services.hours import business_seconds_between

SP = ZoneInfo("America/Sao_Paulo")
WEEKDAYS = {
    d: [["09:00", "12:00"], ["13:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")
}


def company(hours=None, tz="America/Sao_Paulo"):
    return SimpleNamespace(business_hours=hours or {}, timezone=tz, tzinfo=ZoneInfo(tz))


def test_without_hours_every_second_counts() -> None:
    start, end = datetime(2026, 11, 6, 17, tzinfo=SP), datetime(2026, 11, 9, 9, tzinfo=SP)
    assert business_seconds_between(company(), start, end) == 64 * 3600


def test_only_working_windows_count_across_a_weekend_and_lunch() -> None:
    start = datetime(2026, 11, 6, 11, 0, tzinfo=SP)  # Friday 11:00
    end = datetime(2026, 11, 9, 14, 0, tzinfo=SP)  # Monday 14:00
    # Friday 11-12 and 13-18 (6 h), Monday 9-12 and 13-14 (4 h).
    assert business_seconds_between(company(WEEKDAYS), start, end) == 10 * 3600


def test_the_queue_hours_win_over_the_company_hours() -> None:
    queue = SimpleNamespace(business_hours={"sat": [["08:00", "24:00"]]})
    start = datetime(2026, 11, 7, 6, 0, tzinfo=SP)  # Saturday
    end = datetime(2026, 11, 8, 6, 0, tzinfo=SP)
    assert business_seconds_between(company(WEEKDAYS), start, end, queue) == 16 * 3600
    assert business_seconds_between(company(WEEKDAYS), start, end) == 0


def test_hours_are_read_in_the_company_time_zone() -> None:
    utc = ZoneInfo("UTC")
    # 12:00-13:00 UTC is 09:00-10:00 in São Paulo (open) but 12:00-13:00 in UTC (open too);
    # 21:00-22:00 UTC is 18:00-19:00 in São Paulo: closed there.
    start, end = datetime(2026, 11, 4, 21, tzinfo=utc), datetime(2026, 11, 4, 22, tzinfo=utc)
    assert business_seconds_between(company(WEEKDAYS), start, end) == 0
    assert business_seconds_between(company(WEEKDAYS, "UTC"), start, end) == 0
    start, end = datetime(2026, 11, 4, 12, tzinfo=utc), datetime(2026, 11, 4, 13, tzinfo=utc)
    assert business_seconds_between(company(WEEKDAYS), start, end) == 3600


def test_empty_or_reversed_intervals_are_zero() -> None:
    t = datetime(2026, 11, 4, 10, tzinfo=SP)
    assert business_seconds_between(company(WEEKDAYS), t, t) == 0
    assert business_seconds_between(company(WEEKDAYS), t, None) == 0
    assert business_seconds_between(company(WEEKDAYS), t, t.replace(hour=9)) == 0
