"""Business hours: open/closed, overnight, weekends, holidays, and working seconds
between two instants computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from tickets.services.hours import business_seconds_between, is_open, next_opening, validate_hours

SP = ZoneInfo("America/Sao_Paulo")
WEEKDAYS = {
    d: [["08:00", "12:00"], ["13:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")
}


def company(hours=None, tz="America/Sao_Paulo"):
    return SimpleNamespace(business_hours=hours or {}, timezone=tz)


def sp(*args):
    return datetime(*args, tzinfo=SP)


H = 3600


def test_no_hours_configured_means_always_open_and_calendar_seconds() -> None:
    c = company()
    assert is_open(c, None, sp(2026, 11, 22, 3, 0))
    assert business_seconds_between(c, sp(2026, 11, 20, 10), sp(2026, 11, 21, 10)) == 24 * H


def test_open_and_closed_within_a_weekday_with_a_lunch_break() -> None:
    c = company(WEEKDAYS)
    assert is_open(c, None, sp(2026, 11, 23, 8, 0))  # Monday 08:00 opens
    assert not is_open(c, None, sp(2026, 11, 23, 12, 30))  # lunch
    assert not is_open(c, None, sp(2026, 11, 23, 18, 0))  # closes at 18:00 sharp
    assert not is_open(c, None, sp(2026, 11, 22, 10, 0))  # Sunday
    # The same instant given in UTC.
    assert is_open(c, None, datetime(2026, 11, 23, 11, 0, tzinfo=UTC))


def test_an_overnight_window_runs_into_the_next_day_and_across_the_weekend() -> None:
    c = company({"fri": [["22:00", "06:00"]], "sun": [["20:00", "24:00"]]})
    assert is_open(c, None, sp(2026, 11, 27, 23, 0))  # Friday night
    assert is_open(c, None, sp(2026, 11, 28, 5, 59))  # Saturday early morning
    assert not is_open(c, None, sp(2026, 11, 28, 6, 0))
    assert is_open(c, None, sp(2026, 11, 29, 23, 59))  # Sunday until midnight
    assert not is_open(c, None, sp(2026, 11, 30, 0, 0))  # Monday: closed


def test_business_seconds_within_one_day() -> None:
    c = company(WEEKDAYS)
    # Monday 11:00 -> 14:00: 1 h before lunch + 1 h after.
    assert business_seconds_between(c, sp(2026, 11, 23, 11), sp(2026, 11, 23, 14)) == 2 * H
    # Inside lunch only: nothing.
    assert business_seconds_between(c, sp(2026, 11, 23, 12, 10), sp(2026, 11, 23, 12, 50)) == 0
    # Reversed or missing: zero.
    assert business_seconds_between(c, sp(2026, 11, 23, 14), sp(2026, 11, 23, 11)) == 0
    assert business_seconds_between(c, None, sp(2026, 11, 23, 11)) == 0


def test_business_seconds_across_a_weekend() -> None:
    c = company(WEEKDAYS)
    # Friday 17:00 -> Monday 09:00: 1 h Friday + 1 h Monday.
    assert business_seconds_between(c, sp(2026, 11, 27, 17), sp(2026, 11, 30, 9)) == 2 * H
    # A whole week: 5 days x 9 h.
    start = sp(2026, 11, 23, 0)
    assert business_seconds_between(c, start, start + timedelta(days=7)) == 45 * H


def test_business_seconds_over_an_overnight_shift_and_a_holiday() -> None:
    c = company({"fri": [["22:00", "06:00"]], "holidays": ["2026-12-25"]})
    # Friday 2026-11-27 21:00 -> Saturday 07:00: the whole 8 h shift.
    assert business_seconds_between(c, sp(2026, 11, 27, 21), sp(2026, 11, 28, 7)) == 8 * H
    # Friday 2026-12-25 is a holiday: its own 2 h before midnight do not count; the
    # Saturday-morning tail (not a holiday) does.
    assert business_seconds_between(c, sp(2026, 12, 25, 0), sp(2026, 12, 26, 12)) == 6 * H


def test_seconds_are_real_seconds_across_a_dst_change() -> None:
    # New York springs forward on 2026-03-08 at 02:00: that Sunday lasts 23 h.
    c = company({"sun": [["00:00", "24:00"]]}, tz="America/New_York")
    ny = ZoneInfo("America/New_York")
    start = datetime(2026, 3, 8, 0, 0, tzinfo=ny)
    assert business_seconds_between(c, start, start + timedelta(days=2)) == 23 * H


def test_a_long_range_is_fast() -> None:
    import time

    c = company(WEEKDAYS)
    t0 = time.perf_counter()
    total = business_seconds_between(c, sp(2025, 1, 1), sp(2026, 1, 1))
    assert time.perf_counter() - t0 < 0.05
    assert total == 261 * 9 * H  # 261 weekdays in 2025


def test_queue_hours_override_the_company() -> None:
    c = company(WEEKDAYS)
    queue = SimpleNamespace(business_hours={"sat": [["09:00", "13:00"]]})
    saturday = sp(2026, 11, 28, 10)
    assert not is_open(c, None, saturday)
    assert is_open(c, queue, saturday)
    assert is_open(c, SimpleNamespace(business_hours={}), sp(2026, 11, 23, 9))


def test_next_opening() -> None:
    c = company(WEEKDAYS)
    assert next_opening(c, None, sp(2026, 11, 27, 19)) == sp(2026, 11, 30, 8)
    assert next_opening(company(), None, sp(2026, 11, 27, 19)) is None


@pytest.mark.parametrize(
    "bad",
    [
        {"mon": [["8h", "18h"]]},
        {"mon": [["08:00"]]},
        {"funday": [["08:00", "18:00"]]},
        {"mon": [["25:00", "26:00"]]},
        {"mon": [["08:00", "08:00"]]},
        {"holidays": ["25/12"]},
        "not json",
        [1, 2],
    ],
)
def test_malformed_hours_are_refused_with_a_message(bad) -> None:
    with pytest.raises(ValidationError):
        validate_hours(bad)


def test_valid_hours_are_normalised() -> None:
    assert validate_hours('{"mon": [["08:00", "18:00"]], "holidays": ["2026-12-25"]}') == {
        "mon": [["08:00", "18:00"]],
        "holidays": ["2026-12-25"],
    }
    assert validate_hours({}) == {}
