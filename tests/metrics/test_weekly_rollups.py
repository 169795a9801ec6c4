"""The weekly response-time buckets (metrics.models.ResponseTimeWeek): the sums of the
source rows per local ISO week, kept by the message's one roll-up statement, and the
periods that read whole weeks from them and the days at either end from the daily rows."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations import hooks
from conversations.models import Message
from metrics import rollups, selectors
from metrics.filters import metrics_filter_from
from metrics.models import ResponseTime, ResponseTimeBucket, ResponseTimeWeek
from metrics.services import record_on_message_stored
from tests.conftest import is_postgres

from . import test_rollups
from .builders import inbound, make_ticket
from .test_rollups import _close, _random_traffic, _raw

pytestmark = pytest.mark.django_db

# Traffic from Tuesday 2026-10-27 for about eight days: across a month boundary and
# three ISO weeks (Mondays 10-26, 11-02 and the start of 11-09 with the reopens).
START = datetime(2026, 10, 27, 21, 30, tzinfo=ZoneInfo("America/Sao_Paulo"))
PERIODS = [
    ("2026-10-25", "2026-11-09"),  # a day, two whole weeks (one over the month's end), a day
    ("2026-10-28", "2026-11-10"),  # the month's end in the leading days, one whole week
    ("2026-10-26", "2026-11-08"),  # whole weeks only
    ("2026-10-29", "2026-11-03"),  # no whole week: daily rows only
    ("2026-10-01", "2026-11-30"),  # long: weeks with no data, partial weeks at both ends
]


def _week_rows(company: Any) -> list[tuple]:
    return sorted(
        ResponseTimeWeek.objects.for_company(company)
        .values_list("business", "week", "scope", "scope_id", "metric", "bucket", "n", "lo", "hi")
        .order_by()
    )


def _expected_week_rows(company: Any) -> list[tuple]:
    """The weekly rows computed straight from the response-time rows."""
    tz = company.tzinfo
    acc: dict[tuple, list[Any]] = defaultdict(lambda: [0, None, None])
    for rt in ResponseTime.objects.for_company(company):
        week = rollups.week_of(rt.answered_at.astimezone(tz).date())
        for scope, scope_id, metric, business, value in rollups.response_time_entries(rt):
            key = (business, week, scope, scope_id, metric, rollups.bucket_of(value))
            a = acc[key]
            a[0] += 1
            a[1] = value if a[1] is None else min(a[1], value)
            a[2] = value if a[2] is None else max(a[2], value)
    return sorted((*key, n, lo, hi) for key, (n, lo, hi) in acc.items())


def test_split_weeks_keeps_whole_iso_weeks_and_the_days_around_them() -> None:
    def days(first: date, last: date) -> list[date]:
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    # Sunday 10-25 .. Monday 11-23 (the bench's 30 days): four weeks and two days.
    weeks, rest = selectors.split_weeks(days(date(2026, 10, 25), date(2026, 11, 23)))
    assert weeks == [date(2026, 10, 26) + timedelta(weeks=i) for i in range(4)]
    assert rest == [date(2026, 10, 25), date(2026, 11, 23)]
    # Tuesday .. Wednesday of the next week: no whole week.
    weeks, rest = selectors.split_weeks(days(date(2026, 11, 3), date(2026, 11, 11)))
    assert weeks == [] and len(rest) == 9
    # Monday .. Sunday exactly.
    weeks, rest = selectors.split_weeks(days(date(2026, 11, 2), date(2026, 11, 8)))
    assert weeks == [date(2026, 11, 2)] and rest == []
    # Every day once, in one part or the other, whatever the first weekday.
    for offset in range(7):
        period = days(date(2026, 11, 2) + timedelta(days=offset), date(2026, 12, 1))
        weeks, rest = selectors.split_weeks(period)
        covered = [w + timedelta(days=i) for w in weeks for i in range(7)]
        assert sorted(covered + rest) == period
        assert all(w.weekday() == 0 for w in weeks) and len(rest) <= 12


@pytest.mark.parametrize("tz", ["America/Sao_Paulo", "Asia/Tokyo", "Pacific/Honolulu"])
def test_weekly_rows_are_the_sums_of_the_source_rows(company, other_company, monkeypatch, tz):
    company.timezone = tz
    company.save()
    monkeypatch.setattr(test_rollups, "T0", START)
    _random_traffic(company, random.Random(11))
    _random_traffic(other_company, random.Random(12), tickets=8)
    live, theirs = _week_rows(company), _week_rows(other_company)
    assert live == _expected_week_rows(company)
    assert len({row[1] for row in live}) >= 2  # the traffic spans weeks
    assert theirs == _expected_week_rows(other_company)
    # The rebuild writes the same rows (whole, and from a Thursday on), leaving the other
    # company's alone.
    call_command("metrics_rebuild", "--company", company.slug, verbosity=0)
    assert _week_rows(company) == live
    rollups.rebuild(company, first_day=date(2026, 10, 29))
    assert _week_rows(company) == live
    rollups.rebuild(company, first_day=date(2026, 11, 4), messages=False)
    assert _week_rows(company) == live
    assert _week_rows(other_company) == theirs


@pytest.mark.parametrize("tz", ["America/Sao_Paulo", "Asia/Tokyo"])
def test_weeks_and_days_give_the_figures_of_the_source_rows(
    company, other_company, monkeypatch, tz
) -> None:
    company.timezone = tz
    company.save()
    monkeypatch.setattr(test_rollups, "T0", START)
    _random_traffic(company, random.Random(21))
    _random_traffic(other_company, random.Random(22), tickets=10)
    for start, end in PERIODS:
        for business in ("", "1"):
            params = {"period": "custom", "start": start, "end": end, "business_hours": business}
            f = metrics_filter_from(company, params)
            fast = selectors.dashboard(company, f)
            slow = _raw(monkeypatch, lambda f=f: selectors.dashboard(company, f))
            _close(fast, slow)
            # Whole weeks from the weekly table equal the sums of their days.
            assert fast["totals"]["replies"] == slow["totals"]["replies"]


def test_weeks_are_read_only_when_whole(company, monkeypatch) -> None:
    """A week with a day outside the period is read from the daily rows: a weekly row
    whose figures differ from its days' would show up here."""
    monkeypatch.setattr(test_rollups, "T0", START)
    _random_traffic(company, random.Random(31))
    f = metrics_filter_from(
        company, {"period": "custom", "start": "2026-10-28", "end": "2026-11-01"}
    )
    before = selectors.dashboard(company, f)
    ResponseTimeWeek.objects.for_company(company).update(n=999)
    assert selectors.dashboard(company, f) == before
    whole = metrics_filter_from(
        company, {"period": "custom", "start": "2026-10-26", "end": "2026-11-01"}
    )
    assert selectors.dashboard(company, whole)["totals"]["replies"] > before["totals"]["replies"]


def test_a_reply_keeps_its_week_in_the_same_statement(company, agent) -> None:
    if not is_postgres():
        pytest.skip("one statement through data-modifying CTEs is PostgreSQL's")
    at = datetime(2026, 11, 1, 23, 50, tzinfo=ZoneInfo("America/Sao_Paulo"))  # a Sunday
    t = make_ticket(company, at=at, assignee=agent)
    inbound(t, at)
    message = Message.objects.create(
        company_id=company.pk,
        conversation=t.conversation,
        ticket=t,
        direction="out",
        sender_type="agent",
        sender_user=agent,
        content="ok",
        created_at=at + timedelta(minutes=20),  # Monday 00:10 local: the next week
    )
    with CaptureQueriesContext(connection) as ctx:
        record_on_message_stored(message, hooks.MessageContext(ticket=t, source="staff"))
    rollup = [q["sql"] for q in ctx.captured_queries if "metrics_responsetimeweek" in q["sql"]]
    assert len(rollup) == 1
    assert "metrics_responsetimebucket" in rollup[0] and "metrics_messagevolume" in rollup[0]
    day = ResponseTimeBucket.objects.for_company(company).values_list("day", flat=True)
    week = ResponseTimeWeek.objects.for_company(company).values_list("week", flat=True)
    assert set(day) == {date(2026, 11, 2)} and set(week) == {date(2026, 11, 2)}
