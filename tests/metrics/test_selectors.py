"""Figures computed by metrics.selectors, against hand-computed expectations."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from metrics import selectors
from metrics.filters import FilterError, metrics_filter_from
from tests.conftest import is_postgres, make_member
from tickets.models import Queue

from .builders import assign, inbound, make_ticket, reopen, reply, resolve

pytestmark = pytest.mark.django_db
SP = ZoneInfo("America/Sao_Paulo")
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=SP)  # Monday
PERIOD = {"period": "custom", "start": "2026-11-01", "end": "2026-11-10"}


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def flt(company, **extra):
    return metrics_filter_from(company, {**PERIOD, **extra})


@pytest.fixture
def scene(company, agent):
    """Ticket A: bot answers in 1 min, the customer insists, the agent answers 10 min later.
    Ticket B: the agent answers in 5 min, resolves at +60, it reopens and is answered in 3.
    """
    support = Queue.objects.create(company=company, name="Suporte")
    a = make_ticket(company, at=m(0), queue=support, kind="twilio", tags=["vip"])
    inbound(a, m(0))
    reply(a, m(1), bot=True)
    inbound(a, m(5))
    assign(a, agent, m(8))
    reply(a, m(15), user=agent)
    b = make_ticket(company, at=m(0), queue=support, assignee=agent)
    inbound(b, m(0))
    reply(b, m(5), user=agent)
    resolve(b, m(60))
    reopen(b, m(120))
    inbound(b, m(120))
    reply(b, m(123), user=agent)
    return {"queue": support, "a": a, "b": b}


def test_bot_replies_never_count_in_agent_metrics(company, agent, scene) -> None:
    f = flt(company)
    rows = {r["agent_id"]: r for r in selectors.agent_table(company, f)}
    row = rows[agent.pk]
    # Agent replies: A waited 10 min (since 10:05), B 5 min, B again 3 min.
    assert row["replies"] == 3
    assert row["reply_p50"] == 300
    assert row["reply_p90"] == pytest.approx(180 + (300 - 180) * 0 + (600 - 300) * 0.8 + 120)
    # First responses from assignment: A 7 min (assigned 10:08), B 5 min, B reopened 3 min.
    assert row["first_response_p50"] == 300
    assert row["messages"] == 3 and row["tickets"] == 2
    # Active 15-minute slots: 10:00-10:15 (B at +5), 10:15-10:30 (A at +15), 12:00 (B).
    assert row["online_seconds"] == 3 * 15 * 60
    cards = selectors.cards(company, f)
    # Team first response from the queue: A 15 min (the bot's minute is not an agent's),
    # B 5 min, B after reopen 3 min.
    assert cards["first_response_p50"] == 300
    assert cards["first_response_p90"] == pytest.approx(300 + (900 - 300) * 0.8)
    totals = selectors.totals(company, f)
    assert totals["replies"] == 4 and totals["bot_replies"] == 1
    assert totals["ai_share_replies"] == 0.25
    assert totals["ai_share_first_responses"] == pytest.approx(1 / 3)  # A's first was the bot's
    assert totals["bot_reply"]["p50"] == 60


def test_reopen_restarts_first_response_and_resolution(company, agent, scene) -> None:
    f = flt(company)
    queue_row = selectors.queue_table(company, f)[0]
    assert queue_row["first_response_p50"] == 300  # 900, 300, 180
    totals = selectors.totals(company, f)
    assert totals["first_response"]["n"] == 3
    assert totals["tickets_created"] == 2
    assert totals["tickets_resolved"] == 1 and totals["tickets_reopened"] == 1
    # B was resolved at +60 but reopened after: not a resolution of its current cycle.
    assert totals["resolution"]["n"] == 0
    resolve(scene["b"], m(150))
    totals = selectors.totals(company, f)
    assert totals["resolution"]["p50"] == 30 * 60  # from the reopen at +120 to +150
    assert totals["handling"]["p50"] == 30 * 60


def test_live_cards_count_open_waiting_and_unread(company, agent, scene) -> None:
    inbound(scene["a"], m(200))
    inbound(scene["a"], m(201))
    cards = selectors.cards(company, flt(company))
    assert cards["open"] == 2 and cards["waiting"] == 1 and cards["unread"] == 2


def test_filters_narrow_every_figure(company, agent, scene) -> None:
    vip = selectors.cards(company, flt(company, tag="vip"))
    assert vip["first_response_p50"] == 900 and vip["first_response_n"] == 1
    twilio = selectors.totals(company, flt(company, channel="twilio"))
    assert twilio["messages_in"] == 2 and twilio["replies"] == 2
    nobody = make_member(company, "new@azul.test")
    assert selectors.cards(company, flt(company, agent=str(nobody.pk)))["first_response_n"] == 0
    resolved = selectors.totals(company, flt(company, status="resolved"))
    assert resolved["tickets_created"] == 0


def test_volume_and_heatmap_use_the_company_time_zone(company, agent, scene) -> None:
    f = flt(company)
    series = selectors.timeseries(company, f)
    day = next(d for d in series["daily"] if d["date"] == "2026-11-02")
    assert day["in"] == 4 and day["out"] == 4
    assert day["first_response_p50"] == 300
    assert len(series["daily"]) == 10
    heat = selectors.heatmap(company, f)["cells"]
    assert heat[0][10] == 3 and heat[0][12] == 1  # Monday 10h local, Monday 12h local
    assert sum(map(sum, heat)) == 4
    assert series["hourly"][10]["count"] == 3


def test_business_hours_mode_counts_only_working_hours(company, agent) -> None:
    hours = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    queue = Queue.objects.create(company=company, name="Comercial", business_hours=hours)
    friday_17 = datetime(2026, 11, 6, 17, 0, tzinfo=SP)
    ticket = make_ticket(company, at=friday_17, queue=queue, assignee=agent)
    inbound(ticket, friday_17)
    reply(ticket, datetime(2026, 11, 9, 9, 30, tzinfo=SP), user=agent)
    resolve(ticket, datetime(2026, 11, 9, 10, 0, tzinfo=SP))
    calendar = selectors.cards(company, flt(company))
    business = selectors.cards(company, flt(company, business_hours="1"))
    assert calendar["first_response_p50"] == 64.5 * 3600
    assert business["first_response_p50"] == 1.5 * 3600
    assert calendar["resolution_p50"] == 65 * 3600
    assert business["resolution_p50"] == 2 * 3600


def test_python_percentiles_match_postgresql(company, agent, scene, monkeypatch) -> None:
    f = flt(company)
    sql = (
        selectors.totals(company, f),
        selectors.agent_table(company, f),
        selectors.queue_table(company, f),
        selectors.timeseries(company, f),
    )
    monkeypatch.setattr(selectors, "_use_sql_percentiles", lambda: False)
    python = (
        selectors.totals(company, f),
        selectors.agent_table(company, f),
        selectors.queue_table(company, f),
        selectors.timeseries(company, f),
    )
    for got, want in zip(python, sql, strict=True):
        assert got == want


def test_another_company_never_leaks_into_any_figure(company, other_company, agent, scene) -> None:
    f = flt(company)
    before = selectors.dashboard(company, f)
    # The other company: a slow reply, a bot, many messages, same queue name, same tag.
    their_agent = make_member(other_company, "z@outra.test")
    their_queue = Queue.objects.create(company=other_company, name="Suporte")
    for i in range(3):
        t = make_ticket(other_company, at=m(i), queue=their_queue, tags=["vip"], kind="twilio")
        inbound(t, m(i))
        reply(t, m(i + 1), bot=True)
        inbound(t, m(i + 2))
        assign(t, their_agent, m(i + 2))
        reply(t, m(i + 500), user=their_agent)
        resolve(t, m(i + 600))
    after = selectors.dashboard(company, f)
    assert after == before
    # Filtering by the other company's agent or queue id yields nothing, not their data.
    leaked = selectors.cards(company, flt(company, agent=str(their_agent.pk)))
    assert leaked["first_response_n"] == 0 and leaked["open"] == 0
    leaked = selectors.totals(company, flt(company, queue=str(their_queue.pk)))
    assert leaked["replies"] == 0 and leaked["messages_in"] == 0
    assert [r["agent_id"] for r in after["agents"]] == [agent.pk]


def test_dashboard_query_count_does_not_grow_with_data(
    company, agent, scene, django_assert_max_num_queries
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    f = flt(company)
    with CaptureQueriesContext(connection) as small:
        selectors.dashboard(company, f)
    for i in range(5):
        t = make_ticket(company, at=m(i), queue=scene["queue"], assignee=agent)
        inbound(t, m(i))
        reply(t, m(i + 3), user=agent)
        resolve(t, m(i + 9))
    with CaptureQueriesContext(connection) as bigger:
        selectors.dashboard(company, f)
    assert len(bigger) == len(small)
    with django_assert_max_num_queries(19):
        selectors.dashboard(company, f)


def test_business_hours_mode_without_hours_costs_no_extra_query(company, agent, scene) -> None:
    """A company and queues with no hours set: business-hours mode reads the same
    roll-ups with the same number of queries as wall-clock mode (the queues it checks
    for hours are the ones the queue table reads)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if not is_postgres():
        pytest.skip("the ticket roll-ups are PostgreSQL's")
    t = make_ticket(company, at=m(0), queue=scene["queue"], assignee=agent)
    inbound(t, m(0))
    reply(t, m(3), user=agent)
    resolve(t, m(9))
    counts = {}
    for business in ("", "1"):
        f = metrics_filter_from(
            company,
            {
                "period": "custom",
                "start": "2026-10-01",
                "end": "2026-11-30",
                "business_hours": business,
            },
        )
        with CaptureQueriesContext(connection) as ctx:
            data = selectors.dashboard(company, f)
        counts[business] = len(ctx)
        assert data["totals"]["resolution"]["n"] == 1
        assert not any("tickets_ticket" in q["sql"] and "resolved_at" in q["sql"] for q in ctx)
    assert counts[""] == counts["1"]


@pytest.mark.parametrize(
    "params",
    [
        {"period": "year"},
        {"period": "custom", "start": "2026-11-05", "end": "2026-11-01"},
        {"period": "custom", "start": "nope", "end": "2026-11-01"},
        {"period": "custom", "start": "2020-01-01", "end": "2026-11-01"},
        {"agent": "x"},
        {"status": "weird"},
        {"channel": "telegram"},
    ],
)
def test_bad_filters_are_rejected_with_a_clear_error(company, params) -> None:
    with pytest.raises(FilterError):
        metrics_filter_from(company, params)


def test_periods_are_local_days(company) -> None:
    now = datetime(2026, 11, 2, 1, 0, tzinfo=ZoneInfo("UTC"))  # still Nov 1st in São Paulo
    today = metrics_filter_from(company, {"period": "today"}, now=now)
    assert today.start == datetime(2026, 11, 1, tzinfo=SP)
    assert today.end == datetime(2026, 11, 2, tzinfo=SP)
    week = metrics_filter_from(company, {"period": "7d"}, now=now)
    assert len(week.days) == 7 and week.days[-1].isoformat() == "2026-11-01"
