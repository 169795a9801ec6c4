"""The roll-ups (metrics.rollups) give the figures the source rows give."""

from __future__ import annotations

import importlib
import random
import threading
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from conversations import hooks
from conversations.models import Message
from metrics import rollups, selectors
from metrics.filters import metrics_filter_from
from metrics.models import (
    AgentTicketDay,
    ContactDay,
    MessageVolume,
    ResponseTime,
    ResponseTimeBucket,
    ResponseTimeWeek,
    TicketBucket,
    TicketWeek,
)
from metrics.services import record_on_message_stored
from tests.conftest import is_postgres, make_member
from tickets.models import Queue, Ticket

from .builders import assign, inbound, make_ticket, reopen, reply, resolve

pytestmark = pytest.mark.django_db
SP = ZoneInfo("America/Sao_Paulo")
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=SP)  # Monday
PERIODS = [
    {"period": "custom", "start": "2026-11-01", "end": "2026-11-12"},
    {"period": "custom", "start": "2026-11-04", "end": "2026-11-05"},
]
WEEKDAYS = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def _random_traffic(company: Any, rng: random.Random, tickets: int = 25) -> list[Any]:
    agents = [make_member(company, f"ag{i}@{company.slug}.example.com") for i in range(3)]
    queues = [Queue.objects.create(company=company, name=f"Q{i}") for i in range(2)]
    queues[1].hours = WEEKDAYS
    queues[1].save()
    for n in range(tickets):
        start = T0 + timedelta(minutes=rng.uniform(0, 8 * 24 * 60))
        t = make_ticket(
            company,
            at=start,
            queue=rng.choice([None, *queues]),
            assignee=rng.choice([None, *agents]),
            kind=rng.choice(["web", "twilio"]),
        )
        at = start
        for _ in range(rng.randint(1, 6)):
            at += timedelta(seconds=rng.uniform(0, 3 * 3600))
            if rng.random() < 0.5:
                inbound(t, at)
            elif rng.random() < 0.3:
                reply(t, at, bot=True)
            else:
                user = t.assignee or rng.choice(agents)
                if t.assignee is None and rng.random() < 0.5:
                    assign(t, user, at)
                reply(t, at, user=user, private=rng.random() < 0.1)
        if n % 4 == 0:
            at += timedelta(minutes=30)
            resolve(t, at)
            if n % 8 == 0:
                at += timedelta(hours=5)
                reopen(t, at)
                inbound(t, at)
                reply(t, at + timedelta(seconds=rng.uniform(1, 9000)), user=rng.choice(agents))
    return agents


def _raw(monkeypatch: pytest.MonkeyPatch, fn: Any) -> Any:
    with monkeypatch.context() as patch:
        patch.setattr(selectors, "use_rollups", lambda f: False)
        patch.setattr(selectors, "use_ticket_rollups", lambda f: False)
        return fn()


def _close(a: Any, b: Any, path: str = "") -> None:
    """Equal, except percentiles (floats): within the histogram's precision (a bucket is
    5 % wide above 20 s, 1 s below; see docs/metrics.md)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert abs(a - b) <= max(1.0, 0.05 * abs(b)), (path, a, b)
    else:
        assert a == b, (path, a, b)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollups_give_the_figures_of_the_source_rows_on_random_traffic(
    company, other_company, monkeypatch, seed
) -> None:
    rng = random.Random(seed)
    _random_traffic(company, rng)
    _random_traffic(other_company, random.Random(seed + 100), tickets=10)
    for params in PERIODS:
        for business in ("", "1"):
            f = metrics_filter_from(company, {**params, "business_hours": business})
            assert selectors.use_rollups(f)
            fast = selectors.dashboard(company, f)
            slow = _raw(monkeypatch, lambda f=f: selectors.dashboard(company, f))
            _close(fast, slow)
            if params is PERIODS[0]:  # the long period has some of everything
                totals = fast["totals"]
                assert totals["tickets_created"] and totals["tickets_resolved"]
                assert totals["replies"] and totals["bot_replies"] and totals["unique_contacts"]
                assert totals["resolution"]["n"] and totals["first_response"]["n"]


def _snapshot(company: Any) -> dict[str, list[tuple]]:
    out = {}
    for model, fields in (
        (MessageVolume, ["day", "hour", "direction", "sender_type", "sender_user_id", "n"]),
        (ContactDay, ["day", "contact_id"]),
        (AgentTicketDay, ["day", "agent_id", "ticket_id"]),
        (
            ResponseTimeBucket,
            ["business", "day", "scope", "scope_id", "metric", "bucket", "n", "lo", "hi"],
        ),
        (
            ResponseTimeWeek,
            ["business", "week", "scope", "scope_id", "metric", "bucket", "n", "lo", "hi"],
        ),
    ):
        out[model.__name__] = sorted(
            model.objects.for_company(company).values_list(*fields).order_by()
        )
    if is_postgres():  # the ticket figures' trigger is PostgreSQL's
        out["TicketBucket"] = sorted(
            TicketBucket.objects.for_company(company)
            .exclude(n=0)
            .values_list("day", "scope", "scope_id", "metric", "bucket", "n")
            .order_by()
        )
    quarters = MessageVolume.objects.for_company(company).values_list("pk", "quarters")
    out["quarters"] = sorted(q for _, q in quarters)
    return out


def test_rebuild_writes_the_rows_the_write_path_wrote(company, other_company) -> None:
    _random_traffic(company, random.Random(7))
    _random_traffic(other_company, random.Random(8), tickets=5)
    live, theirs = _snapshot(company), _snapshot(other_company)
    assert live["MessageVolume"] and live["ResponseTimeBucket"]
    call_command("metrics_rebuild", "--company", company.slug, verbosity=0)
    assert _snapshot(company) == live
    assert _snapshot(other_company) == theirs  # another company's rows are left alone
    rollups.rebuild(company, first_day=date(2026, 11, 6))
    assert _snapshot(company) == live


def test_histogram_percentiles_are_exact_when_buckets_hold_at_most_two_values() -> None:
    values = [3.0, 3.0, 47.5, 48.0, 300.0, 301.0, 7200.0]
    h = rollups.Histogram()
    for v in values:
        h.add(rollups.bucket_of(v), 1, v, v, v)
    exact = selectors._stats(values)
    assert h.stats() == exact
    assert rollups.histogram_percentile([], 0.5) is None


def test_bucket_bounds_are_one_second_then_five_percent() -> None:
    assert rollups.bucket_of(0.0) == 1 and rollups.bucket_of(0.999) == 1
    assert rollups.bucket_of(19.5) == rollups.bucket_of(19.0) != rollups.bucket_of(20.0)
    for lo, hi in zip(rollups.BOUNDS[21:], rollups.BOUNDS[22:], strict=False):
        assert hi / lo == pytest.approx(1.05, rel=1e-3)


def test_the_trigger_migration_buckets_like_the_write_path() -> None:
    migration = importlib.import_module("metrics.migrations.0008_ticket_trigger")
    assert migration._bounds() == rollups.BOUNDS


def test_a_message_adds_one_statement_on_postgresql(company, agent) -> None:
    if not is_postgres():
        pytest.skip("one statement through data-modifying CTEs is PostgreSQL's")
    t = Ticket.objects.get(pk=make_ticket(company, at=T0, assignee=agent).pk)  # no company
    message = Message.objects.create(
        company_id=company.pk,
        conversation=t.conversation,
        ticket=t,
        direction="in",
        sender_type="contact",
        content="oi",
        created_at=T0,
    )
    with CaptureQueriesContext(connection) as ctx:
        record_on_message_stored(message, hooks.MessageContext(ticket=t))
    # Everything in one statement, the company's time zone read inside it.
    assert len(ctx.captured_queries) == 1
    sql = ctx.captured_queries[0]["sql"]
    assert "metrics_messagevolume" in sql and "metrics_contactday" in sql
    row = MessageVolume.objects.for_company(company).get()
    assert (row.day, row.hour, row.n, row.quarters) == (T0.date(), 8, 1, 1)


def test_business_hours_recompute_uses_the_new_hours_everywhere(company, agent) -> None:
    friday = datetime(2026, 11, 6, 17, 0, tzinfo=SP)
    t = make_ticket(company, at=friday, assignee=agent)
    inbound(t, friday)
    reply(t, friday + timedelta(hours=2), user=agent)  # 17:00 -> 19:00
    assert ResponseTime.objects.get().business_seconds == 2 * 3600  # no hours: always open
    company.business_hours = WEEKDAYS
    company.save()
    call_command("metrics_rebuild", "--company", company.slug, "--business-hours", verbosity=0)
    assert ResponseTime.objects.get().business_seconds == 3600
    f = metrics_filter_from(
        company,
        {"period": "custom", "start": "2026-11-06", "end": "2026-11-06", "business_hours": "1"},
    )
    assert selectors.agent_table(company, f)[0]["reply_p50"] == 3600


@pytest.mark.django_db(transaction=True)
def test_concurrent_increments_are_all_counted(company) -> None:
    if not is_postgres():
        pytest.skip("needs concurrent connections")
    threads, per_thread = 4, 25
    entries = [("company", 0, "reply", False, 42.0)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                with transaction.atomic():
                    statement = rollups.bucket_statement(company.pk, date(2026, 11, 2), entries)
                    assert statement is not None
                    rollups.execute([statement])
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    row = ResponseTimeBucket.objects.for_company(company).get()
    assert row.n == threads * per_thread and row.total == 42.0 * threads * per_thread


def test_a_company_with_tickets_and_queues_can_still_be_deleted(company, agent) -> None:
    queue = Queue.objects.create(company=company, name="Vendas")
    t = make_ticket(company, at=T0, queue=queue, assignee=agent)
    inbound(t, T0)
    reply(t, T0 + timedelta(minutes=3), user=agent)
    resolve(t, T0 + timedelta(minutes=9))
    with transaction.atomic():
        company.delete()
        if is_postgres():
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the check of a commit
    assert not TicketBucket.objects.filter(company_id=company.pk).exists()
    assert not TicketWeek.objects.filter(company_id=company.pk).exists()


def test_the_dashboard_and_the_agent_table_alone_give_the_same_rows(company, other_company) -> None:
    """The dashboard reads the agents' messages and activity slots with the message
    volumes (one scan); the per-agent table alone (API, CSV) reads them by itself."""
    _random_traffic(company, random.Random(71))
    _random_traffic(other_company, random.Random(72), tickets=6)
    for params in PERIODS:
        f = metrics_filter_from(company, params)
        rows = selectors.agent_table(company, f)
        assert any(r["messages"] and r["online_seconds"] for r in rows)
        assert selectors.dashboard(company, f)["agents"] == rows
