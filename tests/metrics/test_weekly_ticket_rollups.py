"""The weekly ticket buckets (metrics.models.TicketWeek): kept by the ticket trigger
(migration 0012) equal to the sums of their days' rows, whatever the tickets did
(reopens, transfers, reassignments, buckets emptied and refilled), and read for the
whole weeks of a period without changing any figure."""

from __future__ import annotations

import importlib
import random
import threading
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from metrics import rollups, selectors
from metrics.filters import metrics_filter_from
from metrics.models import TicketBucket, TicketWeek
from tests.conftest import is_postgres, make_member
from tickets.models import Queue, Ticket

from . import test_rollups
from .builders import assign, inbound, make_ticket, reopen, reply, resolve
from .test_rollups import _close, _random_traffic, _raw

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not is_postgres(), reason="the ticket roll-ups are PostgreSQL's trigger"),
]

SP = ZoneInfo("America/Sao_Paulo")
# Tuesday 2026-10-27, 21:30: the traffic crosses a month's end and three ISO weeks.
START = datetime(2026, 10, 27, 21, 30, tzinfo=SP)
PERIODS = [
    ("2026-10-25", "2026-11-09"),  # a day, two whole weeks, a day
    ("2026-10-28", "2026-11-10"),  # five days, one whole week, two days
    ("2026-10-26", "2026-11-08"),  # whole weeks only
    ("2026-10-29", "2026-11-03"),  # no whole week
    ("2026-10-01", "2026-11-30"),  # long, empty weeks too
]


def _week_rows(company: Any) -> dict[tuple, tuple]:
    rows = TicketWeek.objects.for_company(company).values_list(
        "week", "scope", "scope_id", "metric", "bucket", "n", "total", "lo", "hi"
    )
    return {tuple(row[:5]): tuple(row[5:]) for row in rows}


def _sums_of_days(company: Any) -> dict[tuple, tuple]:
    """What each weekly row must hold: its days' rows summed (count, sum), their
    smallest and largest bounds, computed here from the daily rows."""
    acc: dict[tuple, list[Any]] = defaultdict(lambda: [0, 0.0, None, None])
    for day, scope, scope_id, metric, bucket, n, total, lo, hi in TicketBucket.objects.for_company(
        company
    ).values_list("day", "scope", "scope_id", "metric", "bucket", "n", "total", "lo", "hi"):
        a = acc[(rollups.week_of(day), scope, scope_id, metric, bucket)]
        a[0] += n
        a[1] += total
        a[2] = lo if a[2] is None else min(a[2], lo)
        a[3] = hi if a[3] is None else max(a[3], hi)
    return {key: tuple(a) for key, a in acc.items()}


def _assert_weeks_are_their_days(company: Any) -> None:
    weeks, days = _week_rows(company), _sums_of_days(company)
    assert weeks.keys() == days.keys()
    for key, (n, total, lo, hi) in weeks.items():
        dn, dtotal, dlo, dhi = days[key]
        assert (n, lo, hi) == (dn, dlo, dhi), key
        assert total == pytest.approx(dtotal, rel=1e-9, abs=1e-6), key


def _churn(company: Any, rng: random.Random) -> None:
    """Tickets moved around after the traffic: transfers to another queue, new
    assignees, reopens and resolutions on other days (buckets emptied and refilled)."""
    queues = list(Queue.objects.for_company(company))
    agents = [make_member(company, f"churn{i}@{company.slug}.example.com") for i in range(2)]
    tickets = list(Ticket.objects.for_company(company).order_by("pk"))
    for t in rng.sample(tickets, k=min(12, len(tickets))):
        at = START + timedelta(days=rng.uniform(1, 12))
        move = rng.choice(["queue", "assignee", "reopen", "resolve"])
        if move == "queue":
            Ticket.objects.filter(pk=t.pk).update(queue=rng.choice([None, *queues]), queued_at=at)
        elif move == "assignee":
            assign(t, rng.choice(agents), at)
        elif move == "reopen" and t.resolved_at is not None:
            reopen(t, max(at, t.resolved_at + timedelta(minutes=1)))
        else:
            resolve(t, max(at, t.created_at + timedelta(minutes=1)))


def test_weekly_ticket_rows_are_the_sums_of_their_days(company, other_company, monkeypatch):
    monkeypatch.setattr(test_rollups, "T0", START)
    _random_traffic(company, random.Random(41))
    _random_traffic(other_company, random.Random(42), tickets=8)
    _churn(company, random.Random(43))
    rows = _week_rows(company)
    assert len({key[0] for key in rows}) >= 2  # the traffic spans weeks
    _assert_weeks_are_their_days(company)
    _assert_weeks_are_their_days(other_company)
    theirs = _week_rows(other_company)
    # The rebuild writes the weekly rows of its daily rows, and leaves the other
    # company's alone.
    call_command("metrics_rebuild", "--company", company.slug, verbosity=0)
    _assert_weeks_are_their_days(company)
    assert TicketWeek.objects.for_company(company).exists()
    assert _week_rows(other_company) == theirs


def test_an_emptied_bucket_refilled_on_another_day_keeps_its_week_equal_to_its_days(
    company, agent
) -> None:
    """A ticket leaves a bucket (reopened) and another enters it on another day of the
    same week: the daily bucket restarts its smallest/largest value, the week follows."""
    monday = datetime(2026, 11, 2, 9, 0, tzinfo=SP)
    first = make_ticket(company, at=monday, assignee=agent)
    resolve(first, monday + timedelta(seconds=101))  # resolution 101 s, Monday
    reopen(first, monday + timedelta(hours=1))  # leaves Monday's bucket: n = 0 there
    second = make_ticket(company, at=monday + timedelta(days=2), assignee=agent)
    resolve(second, monday + timedelta(days=2, seconds=103))  # same bucket, Wednesday
    third = make_ticket(company, at=monday, assignee=agent)
    resolve(third, monday + timedelta(seconds=102))  # Monday again: the day restarts
    _assert_weeks_are_their_days(company)
    bucket = rollups.bucket_of(101.0)
    assert bucket == rollups.bucket_of(102.0) == rollups.bucket_of(103.0)
    key = (date(2026, 11, 2), "company", 0, "resolution", bucket)
    n, total, lo, hi = _week_rows(company)[key]
    assert (n, total, lo, hi) == (2, 205.0, 102.0, 103.0)  # 101 s left with the reopen
    # And what the dashboard shows for the week is what the days alone give.
    f = metrics_filter_from(
        company, {"period": "custom", "start": "2026-11-02", "end": "2026-11-08"}
    )
    _assert_same_as_days_only(company, f)


def _assert_same_as_days_only(company: Any, f: Any) -> None:
    fast = selectors.dashboard(company, f)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(selectors, "split_weeks", lambda days: ([], days))
        days_only = selectors.dashboard(company, f)
    assert fast == days_only  # identical, to the last digit


@pytest.mark.parametrize("tz", ["America/Sao_Paulo", "Asia/Tokyo"])
def test_whole_weeks_give_exactly_the_figures_of_their_days(
    company, other_company, monkeypatch, tz
) -> None:
    company.timezone = tz
    company.save()
    monkeypatch.setattr(test_rollups, "T0", START)
    _random_traffic(company, random.Random(51))
    _random_traffic(other_company, random.Random(52), tickets=10)
    _churn(company, random.Random(53))
    for start, end in PERIODS:
        f = metrics_filter_from(company, {"period": "custom", "start": start, "end": end})
        _assert_same_as_days_only(company, f)
        # And within the histograms' precision of the tickets' own rows.
        _close(
            selectors.dashboard(company, f),
            _raw(monkeypatch, lambda f=f: selectors.dashboard(company, f)),
        )


def test_weekly_ticket_rows_are_read_only_for_whole_weeks(company, monkeypatch) -> None:
    monkeypatch.setattr(test_rollups, "T0", START)
    _random_traffic(company, random.Random(61))
    partial = metrics_filter_from(
        company, {"period": "custom", "start": "2026-10-28", "end": "2026-11-01"}
    )
    whole = metrics_filter_from(
        company, {"period": "custom", "start": "2026-10-26", "end": "2026-11-01"}
    )
    before, before_whole = (
        selectors.dashboard(company, partial),
        selectors.dashboard(company, whole),
    )
    TicketWeek.objects.for_company(company).filter(metric="created").update(n=999)
    assert selectors.dashboard(company, partial) == before
    assert selectors.dashboard(company, whole)["totals"]["tickets_created"] == 999
    assert before_whole["totals"]["tickets_created"] != 999


def test_the_migration_fills_the_weekly_rows_the_trigger_keeps(company, other_company) -> None:
    at = datetime(2026, 11, 4, 10, 0, tzinfo=SP)
    agent = make_member(company, "fill@example.com")
    for i in range(6):
        t = make_ticket(company, at=at + timedelta(days=i), assignee=agent)
        inbound(t, at + timedelta(days=i))
        reply(t, at + timedelta(days=i, minutes=5), user=agent)
        resolve(t, at + timedelta(days=i, minutes=30 + i))
    kept = _week_rows(company)
    migration = importlib.import_module("metrics.migrations.0012_weekly_ticket_trigger")
    TicketWeek.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(migration.FILL)
    assert _week_rows(company) == kept


@pytest.mark.django_db(transaction=True)
def test_concurrent_ticket_changes_in_one_week_keep_the_week_equal_to_its_days(company):
    """Four transactions resolve tickets on four days of one week at the same time and
    commit a moment later: the writers of a week's bucket take turns on the weekly row,
    so no recompute misses another transaction's day (each alone would count one)."""
    agent = make_member(company, "busy@example.com")
    monday = datetime(2026, 11, 2, 9, 0, tzinfo=SP)
    tickets = [
        make_ticket(company, at=monday + timedelta(days=i), assignee=agent) for i in range(4)
    ]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(tickets))

    def work(ticket: Ticket) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                resolve(ticket, ticket.created_at + timedelta(seconds=60))
                time.sleep(0.3)  # the others' triggers run before this commits
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(t,)) for t in tickets]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    _assert_weeks_are_their_days(company)
    weeks = _week_rows(company)
    assert weeks[(monday.date(), "company", 0, "resolved", 0)][0] == 4
    assert weeks[(monday.date(), "company", 0, "resolution", rollups.bucket_of(60.0))][0] == 4
