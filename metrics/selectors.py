"""Reads behind the metrics dashboard, its JSON/REST endpoints and the CSV export.

Every function takes the company first and filters by it before anything else; the same
functions feed the screen, the API and the exports, so the numbers cannot drift apart.
Durations are seconds (floats); ``None`` means "no data". Definitions: docs/metrics.md.

Medians and p90 use PostgreSQL's ``percentile_cont`` in SQL. On SQLite (embedded mode),
and for ticket durations in business-hours mode, the same percentile (linear
interpolation) is computed in Python from one query. Query counts do not depend on the
amount of data: each figure is one grouped query.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import (
    Coalesce,
    ExtractHour,
    Greatest,
    TruncDate,
)
from django.utils import timezone

from conversations.models import Contact, Message
from integrations.base import Direction, SenderType
from integrations.models import LogEntry, LogLevel, WebhookEvent, WebhookStatus
from tenants.models import Company, Membership
from tickets.models import ACTIVE_STATUSES, Queue, Ticket
from tickets.services.hours import DAY_KEYS, business_seconds_between, hours_for

from . import rollups
from .filters import MetricsFilter
from .models import (
    AgentTicketDay,
    ContactDay,
    MessageVolume,
    ResponderType,
    ResponseTime,
    ResponseTimeBucket,
    ResponseTimeWeek,
    RollupScope,
    TicketBucket,
    TicketWeek,
)

# LogEntry.source the AI attendant writes for each reservation it makes (docs/metrics.md).
AI_RESERVATION_SOURCE = "reservation"

Stats = dict[str, float | int | None]  # {"p50": ..., "p90": ..., "n": ...}


# --- percentiles --------------------------------------------------------------------


class PercentileCont(Aggregate):
    """PostgreSQL ``percentile_cont(p) WITHIN GROUP (ORDER BY expr)``."""

    function = "percentile_cont"
    name = "PercentileCont"
    template = "%(function)s(%(percentile)s) WITHIN GROUP (ORDER BY %(expressions)s)%(filter)s"
    output_field = FloatField()

    def __init__(self, expression: Any, percentile: float, **extra: Any) -> None:
        super().__init__(expression, percentile=float(percentile), **extra)


class EpochDiff(Func):
    """Seconds from the second expression to the first (PostgreSQL)."""

    template = "EXTRACT(EPOCH FROM (%(expressions)s))"
    arg_joiner = " - "
    output_field = FloatField()


ACTIVITY_SLOT_SECONDS = 15 * 60


class ActivitySlot(Func):
    """The 15-minute slot (an integer) an instant falls in."""

    template = f"FLOOR(EXTRACT(EPOCH FROM %(expressions)s) / {ACTIVITY_SLOT_SECONDS})"
    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template=(
                f"CAST(strftime('%%%%s', %(expressions)s) / {ACTIVITY_SLOT_SECONDS} AS INTEGER)"
            ),
            **extra,
        )


def percentile(values: list[float], p: float) -> float | None:
    """percentile_cont's linear interpolation, for the Python paths (``values`` sorted)."""
    if not values:
        return None
    rank = p * (len(values) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return values[low] + (values[high] - values[low]) * (rank - low)


def _stats(values: Iterable[float]) -> Stats:
    ordered = sorted(values)
    return {"p50": percentile(ordered, 0.5), "p90": percentile(ordered, 0.9), "n": len(ordered)}


def _use_sql_percentiles() -> bool:
    return connection.vendor == "postgresql"


def _grouped_stats(
    qs: QuerySet, metrics: dict[str, tuple[str, Q]], group_by: str | None = None
) -> dict[Any, dict[str, Stats]]:
    """For each group (None when ungrouped), p50/p90/count of each named metric
    ``name -> (value column, condition)``. One query either way."""
    out: dict[Any, dict[str, Stats]] = defaultdict(dict)
    if _use_sql_percentiles():
        annotations: dict[str, Any] = {}
        for name, (value, cond) in metrics.items():
            cond = cond & Q(**{f"{value}__isnull": False})
            annotations[f"{name}__p50"] = PercentileCont(F(value), 0.5, filter=cond)
            annotations[f"{name}__p90"] = PercentileCont(F(value), 0.9, filter=cond)
            annotations[f"{name}__n"] = Count("pk", filter=cond)
        rows: list[Any]
        if group_by is None:
            rows = [{**qs.aggregate(**annotations), "_g": None}]
        else:
            rows = list(qs.values(_g=F(group_by)).annotate(**annotations).order_by())
        for row in rows:
            for name in metrics:
                out[row["_g"]][name] = {
                    "p50": row[f"{name}__p50"],
                    "p90": row[f"{name}__p90"],
                    "n": row[f"{name}__n"],
                }
        return out
    annotations = {}
    for i, (value, cond) in enumerate(metrics.values()):
        annotations[f"_v{i}"] = F(value)
        annotations[f"_f{i}"] = ExpressionWrapper(cond, output_field=BooleanField())
    if group_by is not None:
        annotations["_g"] = F(group_by)
    samples: dict[Any, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in qs.annotate(**annotations).values(*annotations).order_by():
        group = row.get("_g")
        for i, name in enumerate(metrics):
            if row[f"_f{i}"] and row[f"_v{i}"] is not None:
                samples[group][name].append(float(row[f"_v{i}"]))
    for group, per_name in samples.items():
        for name in metrics:
            out[group][name] = _stats(per_name.get(name, []))
    return out


def _empty_stats() -> Stats:
    return {"p50": None, "p90": None, "n": 0}


# --- filtered base querysets ---------------------------------------------------------


def _tag_q(prefix: str, tag: str) -> Q:
    if connection.vendor == "postgresql":
        return Q(**{f"{prefix}tags__contains": [tag]})
    # SQLite has no JSON containment: match the quoted element in the JSON text.
    import json

    return Q(**{f"{prefix}tags__icontains": json.dumps(tag)})


def _filters_q(f: MetricsFilter, *, queue: str, agent: str, ticket: str, channel: str) -> Q:
    """The dashboard filters as one Q, given where each lives relative to the queryset's
    model (``ticket`` is the path prefix to the ticket: "" on Ticket itself)."""
    q = Q()
    if f.queue_id:
        q &= Q(**{queue: f.queue_id})
    if f.agent_id:
        q &= Q(**{agent: f.agent_id})
    if f.status:
        q &= Q(**{f"{ticket}status": f.status})
    if f.channel:
        q &= Q(**{channel: f.channel})
    if f.tag:
        q &= _tag_q(ticket, f.tag)
    return q


def tickets_qs(company: Company, f: MetricsFilter) -> QuerySet[Ticket]:
    return Ticket.objects.for_company(company).filter(
        _filters_q(
            f,
            queue="queue_id",
            agent="assignee_id",
            ticket="",
            channel="conversation__integration__kind",
        )
    )


def response_times_qs(company: Company, f: MetricsFilter) -> QuerySet[ResponseTime]:
    return ResponseTime.objects.for_company(company).filter(
        _filters_q(
            f,
            queue="queue_id",
            agent="responder_id",
            ticket="ticket__",
            channel="ticket__conversation__integration__kind",
        ),
        answered_at__gte=f.start,
        answered_at__lt=f.end,
    )


def messages_qs(company: Company, f: MetricsFilter) -> QuerySet[Message]:
    """Messages in the period (private notes excluded); agent/queue/tag/status filter by
    the message's ticket, channel by its conversation's integration."""
    return Message.objects.for_company(company).filter(
        _filters_q(
            f,
            queue="ticket__queue_id",
            agent="ticket__assignee_id",
            ticket="ticket__",
            channel="conversation__integration__kind",
        ),
        created_at__gte=f.start,
        created_at__lt=f.end,
        is_private=False,
    )


def _rt_fields(f: MetricsFilter) -> tuple[str, str, str]:
    """(reply, first from queue, first from assignment) columns for the mode."""
    if f.business_hours:
        return "business_seconds", "business_seconds_from_queue", "business_seconds_from_assignment"
    return "seconds", "seconds_from_queue", "seconds_from_assignment"


AGENT = Q(responder_type=ResponderType.AGENT)
BOT = Q(responder_type=ResponderType.BOT)


def _rt_stats(
    company: Company,
    f: MetricsFilter,
    group_by: str | None,
    shared: dict[str, Any] | None = None,
) -> dict[Any, dict[str, Stats]]:
    """First response (agents, from the queue), reply time (agents) and, ungrouped, the
    bot's reply time; per agent also first response from assignment. One query."""
    if use_rollups(f):
        return _rt_stats_rollup(company, f, group_by, shared)
    reply, from_queue, from_assignment = _rt_fields(f)
    first_agent = AGENT & Q(is_first_agent=True)
    metrics: dict[str, tuple[str, Q]] = {
        "first_response": (from_queue, first_agent),
        "reply": (reply, AGENT),
    }
    qs = response_times_qs(company, f)
    if group_by is None:
        metrics["bot_reply"] = (reply, BOT)
    if group_by == "responder_id":
        # Agent clock: from assignment when the ticket was assigned, else from the queue.
        qs = qs.annotate(_agent_first=Coalesce(F(from_assignment), F(from_queue), F(reply)))
        metrics["agent_first_response"] = ("_agent_first", first_agent)
    return _grouped_stats(qs, metrics, group_by)


# --- roll-ups (metrics.rollups): the unfiltered figures --------------------------------


def _tuples(qs: QuerySet) -> list[tuple]:
    """The rows of a values_list() queryset. On PostgreSQL straight from the cursor: the
    roll-up reads return thousands of small rows and need none of Django's per-row
    converters (dates, ints and floats come back typed); elsewhere through the ORM."""
    if connection.vendor != "postgresql":
        return list(qs)
    sql, params = qs.query.get_compiler(using=qs.db).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def use_rollups(f: MetricsFilter) -> bool:
    """Whether the figures come from the roll-ups: periods are whole local days, and the
    roll-ups are kept per company, agent (replies) and queue (replies), not per tag,
    status or channel, nor per the ticket's *current* agent/queue that the message
    filters use. Filtered views read the source rows (exact, and narrower)."""
    return not (f.agent_id or f.queue_id or f.tag or f.channel or f.status)


def _day_range(f: MetricsFilter) -> dict[str, Any]:
    days = f.days
    return {"day__gte": days[0], "day__lte": days[-1]}


def split_weeks(days: list[date]) -> tuple[list[date], list[date]]:
    """(the period's whole local ISO weeks, by their Monday; its other days): long
    periods read the weekly buckets for the former, the daily ones for the latter (at
    most six days at each end)."""
    first, last = days[0], days[-1]
    monday = rollups.week_of(first)
    if monday < first:
        monday += timedelta(days=7)
    weeks = []
    while monday + timedelta(days=6) <= last:
        weeks.append(monday)
        monday += timedelta(days=7)
    if not weeks:
        return [], days
    covered_to = weeks[-1] + timedelta(days=6)
    return weeks, [d for d in days if d < weeks[0] or d > covered_to]


_BUCKET_COLUMNS = ("scope", "scope_id", "metric", "bucket", "n", "total", "lo", "hi")


def _bucket_sums(days: QuerySet | None, weeks: QuerySet | None) -> list[tuple]:
    """(scope, scope id, figure, bucket, n, total, lo, hi) summed over the period's rows
    of a daily histogram table (``days``: the days outside whole weeks) and of its
    weekly table (``weeks``: the whole weeks), either None when the period has none:
    one statement, one grouping over both parts (``UNION ALL`` of two index-only range
    scans), so every bucket comes back once with its partial sums merged."""
    sqls, params = [], []
    for qs in (days, weeks):
        if qs is None:
            continue
        part = qs.values_list(*_BUCKET_COLUMNS).order_by()
        sql, part_params = part.query.get_compiler(using=part.db).as_sql()
        sqls.append(sql)
        params += part_params
    cols = ", ".join(_BUCKET_COLUMNS[:4])
    sql = (
        f"SELECT {cols}, SUM(n), SUM(total), MIN(lo), MAX(hi) "  # noqa: S608 - no input
        f"FROM ({' UNION ALL '.join(sqls)}) parts GROUP BY {cols}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _rt_histograms(
    company: Company, f: MetricsFilter, shared: dict[str, Any] | None = None
) -> dict[tuple[str, int, str], rollups.Histogram]:
    """(scope, scope id, figure) -> histogram over the period, in the filter's mode (the
    counters are stored in both). One query per request: the whole weeks' buckets from
    the weekly table and the other days' from the daily one (UNION ALL of two grouped
    index-only scans); a bucket's two partial sums merge here."""
    shared = {} if shared is None else shared
    if "rt_hist" not in shared:
        out: dict[tuple[str, int, str], rollups.Histogram] = defaultdict(rollups.Histogram)
        weeks, days = split_weeks(f.days)
        rows = _bucket_sums(
            ResponseTimeBucket.objects.for_company(company).filter(
                business=f.business_hours, day__in=days
            )
            if days
            else None,
            ResponseTimeWeek.objects.for_company(company).filter(
                business=f.business_hours, week__in=weeks
            )
            if weeks
            else None,
        )
        for scope, scope_id, metric, bucket, n, total, lo, hi in rows:
            out[(scope, scope_id, metric)].add(bucket, n, total, lo, hi)
        shared["rt_hist"] = out
    return shared["rt_hist"]


_ROLLUP_FIGURES = {
    # stats name -> roll-up figure, per grouping
    None: {"first_response": "first", "reply": "reply", "bot_reply": "bot_reply"},
    "responder_id": {"reply": "reply", "agent_first_response": "agent_first"},
    "queue_id": {"first_response": "first", "reply": "reply"},
}
_ROLLUP_SCOPES = {
    None: RollupScope.COMPANY,
    "responder_id": RollupScope.AGENT,
    "queue_id": RollupScope.QUEUE,
}


def _rt_stats_rollup(
    company: Company, f: MetricsFilter, group_by: str | None, shared: dict[str, Any] | None = None
) -> dict[Any, dict[str, Stats]]:
    hist = _rt_histograms(company, f, shared)
    scope, figures = _ROLLUP_SCOPES[group_by], _ROLLUP_FIGURES[group_by]
    out: dict[Any, dict[str, Stats]] = defaultdict(dict)
    groups = {key[1] for key in hist if key[0] == scope}
    for group in groups:
        key_group = None if group_by is None else group
        for name, figure in figures.items():
            h = hist.get((scope, group, figure))
            out[key_group][name] = h.stats() if h is not None else _empty_stats()
    return out


def _rt_counts_rollup(
    company: Company, f: MetricsFilter, shared: dict[str, Any] | None
) -> dict[str, int]:
    hist = _rt_histograms(company, f, shared)

    def n(figure: str) -> int:
        h = hist.get((RollupScope.COMPANY, 0, figure))
        return h.n if h is not None else 0

    # Counters, not histograms: a row counts whatever its business-hours value.
    agent_firsts, bot_firsts = n("first_any_agent"), n("first_any_bot")
    bot_replies = n("reply_any_bot")
    return {
        "replies": n("reply_any_agent") + bot_replies,
        "bot_replies": bot_replies,
        "firsts": agent_firsts + bot_firsts,
        "bot_firsts": bot_firsts,
    }


# --- ticket durations ------------------------------------------------------------------

TICKET_DURATIONS = ("resolution", "handling", "queue_wait")


def _ticket_duration_rows(company: Company, f: MetricsFilter) -> QuerySet[Ticket]:
    in_period = Q(resolved_at__gte=f.start, resolved_at__lt=f.end) | Q(
        assigned_at__gte=f.start, assigned_at__lt=f.end
    )
    return tickets_qs(company, f).filter(in_period)


def ticket_durations(
    company: Company, t: Any, f: MetricsFilter, queues: dict[int, Queue]
) -> dict[str, float | None]:
    """Resolution, handling and queue-wait seconds of one ticket (a Ticket or a values()
    dict) for the period (Python definition; the SQL path in ``_ticket_stats`` computes
    the same)."""

    def get(key: str) -> Any:
        return t[key] if isinstance(t, dict) else getattr(t, key)

    created, reopened = get("created_at"), get("reopened_at")
    resolved, assigned, queued = get("resolved_at"), get("assigned_at"), get("queued_at")
    opened = reopened or created
    queue = queues.get(get("queue_id")) if get("queue_id") else None

    def span(start: datetime, end: datetime) -> float:
        if f.business_hours:
            return business_seconds_between(company, start, end, queue)
        return (end - start).total_seconds()

    out: dict[str, float | None] = dict.fromkeys(TICKET_DURATIONS)
    resolved_ok = (
        resolved is not None
        and f.start <= resolved < f.end
        and (reopened is None or reopened <= resolved)
    )
    if resolved_ok:
        out["resolution"] = span(opened, resolved)
        if assigned is not None and assigned <= resolved:
            out["handling"] = span(max(assigned, opened), resolved)
    if (
        assigned is not None
        and queued is not None
        and f.start <= assigned < f.end
        and assigned >= queued
    ):
        out["queue_wait"] = span(max(queued, opened), assigned) if assigned >= opened else 0.0
    return out


def _ticket_samples(
    company: Company, f: MetricsFilter, shared: dict[str, Any] | None
) -> list[tuple[int | None, int | None, dict[str, float | None]]]:
    """(assignee, queue, durations) of every ticket resolved or assigned in the period,
    computed once per request (the Python path: SQLite, business-hours mode)."""
    shared = {} if shared is None else shared
    if "ticket_samples" not in shared:
        queues = {q.pk: q for q in Queue.objects.for_company(company)} if f.business_hours else {}
        fields = [
            "created_at",
            "reopened_at",
            "resolved_at",
            "assigned_at",
            "queued_at",
            "queue_id",
            "assignee_id",
        ]
        shared["ticket_samples"] = [
            (row["assignee_id"], row["queue_id"], ticket_durations(company, row, f, queues))
            for row in _ticket_duration_rows(company, f)
            .values(*fields)
            .order_by()
            .iterator(chunk_size=5000)
        ]
    return shared["ticket_samples"]


def _ticket_stats(
    company: Company, f: MetricsFilter, group_by: str | None, shared: dict[str, Any] | None = None
) -> dict[Any, dict[str, Stats]]:
    if use_ticket_rollups(f) and _wall_clock_equals_business(company, f, shared):
        return _ticket_rollup(company, f, shared)["stats"][group_by]
    qs = _ticket_duration_rows(company, f)
    if f.business_hours or not _use_sql_percentiles():
        samples: dict[Any, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for assignee_id, queue_id, durations in _ticket_samples(company, f, shared):
            group = {"assignee_id": assignee_id, "queue_id": queue_id}.get(group_by or "")
            for name, value in durations.items():
                if value is not None:
                    samples[group][name].append(value)
        return {
            g: {name: _stats(per.get(name, [])) for name in TICKET_DURATIONS}
            for g, per in samples.items()
        }
    opened = Coalesce(F("reopened_at"), F("created_at"))
    resolved_ok = Q(resolved_at__gte=f.start, resolved_at__lt=f.end) & (
        Q(reopened_at__isnull=True) | Q(reopened_at__lte=F("resolved_at"))
    )
    qs = qs.annotate(
        _resolution=EpochDiff(F("resolved_at"), opened),
        _handling=EpochDiff(F("resolved_at"), Greatest(F("assigned_at"), opened)),
        # Clamped per ticket at zero like the Python path (assigned before a reopen).
        _queue_wait=Greatest(
            EpochDiff(F("assigned_at"), Greatest(F("queued_at"), opened)), Value(0.0)
        ),
    )
    specs = {
        "resolution": ("_resolution", resolved_ok),
        "handling": ("_handling", resolved_ok & Q(assigned_at__lte=F("resolved_at"))),
        "queue_wait": (
            "_queue_wait",
            Q(assigned_at__gte=f.start, assigned_at__lt=f.end, queued_at__isnull=False)
            & Q(assigned_at__gte=F("queued_at")),
        ),
    }
    # Same SQL as every other percentile figure (nulls excluded, like the Python path).
    return _grouped_stats(qs, specs, group_by)


def _wall_clock_equals_business(
    company: Company, f: MetricsFilter, shared: dict[str, Any] | None = None
) -> bool:
    """True in wall-clock mode, and in business-hours mode when neither the company nor
    any of its queues has hours (always open: business seconds are calendar seconds)."""
    if not f.business_hours:
        return True
    shared = {} if shared is None else shared
    if "always_open" not in shared:
        # The queue rows the queue table reads anyway: no query of its own.
        queue_hours = [q.business_hours for q in _queues(company, shared)]
        shared["always_open"] = not any(
            any(day in (hours or {}) for day in DAY_KEYS)
            for hours in [hours_for(company), *queue_hours]
        )
    return bool(shared["always_open"])


_TICKET_SCOPES: dict[str, str | None] = {
    RollupScope.COMPANY: None,
    RollupScope.AGENT: "assignee_id",
    RollupScope.QUEUE: "queue_id",
}
TICKET_COUNTERS = ("created", "resolved", "reopened")


def use_ticket_rollups(f: MetricsFilter) -> bool:
    """The ticket figures come from metrics_ticketbucket (kept by a PostgreSQL trigger,
    migration 0008) when the view is unfiltered and no business hours apply."""
    return connection.vendor == "postgresql" and use_rollups(f)


def _ticket_rollup(company: Company, f: MetricsFilter, shared: dict[str, Any] | None) -> Any:
    """{"stats": {grouping: {group: {figure: Stats}}}, "counts": {(scope, id, name): n}}
    over the period: one query per request, whole weeks from the weekly rows and the
    other days from the daily ones (like the response times; a weekly row equals its
    days' rows: migration 0012)."""
    shared = {} if shared is None else shared
    if "tk_rollup" in shared:
        return shared["tk_rollup"]
    weeks, days = split_weeks(f.days)
    rows = _bucket_sums(
        TicketBucket.objects.for_company(company).filter(day__in=days) if days else None,
        TicketWeek.objects.for_company(company).filter(week__in=weeks) if weeks else None,
    )
    hist: dict[tuple[str, int, str], rollups.Histogram] = defaultdict(rollups.Histogram)
    counts: dict[tuple[str, int, str], int] = defaultdict(int)
    for scope, scope_id, metric, bucket, n, total, lo, hi in rows:
        if metric in TICKET_COUNTERS:
            counts[(scope, scope_id, metric)] += n
        elif n > 0:  # buckets the tickets have all left (reopened, transferred) hold none
            hist[(scope, scope_id, metric)].add(bucket, n, total, lo, hi)
    stats: dict[str | None, dict[Any, dict[str, Stats]]] = {
        grouping: defaultdict(dict) for grouping in _TICKET_SCOPES.values()
    }
    for (scope, scope_id, metric), h in hist.items():
        grouping = _TICKET_SCOPES[scope]
        stats[grouping][None if grouping is None else scope_id][metric] = h.stats()
    for per_group in stats.values():
        for figures in per_group.values():
            for name in TICKET_DURATIONS:
                figures.setdefault(name, _empty_stats())
    shared["tk_rollup"] = {"stats": stats, "counts": counts}
    return shared["tk_rollup"]


# --- the figures -----------------------------------------------------------------------


def live_counts(company: Company, f: MetricsFilter) -> dict[str, int]:
    """Right-now figures (not limited to the period): open, waiting, unread."""
    # Only active tickets are read, not the history: unfiltered, an index-only scan of
    # the partial covering index metrics_ticket_active (migration 0009), which holds
    # waiting_since and unread_count but not the id, hence COUNT(*) and
    # COUNT(waiting_since) (the non-null ones) rather than counts of the id.
    row = (
        tickets_qs(company, f)
        .filter(status__in=ACTIVE_STATUSES)
        .aggregate(
            open=Count("*"),
            waiting=Count("waiting_since"),
            unread=Coalesce(Sum("unread_count"), 0),
        )
    )
    return {"open": row["open"], "waiting": row["waiting"], "unread": row["unread"]}


def message_rollup(
    company: Company, f: MetricsFilter, shared: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Messages of the period counted by local day, local hour, direction and sender
    type: one scan feeds the daily and hourly volumes, the heatmap and the totals."""
    shared = {} if shared is None else shared
    if "rollup" not in shared and use_rollups(f) and connection.vendor == "postgresql":
        _message_rollup_pg(company, f, shared)
    if "rollup" not in shared and use_rollups(f):
        shared["rollup"] = list(
            MessageVolume.objects.for_company(company)
            .filter(**_day_range(f))
            .values("day", "direction", "sender_type", hr=F("hour"))
            .annotate(n=Sum("n"))
            .order_by()
        )
    if "rollup" not in shared:
        tz = company.tzinfo
        shared["rollup"] = list(
            messages_qs(company, f)
            .annotate(
                day=TruncDate("created_at", tzinfo=tz), hr=ExtractHour("created_at", tzinfo=tz)
            )
            .values("day", "hr", "direction", "sender_type")
            .annotate(n=Count("pk"))
            .order_by()
        )
    return shared["rollup"]


def _period_stats(
    company: Company, f: MetricsFilter, shared: dict[str, Any] | None
) -> tuple[dict[str, Stats], dict[str, Stats]]:
    """Ungrouped response-time and ticket-duration stats, computed once per request."""
    shared = {} if shared is None else shared
    if "rt" not in shared:
        shared["rt"] = _rt_stats(company, f, None, shared).get(None, {})
        shared["tk"] = _ticket_stats(company, f, None, shared).get(None, {})
    return shared["rt"], shared["tk"]


def cards(
    company: Company, f: MetricsFilter, shared: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The dashboard cards: live counts plus the period's first response (agents only,
    from the ticket entering its queue) and resolution medians/p90."""
    rt, tk = _period_stats(company, f, shared)
    first = rt.get("first_response", _empty_stats())
    resolution = tk.get("resolution", _empty_stats())
    return {
        **live_counts(company, f),
        "first_response_p50": first["p50"],
        "first_response_p90": first["p90"],
        "first_response_n": first["n"],
        "resolution_p50": resolution["p50"],
        "resolution_p90": resolution["p90"],
        "resolution_n": resolution["n"],
        "business_hours": f.business_hours,
    }


def totals(
    company: Company, f: MetricsFilter, shared: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Period totals: tickets created/resolved/reopened, messages by direction and sender
    type, unique contacts, reply times, queue wait, handling, AI share and reservations."""
    in_period = {"gte": f.start, "lt": f.end}
    created = Q(created_at__gte=f.start, created_at__lt=f.end)
    resolved = Q(resolved_at__gte=f.start, resolved_at__lt=f.end)
    reopened = Q(reopened_at__gte=f.start, reopened_at__lt=f.end)
    if use_ticket_rollups(f):
        counts = _ticket_rollup(company, f, shared)["counts"]
        tickets = {name: counts[(RollupScope.COMPANY, 0, name)] for name in TICKET_COUNTERS}
    else:
        tickets = (
            tickets_qs(company, f)
            .filter(created | resolved | reopened)
            .aggregate(
                created=Count("pk", filter=created),
                resolved=Count("pk", filter=resolved),
                reopened=Count("pk", filter=reopened),
            )
        )
    by_kind: dict[str, int] = defaultdict(int)
    for row in message_rollup(company, f, shared):
        by_kind[f"{row['direction']}_{row['sender_type']}"] += row["n"]
    if use_rollups(f):
        unique_contacts = (
            ContactDay.objects.for_company(company)
            .filter(**_day_range(f))
            .aggregate(n=Count("contact_id", distinct=True))["n"]
        )
        rt_counts = _rt_counts_rollup(company, f, shared)
    else:
        unique_contacts = (
            messages_qs(company, f)
            .filter(direction=Direction.INBOUND)
            .aggregate(n=Count("conversation__contact_id", distinct=True))["n"]
        )
        rt_counts = response_times_qs(company, f).aggregate(
            replies=Count("pk"),
            bot_replies=Count("pk", filter=BOT),
            firsts=Count("pk", filter=Q(is_first=True)),
            bot_firsts=Count("pk", filter=Q(is_first=True) & BOT),
        )
    rt, tk = _period_stats(company, f, shared)
    reservations = (
        LogEntry.objects.for_company(company)
        .filter(
            source=AI_RESERVATION_SOURCE,
            created_at__gte=in_period["gte"],
            created_at__lt=in_period["lt"],
        )
        .count()
    )
    inbound = sum(v for k, v in by_kind.items() if k.startswith(f"{Direction.INBOUND}_"))
    outbound = sum(v for k, v in by_kind.items() if k.startswith(f"{Direction.OUTBOUND}_"))
    return {
        "tickets_created": tickets["created"],
        "tickets_resolved": tickets["resolved"],
        "tickets_reopened": tickets["reopened"],
        "messages_in": inbound,
        "messages_out": outbound,
        "messages_by_sender": {
            s.value: by_kind.get(f"{Direction.OUTBOUND}_{s.value}", 0)
            + by_kind.get(f"{Direction.INBOUND}_{s.value}", 0)
            for s in SenderType
        },
        "unique_contacts": unique_contacts,
        "replies": rt_counts["replies"],
        "bot_replies": rt_counts["bot_replies"],
        "ai_share_replies": _share(rt_counts["bot_replies"], rt_counts["replies"]),
        "ai_share_first_responses": _share(rt_counts["bot_firsts"], rt_counts["firsts"]),
        "ai_reservations": reservations,
        "reply": rt.get("reply", _empty_stats()),
        "bot_reply": rt.get("bot_reply", _empty_stats()),
        "first_response": rt.get("first_response", _empty_stats()),
        "resolution": tk.get("resolution", _empty_stats()),
        "handling": tk.get("handling", _empty_stats()),
        "queue_wait": tk.get("queue_wait", _empty_stats()),
    }


def _share(part: int, whole: int) -> float | None:
    return None if not whole else part / whole


def timeseries(
    company: Company, f: MetricsFilter, shared: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Per-day volume (in/out) and response-time trend (agents), per-hour volume
    (customer messages)."""
    shared = {} if shared is None else shared
    daily: dict[date, dict[str, Any]] = {
        d: {
            "date": d.isoformat(),
            "in": 0,
            "out": 0,
            "first_response_p50": None,
            "reply_p50": None,
        }
        for d in f.days
    }
    for row in message_rollup(company, f, shared):
        per_day = daily.get(row["day"])
        if per_day is not None:
            per_day[row["direction"]] += row["n"]
    trend = _trend(company, f)
    for day, per in trend.items():
        if day in daily:
            for metric, stats in per.items():
                daily[day][metric] = stats["p50"]
    heat = heatmap(company, f, shared)
    hourly = [{"hour": h, "count": sum(heat["cells"][d][h] for d in range(7))} for h in range(24)]
    return {"daily": list(daily.values()), "hourly": hourly}


def _trend(company: Company, f: MetricsFilter) -> dict[Any, dict[str, Stats]]:
    """Per local day: agents' first response (from the queue) and reply time."""
    if use_rollups(f):
        hist: dict[Any, dict[str, rollups.Histogram]] = defaultdict(
            lambda: defaultdict(rollups.Histogram)
        )
        names = {"first": "first_response_p50", "reply": "reply_p50"}
        for r in _tuples(
            ResponseTimeBucket.objects.for_company(company)
            .filter(**_day_range(f))
            .filter(business=f.business_hours, scope=RollupScope.COMPANY, metric__in=names)
            .values_list("day", "metric", "bucket", "n", "total", "lo", "hi")
        ):
            day, metric, bucket, n, total, lo, hi = r
            hist[day][names[metric]].add(bucket, n, total, lo, hi)
        return {day: {k: h.stats() for k, h in per.items()} for day, per in hist.items()}
    reply, from_queue, _ = _rt_fields(f)
    rt = response_times_qs(company, f).annotate(day=TruncDate("answered_at", tzinfo=company.tzinfo))
    return _grouped_stats(
        rt,
        {
            "first_response_p50": (from_queue, AGENT & Q(is_first_agent=True)),
            "reply_p50": (reply, AGENT),
        },
        "day",
    )


def heatmap(
    company: Company, f: MetricsFilter, shared: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Customer messages by weekday (0 = Monday) x hour, in the company's time zone."""
    cells = [[0] * 24 for _ in range(7)]
    for row in message_rollup(company, f, shared):
        if row["direction"] == Direction.INBOUND:
            cells[row["day"].weekday()][row["hr"]] += row["n"]
    return {"cells": cells, "timezone": company.timezone}


def agent_table(
    company: Company, f: MetricsFilter, shared: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """One row per agent (active members, plus anyone who answered in the period):
    tickets and messages they sent, first response (from assignment) and reply time
    p50/p90, resolution p50 of tickets assigned to them. Bot replies never count."""
    members = (
        Membership.objects.for_company(company)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    if f.agent_id:
        members = members.filter(user_id=f.agent_id)
    sent = _agent_sent_rollup(company, f, shared) if use_rollups(f) else _agent_sent(company, f)
    rt = _rt_stats(company, f, "responder_id", shared)
    tk = _ticket_stats(company, f, "assignee_id", shared)
    rows = []
    seen: set[int] = set()
    for m in members:
        seen.add(m.user_id)
        if not m.is_active and m.user_id not in sent and m.user_id not in rt:
            continue
        rows.append(_agent_row(m.user_id, m.user.display_name, m.user.email, sent, rt, tk))
    return rows


# Bits set in the 4-bit quarters mask of a message-volume row (one row per agent, local
# day and hour): the agent's 15-minute activity slots in that hour.
_QUARTER_BITS = (
    "(quarters & 1) + ((quarters >> 1) & 1) + ((quarters >> 2) & 1) + ((quarters >> 3) & 1)"
)


def _message_rollup_pg(company: Company, f: MetricsFilter, shared: dict[str, Any]) -> None:
    """The period's message volumes by day, hour, direction and sender type, and the
    agents' messages and activity slots, in one scan of the roll-up (two grouping sets):
    ``shared["rollup"]`` and ``shared["agent_sent"]``."""
    days = f.days
    by_day: list[dict[str, Any]] = []
    per_agent: dict[int, dict[str, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT GROUPING(day), day, hour, direction, sender_type, sender_user_id, "  # noqa: S608 - constants only
            f"SUM(n), SUM({_QUARTER_BITS}) FROM {MessageVolume._meta.db_table} "
            "WHERE company_id = %s AND day >= %s AND day <= %s "
            "GROUP BY GROUPING SETS ((day, hour, direction, sender_type), "
            "(sender_user_id, direction, sender_type))",
            [company.pk, days[0], days[-1]],
        )
        rows = cursor.fetchall()
    for agents_set, day, hour, direction, sender_type, user_id, n, slots in rows:
        if not agents_set:
            by_day.append(
                {"day": day, "direction": direction, "sender_type": sender_type, "hr": hour, "n": n}
            )
        elif user_id and direction == Direction.OUTBOUND and sender_type == SenderType.AGENT:
            per_agent[user_id] = {"messages": n, "slots": slots}
    shared["rollup"] = by_day
    shared["agent_sent"] = per_agent


def _agent_sent_rollup(
    company: Company, f: MetricsFilter, shared: dict[str, Any] | None = None
) -> dict[int, dict[str, int]]:
    """Per agent: messages sent, distinct tickets, activity slots (roll-ups). A 15-minute
    slot lies in one local hour (time-zone offsets are multiples of 15 minutes)."""
    sent: dict[int, dict[str, int]] = {}
    if shared is not None and "agent_sent" in shared:  # read with the volumes
        per_agent = shared["agent_sent"]
    else:
        per_agent = {
            row["sender_user_id"]: {"messages": row["messages"], "slots": row["slots"]}
            for row in MessageVolume.objects.for_company(company)
            .filter(**_day_range(f), direction=Direction.OUTBOUND, sender_type=SenderType.AGENT)
            .exclude(sender_user_id=0)
            .values("sender_user_id")
            .annotate(
                messages=Sum("n"),
                slots=Sum(RawSQL(_QUARTER_BITS, [], output_field=IntegerField())),  # noqa: S611
            )
            .order_by()
        }
    for user_id, row in per_agent.items():
        sent[user_id] = {"messages": row["messages"], "tickets": 0, "slots": row["slots"]}
    for row in (
        AgentTicketDay.objects.for_company(company)
        .filter(**_day_range(f), agent_id__in=list(sent))
        .values("agent_id")
        .annotate(tickets=Count("ticket_id", distinct=True))
        .order_by()
    ):
        sent[row["agent_id"]]["tickets"] = row["tickets"]
    return sent


def _agent_sent(company: Company, f: MetricsFilter) -> dict[int, dict[str, int]]:
    sent: dict[int, dict[str, int]] = {}
    # Messages an agent sent, whoever the ticket is assigned to now.
    sent_qs = messages_qs(company, replace(f, agent_id=None)).filter(
        direction=Direction.OUTBOUND, sender_type=SenderType.AGENT, sender_user__isnull=False
    )
    if f.agent_id:
        sent_qs = sent_qs.filter(sender_user_id=f.agent_id)
    for row in (
        sent_qs.values("sender_user_id")
        .annotate(
            messages=Count("pk"),
            tickets=Count("ticket_id", distinct=True),
            slots=Count(ActivitySlot("created_at"), distinct=True),
        )
        .order_by()
    ):
        sent[row["sender_user_id"]] = {
            "messages": row["messages"],
            "tickets": row["tickets"],
            "slots": row["slots"],
        }
    return sent


def _agent_row(
    user_id: int, name: str, email: str, sent: dict, rt: dict, tk: dict
) -> dict[str, Any]:
    r, t = rt.get(user_id, {}), tk.get(user_id, {})
    first = r.get("agent_first_response", _empty_stats())
    reply = r.get("reply", _empty_stats())
    resolution = t.get("resolution", _empty_stats())
    return {
        "agent_id": user_id,
        "name": name,
        "email": email,
        "tickets": sent.get(user_id, {}).get("tickets", 0),
        "messages": sent.get(user_id, {}).get("messages", 0),
        "replies": reply["n"],
        "first_response_p50": first["p50"],
        "first_response_p90": first["p90"],
        "reply_p50": reply["p50"],
        "reply_p90": reply["p90"],
        "resolved": resolution["n"],
        "resolution_p50": resolution["p50"],
        # Presence lives only in Redis (no sessions are stored): online time is
        # approximated by the 15-minute slots in which the agent sent a message
        # (docs/metrics.md). None when they sent nothing.
        "online_seconds": (sent[user_id]["slots"] * ACTIVITY_SLOT_SECONDS)
        if user_id in sent
        else None,
    }


def _queues(company: Company, shared: dict[str, Any] | None) -> list[Queue]:
    """The company's queues in display order, read once per request."""
    shared = {} if shared is None else shared
    if "queues" not in shared:
        shared["queues"] = list(Queue.objects.for_company(company).order_by("order", "name"))
    return list(shared["queues"])


def queue_table(
    company: Company, f: MetricsFilter, shared: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """One row per queue: tickets created in the period, first response from entering the
    queue (agents only), reply time and resolution medians."""
    queues = _queues(company, shared)
    if f.queue_id:
        queues = [q for q in queues if q.pk == f.queue_id]
    if use_ticket_rollups(f):
        counts = _ticket_rollup(company, f, shared)["counts"]
        created = {q.pk: counts.get((RollupScope.QUEUE, q.pk, "created"), 0) for q in queues}
    else:
        created = {
            row["queue_id"]: row["n"]
            for row in tickets_qs(company, f)
            .filter(created_at__gte=f.start, created_at__lt=f.end)
            .values("queue_id")
            .annotate(n=Count("pk"))
            .order_by()
        }
    rt = _rt_stats(company, f, "queue_id", shared)
    tk = _ticket_stats(company, f, "queue_id", shared)
    rows = []
    for q in queues:
        r, t = rt.get(q.pk, {}), tk.get(q.pk, {})
        first = r.get("first_response", _empty_stats())
        rows.append(
            {
                "queue_id": q.pk,
                "name": q.name,
                "color": q.color,
                "tickets_created": created.get(q.pk, 0),
                "first_response_p50": first["p50"],
                "first_response_p90": first["p90"],
                "reply_p50": r.get("reply", _empty_stats())["p50"],
                "resolution_p50": t.get("resolution", _empty_stats())["p50"],
                "queue_wait_p50": t.get("queue_wait", _empty_stats())["p50"],
            }
        )
    return rows


def dashboard(company: Company, f: MetricsFilter) -> dict[str, Any]:
    """Everything the dashboard page shows; the API and CSV reuse the same pieces."""
    shared: dict[str, Any] = {}
    return {
        "cards": cards(company, f, shared),
        "totals": totals(company, f, shared),
        "timeseries": timeseries(company, f, shared),
        "heatmap": heatmap(company, f, shared),
        "agents": agent_table(company, f, shared),
        "queues": queue_table(company, f, shared),
    }


# --- per-ticket rows (CSV) ---------------------------------------------------------------


TICKET_ROW_FIELDS = (
    "pk",
    "number",
    "status",
    "priority",
    "created_at",
    "reopened_at",
    "resolved_at",
    "assigned_at",
    "queued_at",
    "queue_id",
    "queue__name",
    "assignee_id",
    "assignee__email",
    "conversation__integration__kind",
    "contact__name",
    "contact__phone",
    "reopen_count",
    "tags",
    "_first",
    "_bot_first",
)


def _keyset_pages(qs: QuerySet, key: str, first_page: int, page: int) -> Iterator[dict]:
    """Rows of ``qs`` in (``key``, pk) order, fetched in pages that start after the last
    row seen (keyset pagination): each page is a short index range scan, so the first
    rows leave at once and no cursor stays open while the client reads."""
    size, last = first_page, None
    while True:
        chunk = qs
        if last is not None:
            chunk = chunk.filter(
                Q(**{f"{key}__gt": last[0]}) | Q(**{key: last[0], "pk__gt": last[1]})
            )
        rows = list(chunk.order_by(key, "pk")[:size])
        yield from rows
        if len(rows) < size:
            return
        last = (rows[-1][key], rows[-1]["pk"])
        size = page


def ticket_rows(
    company: Company, f: MetricsFilter, chunk_size: int = 2000, first_page: int = 100
) -> Iterator[dict]:
    """Tickets created or resolved in the period, one dict each, streamed: those created
    in the period by creation time, then the older ones resolved in the period by
    resolution time. First response is the first agent reply of the ticket's latest
    cycle (from its queue); "answered first by AI" whether the bot gave that cycle's
    first reply."""
    from django.db.models import OuterRef, Subquery

    _, from_queue, _ = _rt_fields(f)
    # Per ticket: the first agent reply of its latest cycle. Looked up by ticket only
    # (the (ticket, cycle) index): a period range here would steer the planner to the
    # (company, answered_at) index and scan the whole period for every ticket.
    first_rt = (
        ResponseTime.objects.for_company(company)
        .filter(ticket=OuterRef("pk"), is_first_agent=True)
        .order_by("-cycle", "answered_at")
    )
    bot_first_rt = (
        ResponseTime.objects.for_company(company)
        .filter(ticket=OuterRef("pk"), is_first=True, responder_type=ResponderType.BOT)
        .order_by("-cycle")
    )
    base = tickets_qs(company, f).annotate(
        _first=Subquery(first_rt.values(from_queue)[:1]),
        _bot_first=Subquery(bot_first_rt.values("pk")[:1]),
    )
    # Two index range scans ((company, created_at) and (company, resolved_at)) instead of
    # one OR that must collect every matching ticket before the first row can leave.
    created = base.filter(created_at__gte=f.start, created_at__lt=f.end).values(*TICKET_ROW_FIELDS)
    resolved_earlier = base.filter(
        resolved_at__gte=f.start, resolved_at__lt=f.end, created_at__lt=f.start
    ).values(*TICKET_ROW_FIELDS)
    queues = {q.pk: q for q in Queue.objects.for_company(company)} if f.business_hours else {}
    parts = (
        _keyset_pages(created, "created_at", first_page, chunk_size),
        _keyset_pages(resolved_earlier, "resolved_at", first_page, chunk_size),
    )
    for part in parts:
        for row in part:
            durations = ticket_durations(company, row, f, queues)
            yield {
                "number": row["number"],
                "status": row["status"],
                "priority": row["priority"],
                "queue": row["queue__name"] or "",
                "assignee": row["assignee__email"] or "",
                "channel": row["conversation__integration__kind"] or "",
                "contact": row["contact__name"] or row["contact__phone"] or "",
                "tags": ",".join(row["tags"] or []),
                "created_at": row["created_at"],
                "resolved_at": row["resolved_at"],
                "reopen_count": row["reopen_count"],
                "first_response_seconds": row["_first"],
                "answered_first_by_ai": row["_bot_first"] is not None,
                "resolution_seconds": durations["resolution"],
                "handling_seconds": durations["handling"],
                "queue_wait_seconds": durations["queue_wait"],
            }


# --- clients, logs, global ---------------------------------------------------------------


def clients(company: Company, search: str = "") -> QuerySet[Any]:
    """Contacts with their last activity, ticket count and channel kinds."""
    qs = Contact.objects.for_company(company)
    search = search.strip()
    if search:
        qs = qs.filter(
            Q(name__icontains=search) | Q(phone__icontains=search) | Q(email__icontains=search)
        )
    return qs.annotate(
        ticket_count=Count("tickets", distinct=True),
    ).order_by(F("last_activity_at").desc(nulls_last=True), "-pk")


def channels_for(company: Company, contact_ids: list[int]) -> dict[int, list[str]]:
    """The integration kinds each contact talked on (one query for a page of contacts)."""
    from conversations.models import Conversation

    out: dict[int, list[str]] = defaultdict(list)
    for contact_id, kind in (
        Conversation.objects.for_company(company)
        .filter(contact_id__in=contact_ids)
        .values_list("contact_id", "integration__kind")
        .distinct()
        .order_by("contact_id", "integration__kind")
    ):
        out[contact_id].append(kind)
    return out


def log_entries(company: Company, *, level: str = "", source: str = "") -> QuerySet[LogEntry]:
    qs = LogEntry.objects.for_company(company).select_related("integration")
    if level:
        qs = qs.filter(level=level)
    if source:
        qs = qs.filter(source=source)
    return qs.order_by("-created_at", "-pk")


def log_sources(company: Company) -> list[str]:
    return list(
        LogEntry.objects.for_company(company)
        .values_list("source", flat=True)
        .distinct()
        .order_by("source")
    )


def error_summary(company: Company, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    since = now - timedelta(hours=24)
    return {
        "errors_24h": LogEntry.objects.for_company(company)
        .filter(level=LogLevel.ERROR, created_at__gte=since)
        .count(),
        "failed_webhooks": WebhookEvent.objects.for_company(company)
        .filter(status=WebhookStatus.FAILED)
        .count(),
        "failed_sends": Message.objects.for_company(company)
        .filter(delivery_status="failed")
        .count(),
    }


def recent_errors(company: Company, limit: int = 20) -> list[LogEntry]:
    since = timezone.now() - timedelta(hours=24)
    return list(log_entries(company, level=LogLevel.ERROR).filter(created_at__gte=since)[:limit])


def failed_webhooks(company: Company, limit: int = 50) -> list[WebhookEvent]:
    return list(
        WebhookEvent.objects.for_company(company)
        .filter(status=WebhookStatus.FAILED)
        .select_related("integration")
        .defer("body")
        .order_by("-received_at")[:limit]
    )


def failed_sends(company: Company, limit: int = 50) -> list[Message]:
    return list(
        Message.objects.for_company(company)
        .filter(delivery_status="failed")
        .select_related("ticket", "conversation__integration")
        .order_by("-created_at")[:limit]
    )


def global_overview(now: datetime | None = None) -> list[dict[str, Any]]:
    """Superusers only: one row per company (a fixed number of grouped queries)."""
    now = now or timezone.now()
    day, week = now - timedelta(hours=24), now - timedelta(days=7)

    def per_company(qs: QuerySet, **agg: Any) -> dict[int, dict[str, int]]:
        return {r["company_id"]: r for r in qs.values("company_id").annotate(**agg).order_by()}

    tickets = per_company(
        Ticket.objects.all(),
        tickets=Count("pk"),
        active=Count("pk", filter=Q(status__in=ACTIVE_STATUSES)),
    )
    messages = per_company(
        Message.objects.all(),
        messages=Count("pk"),
        messages_7d=Count("pk", filter=Q(created_at__gte=week)),
    )
    contacts = per_company(Contact.objects.all(), contacts=Count("pk"))
    errors = per_company(
        LogEntry.objects.filter(level=LogLevel.ERROR, created_at__gte=week),
        errors_7d=Count("pk"),
        errors_24h=Count("pk", filter=Q(created_at__gte=day)),
    )
    rows = []
    for company in Company.objects.order_by("name"):
        pk = company.pk
        rows.append(
            {
                "company": company,
                "tickets": tickets.get(pk, {}).get("tickets", 0),
                "active_tickets": tickets.get(pk, {}).get("active", 0),
                "messages": messages.get(pk, {}).get("messages", 0),
                "messages_7d": messages.get(pk, {}).get("messages_7d", 0),
                "contacts": contacts.get(pk, {}).get("contacts", 0),
                "errors_24h": errors.get(pk, {}).get("errors_24h", 0),
                "errors_7d": errors.get(pk, {}).get("errors_7d", 0),
            }
        )
    return rows
