"""Roll-ups of messages and response times, maintained on write and rebuilt on demand.

Writes: ``message_statements`` / ``response_time_statements`` build the increments for one
stored message (and the response time it recorded, if any); ``execute`` runs them as ONE
SQL statement on PostgreSQL (data-modifying CTEs), so a message costs one extra round
trip, inside the pipeline's transaction. Every increment is an
``INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n``: atomic under concurrency,
no read-modify-write.

Rebuild: ``rebuild`` recomputes a company's roll-ups from the source rows in one
transaction, holding a lock that makes concurrent increments wait until it commits (so
none is lost or counted twice). Used by ``manage.py metrics_rebuild`` (existing
installs, the bench, a changed time zone) and by ``business_hours_recompute``.

Histograms: a fixed list of bucket bounds (``BOUNDS``): 1-second buckets below 20 s,
then buckets 5 % wide. Each bucket keeps count, sum, smallest and largest value, and
percentiles interpolate like ``percentile_cont`` over the values a bucket stands for
(``histogram_percentile``). Precision: docs/metrics.md.
"""

# Table names below come from model metadata and every value is a query parameter.
# ruff: noqa: S608

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from integrations.base import Direction, SenderType

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

if TYPE_CHECKING:
    from conversations.models import Message
    from tenants.models import Company

Statement = tuple[str, list[Any]]


def _bounds() -> list[float]:
    bounds = [float(s) for s in range(21)]  # 0, 1, ..., 20 s: 1-second buckets
    value = 20.0
    while value < 400 * 86400:  # then 5 % wide, up to 400 days (the rest share one)
        value *= 1.05
        bounds.append(round(value, 3))
    return bounds


# Bucket i holds BOUNDS[i-1] <= v < BOUNDS[i] (bucket 0: below 0, never used). The same
# list is handed to PostgreSQL's width_bucket in the rebuild, so both agree exactly.
BOUNDS: list[float] = _bounds()


def bucket_of(value: float) -> int:
    return bisect_right(BOUNDS, value)


# --- what one response time contributes ------------------------------------------------

# (scope, scope id, metric, business, value) for each histogram a response time enters.
Entry = tuple[str, int, str, bool, float]

# Figures: "reply" (agents' replies), "bot_reply", "first" (an agent's first reply, from
# the queue), "agent_first" (per agent: from assignment, else the queue, else the reply)
# and counters with no value (the same in both modes): "reply_any_agent" /
# "reply_any_bot" (every row) and "first_any_agent" / "first_any_bot" (is_first rows).
COUNTERS = ("first_any_agent", "first_any_bot", "reply_any_agent", "reply_any_bot")


def response_time_entries(rt: ResponseTime) -> list[Entry]:
    """The histogram entries of one row; ``ROLLUP_ENTRIES_SQL`` is the same in SQL."""
    out: list[Entry] = []
    agent = rt.responder_type == ResponderType.AGENT
    who = "agent" if agent else "bot"
    for mode in (False, True):  # in both modes: a read stays in one mode's index range
        out.append((RollupScope.COMPANY, 0, f"reply_any_{who}", mode, 0.0))
        if rt.is_first:
            out.append((RollupScope.COMPANY, 0, f"first_any_{who}", mode, 0.0))
    for business in (False, True):
        if business:
            reply, from_queue, from_assignment = (
                rt.business_seconds,
                rt.business_seconds_from_queue,
                rt.business_seconds_from_assignment,
            )
        else:
            reply, from_queue, from_assignment = (
                rt.seconds,
                rt.seconds_from_queue,
                rt.seconds_from_assignment,
            )
        if not agent:
            if reply is not None:
                out.append((RollupScope.COMPANY, 0, "bot_reply", business, reply))
            continue
        first = rt.is_first_agent
        if reply is not None:
            out.append((RollupScope.COMPANY, 0, "reply", business, reply))
            if rt.responder_id:
                out.append((RollupScope.AGENT, rt.responder_id, "reply", business, reply))
            if rt.queue_id:
                out.append((RollupScope.QUEUE, rt.queue_id, "reply", business, reply))
        if first and from_queue is not None:
            out.append((RollupScope.COMPANY, 0, "first", business, from_queue))
            if rt.queue_id:
                out.append((RollupScope.QUEUE, rt.queue_id, "first", business, from_queue))
        if first and rt.responder_id:
            agent_first = next(
                (v for v in (from_assignment, from_queue, reply) if v is not None), None
            )
            if agent_first is not None:
                out.append(
                    (RollupScope.AGENT, rt.responder_id, "agent_first", business, agent_first)
                )
    return out


# --- statements ---------------------------------------------------------------------------


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _day(value: date) -> Any:
    return connection.ops.adapt_datefield_value(value)


def _least(a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if connection.vendor == "postgresql" else f"MIN({a}, {b})"


def _greatest(a: str, b: str) -> str:
    return f"GREATEST({a}, {b})" if connection.vendor == "postgresql" else f"MAX({a}, {b})"


def local(company_tz: Any, at: datetime) -> datetime:
    return at.astimezone(company_tz)


def _local_parts(
    company_id: int, at: datetime, company_tz: Any
) -> tuple[tuple[str, list[Any]], tuple[str, list[Any]], tuple[str, list[Any]]]:
    """(day, hour, quarter-hour bit) of ``at`` in the company's time zone, as SQL with
    parameters. Without a loaded time zone (PostgreSQL only) they are computed in the
    statement itself from tenants_company, so the hook never spends a query on it."""
    if company_tz is not None:
        local_at = at.astimezone(company_tz)
        return (
            ("%s", [_day(local_at.date())]),
            ("%s", [local_at.hour]),
            ("%s", [1 << (local_at.minute // 15)]),
        )
    local_sql = (
        "(%s::timestamptz AT TIME ZONE (SELECT timezone FROM tenants_company WHERE id = %s))"
    )
    params: list[Any] = [at, company_id]
    return (
        (f"{local_sql}::date", params),
        (f"EXTRACT(HOUR FROM {local_sql})::int", params),
        (f"(1 << (EXTRACT(MINUTE FROM {local_sql})::int / 15))", params),
    )


def _agent_of(message: Message) -> int:
    """The agent a message counts for (an agent's outbound message), else 0."""
    if (
        message.direction == Direction.OUTBOUND
        and message.sender_type == SenderType.AGENT
        and message.sender_user_id
    ):
        return int(message.sender_user_id)
    return 0


def message_statements(message: Message, company_tz: Any) -> list[Statement]:
    """Increments for one stored message: its volume (non-private messages), the contact
    active that day (inbound), the agent's ticket that day (an agent's reply).
    ``company_tz`` None (PostgreSQL): local day and hour computed in SQL."""
    if message.is_private:
        return []
    (day_sql, day_p), (hour_sql, hour_p), (bit_sql, bit_p) = _local_parts(
        message.company_id, message.created_at, company_tz
    )
    agent_id = _agent_of(message)
    t = _table(MessageVolume)
    out: list[Statement] = [
        (
            f"INSERT INTO {t} (company_id, day, hour, direction, sender_type, sender_user_id, "
            f"n, quarters) VALUES (%s, {day_sql}, {hour_sql}, %s, %s, %s, 1, {bit_sql}) "
            "ON CONFLICT (company_id, day, hour, direction, sender_type, sender_user_id) "
            f"DO UPDATE SET n = {t}.n + excluded.n, quarters = {t}.quarters | excluded.quarters",
            [
                message.company_id,
                *day_p,
                *hour_p,
                message.direction,
                message.sender_type,
                agent_id,
                *bit_p,
            ],
        )
    ]
    if message.direction == Direction.INBOUND:
        conversations = connection.ops.quote_name("conversations_conversation")
        out.append(
            (
                f"INSERT INTO {_table(ContactDay)} (company_id, day, contact_id) "
                f"SELECT company_id, {day_sql}, contact_id FROM {conversations} WHERE id = %s "
                "ON CONFLICT (company_id, day, contact_id) DO NOTHING",
                [*day_p, message.conversation_id],
            )
        )
    if agent_id and message.ticket_id:
        out.append(
            (
                f"INSERT INTO {_table(AgentTicketDay)} (company_id, day, agent_id, ticket_id) "
                f"VALUES (%s, {day_sql}, %s, %s) "
                "ON CONFLICT (company_id, day, agent_id, ticket_id) DO NOTHING",
                [message.company_id, *day_p, agent_id, message.ticket_id],
            )
        )
    return out


def messages_statements(items: Sequence[tuple[Message, Any]]) -> list[Statement]:
    """The increments of many stored messages (each with its company's loaded time zone)
    summed per key: what ``message_statements`` gives for each of them, as at most three
    multi-row upserts whose keys are distinct (one statement may not touch a row twice).
    Used by the batched webhook ingest (conversations.batch)."""
    volumes: dict[tuple[int, date, int, str, str, int], list[int]] = {}
    contacts: set[tuple[int, date, int]] = set()
    agents: set[tuple[int, date, int, int]] = set()
    for message, company_tz in items:
        if message.is_private:
            continue
        local_at = message.created_at.astimezone(company_tz)
        day = local_at.date()
        agent_id = _agent_of(message)
        key = (
            message.company_id,
            day,
            local_at.hour,
            message.direction,
            message.sender_type,
            agent_id,
        )
        acc = volumes.setdefault(key, [0, 0])
        acc[0] += 1
        acc[1] |= 1 << (local_at.minute // 15)
        if message.direction == Direction.INBOUND:
            contacts.add((message.company_id, day, message.conversation.contact_id))
        if agent_id and message.ticket_id:
            agents.add((message.company_id, day, agent_id, message.ticket_id))
    out: list[Statement] = []
    if volumes:
        t = _table(MessageVolume)
        rows = [[*key[:1], _day(key[1]), *key[2:], n, bits] for key, (n, bits) in volumes.items()]
        out.append(
            (
                f"INSERT INTO {t} (company_id, day, hour, direction, sender_type, "
                f"sender_user_id, n, quarters) {_rows_source(rows, _VOLUME_TYPES)} "
                "ON CONFLICT (company_id, day, hour, direction, sender_type, sender_user_id) "
                f"DO UPDATE SET n = {t}.n + excluded.n, "
                f"quarters = {t}.quarters | excluded.quarters",
                _rows_params(rows),
            )
        )
    if contacts:
        rows = [[c, _day(d), k] for c, d, k in sorted(contacts)]
        out.append(
            (
                f"INSERT INTO {_table(ContactDay)} (company_id, day, contact_id) "
                f"{_rows_source(rows, ('bigint', 'date', 'bigint'))} "
                "ON CONFLICT (company_id, day, contact_id) DO NOTHING",
                _rows_params(rows),
            )
        )
    if agents:
        rows = [[c, _day(d), a, k] for c, d, a, k in sorted(agents)]
        out.append(
            (
                f"INSERT INTO {_table(AgentTicketDay)} (company_id, day, agent_id, ticket_id) "
                f"{_rows_source(rows, ('bigint', 'date', 'bigint', 'bigint'))} "
                "ON CONFLICT (company_id, day, agent_id, ticket_id) DO NOTHING",
                _rows_params(rows),
            )
        )
    return out


_VOLUME_TYPES = ("bigint", "date", "int", "text", "text", "bigint", "int", "int")


def _rows_source(rows: list[list[Any]], types: Sequence[str]) -> str:
    """The rows to insert: on PostgreSQL one array per column (``unnest``), a text that
    does not depend on the number of rows (prepared once: atende.rows); elsewhere
    ``VALUES``."""
    if connection.vendor == "postgresql":
        return f"SELECT * FROM unnest({', '.join(f'%s::{t}[]' for t in types)})"
    marks = f"({', '.join(['%s'] * len(types))})"
    return f"VALUES {', '.join([marks] * len(rows))}"


def _rows_params(rows: list[list[Any]]) -> list[Any]:
    if connection.vendor == "postgresql":
        return [list(column) for column in zip(*rows, strict=True)]
    return [value for row in rows for value in row]


def week_of(day: date) -> date:
    """The Monday of ``day``'s ISO week: the key of the weekly buckets."""
    return day - timedelta(days=day.weekday())


def bucket_statement(
    company_id: int, day: date, entries: Iterable[Entry], *, weekly: bool = False
) -> Statement | None:
    """One multi-row upsert of histogram entries of one day (their keys are distinct)
    into the daily buckets, or with ``weekly`` into the buckets of that day's week."""
    merged: dict[tuple[str, int, str, bool, int], list[float]] = {}
    for scope, scope_id, metric, business, value in entries:
        key = (scope, scope_id, metric, business, bucket_of(value))
        if key in merged:  # never for one response time; kept for safety
            acc = merged[key]
            acc[0] += 1
            acc[1] += value
            acc[2] = min(acc[2], value)
            acc[3] = max(acc[3], value)
        else:
            merged[key] = [1, value, value, value]
    if not merged:
        return None
    t = _table(ResponseTimeWeek if weekly else ResponseTimeBucket)
    period, starts = ("week", week_of(day)) if weekly else ("day", day)
    rows, params = [], []
    for (scope, scope_id, metric, business, bucket), (n, total, lo, hi) in merged.items():
        rows.append("(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
        params += [company_id, business, _day(starts), scope, scope_id, metric, bucket]
        params += [int(n), total, lo, hi]
    sql = (
        f"INSERT INTO {t} (company_id, business, {period}, scope, scope_id, metric, bucket, "
        f"n, total, lo, hi) VALUES {', '.join(rows)} "
        f"ON CONFLICT (company_id, business, {period}, scope, scope_id, metric, bucket) "
        f"DO UPDATE SET n = {t}.n + excluded.n, total = {t}.total + excluded.total, "
        f"lo = {_least(f'{t}.lo', 'excluded.lo')}, hi = {_greatest(f'{t}.hi', 'excluded.hi')}"
    )
    return sql, params


def response_time_statements(
    rt: ResponseTime, company_tz: Any, *, weekly: bool = True
) -> list[Statement]:
    """The daily buckets' upsert and (``weekly``) the same entries' upsert of the week's
    buckets: two data-modifying parts of the message's one statement (``execute``)."""
    day = local(company_tz, rt.answered_at).date()
    entries = response_time_entries(rt)
    statements = [bucket_statement(rt.company_id, day, entries)]
    if weekly:
        statements.append(bucket_statement(rt.company_id, day, entries, weekly=True))
    return [s for s in statements if s is not None]


def execute(statements: Sequence[Statement]) -> None:
    """Run the statements; on PostgreSQL as one statement (one round trip)."""
    if not statements:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(statements) > 1:
            head = ", ".join(f"s{i} AS ({sql})" for i, (sql, _) in enumerate(statements[:-1]))
            sql = f"WITH {head} {statements[-1][0]}"
            params = [p for _, ps in statements for p in ps]
            cursor.execute(sql, params)
            return
        for sql, params in statements:
            cursor.execute(sql, params)


# --- reading histograms -----------------------------------------------------------------


class Histogram:
    """Buckets of one figure summed over days: bucket -> [n, total, lo, hi]."""

    __slots__ = ("buckets",)

    def __init__(self) -> None:
        self.buckets: dict[int, list[float]] = {}

    def add(self, bucket: int, n: int, total: float, lo: float, hi: float) -> None:
        acc = self.buckets.get(bucket)
        if acc is None:
            self.buckets[bucket] = [n, total, lo, hi]
        else:
            acc[0] += n
            acc[1] += total
            acc[2] = min(acc[2], lo)
            acc[3] = max(acc[3], hi)

    @property
    def n(self) -> int:
        return int(sum(b[0] for b in self.buckets.values()))

    def _ordered(self) -> list[tuple[int, float, float]]:
        return [(int(n), lo, hi) for _, (n, _t, lo, hi) in sorted(self.buckets.items())]

    def percentile(self, p: float) -> float | None:
        return histogram_percentile(self._ordered(), p)

    def stats(self) -> dict[str, float | int | None]:
        ordered = self._ordered()
        return {
            "p50": histogram_percentile(ordered, 0.5),
            "p90": histogram_percentile(ordered, 0.9),
            "n": sum(n for n, _, _ in ordered),
        }


def _value_at(buckets: list[tuple[int, float, float]], k: int) -> float:
    """The k-th smallest value (0-based), each bucket's n values spread evenly from its
    smallest to its largest: exact when a bucket holds at most two distinct values."""
    for n, lo, hi in buckets:
        if k < n:
            return lo if n == 1 else lo + (hi - lo) * k / (n - 1)
        k -= n
    raise IndexError(k)


def histogram_percentile(buckets: list[tuple[int, float, float]], p: float) -> float | None:
    """percentile_cont's linear interpolation over (n, lo, hi) buckets in value order."""
    total = sum(n for n, _, _ in buckets)
    if not total:
        return None
    rank = p * (total - 1)
    low, high = math.floor(rank), math.ceil(rank)
    a = _value_at(buckets, low)
    b = a if high == low else _value_at(buckets, high)
    return a + (b - a) * (rank - low)


# --- rebuild ------------------------------------------------------------------------------

ROLLUP_MODELS = (MessageVolume, ContactDay, AgentTicketDay, ResponseTimeBucket)


def _lock(models: Iterable[Any]) -> None:
    """Make concurrent increments wait until the rebuild commits (PostgreSQL): their
    source rows are then not in the rebuild's snapshot, and their increment lands after."""
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(_table(m) for m in models)
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")


def rebuild(
    company: Company, *, first_day: date | None = None, messages: bool = True
) -> dict[str, int]:
    """Recompute the company's roll-ups (from ``first_day`` on, local days, else all)
    from the source rows, in one transaction. ``messages=False`` rebuilds the response-
    time histograms only. The weekly buckets are then summed from the daily ones (from
    the Monday of ``first_day``'s week). Returns the roll-up rows written per table."""
    models: tuple[Any, ...] = ROLLUP_MODELS if messages else (ResponseTimeBucket,)
    with transaction.atomic():
        _lock((*models, ResponseTimeWeek))
        for model in models:
            qs = model.objects.for_company(company)
            if first_day is not None:
                qs = qs.filter(day__gte=first_day)
            qs.delete()
        if connection.vendor != "postgresql":
            written = _rebuild_python(company, first_day, messages)
        else:
            written = _rebuild_sql(company, first_day, messages)
            if messages:
                written["ticket_bucket"], written["ticket_week"] = _rebuild_tickets(company)
        written["response_time_week"] = rebuild_weeks(company, first_day)
        return written


def rebuild_weeks(company: Company, first_day: date | None = None) -> int:
    """Recompute the company's weekly buckets from its daily ones (all weeks, or those
    from ``first_day``'s week on). Exact: the daily buckets only ever grow, so their
    counts and sums add up and their smallest/largest values compose."""
    first_week = week_of(first_day) if first_day is not None else None
    weeks = ResponseTimeWeek.objects.for_company(company)
    days = ResponseTimeBucket.objects.for_company(company)
    if first_week is not None:
        weeks = weeks.filter(week__gte=first_week)
        days = days.filter(day__gte=first_week)
    weeks.delete()
    if connection.vendor == "postgresql":
        since, params = ("", []) if first_week is None else (" AND day >= %s", [first_week])
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_table(ResponseTimeWeek)} (company_id, business, week, scope, "
                "scope_id, metric, bucket, n, total, lo, hi) "
                "SELECT company_id, business, date_trunc('week', day)::date, scope, "
                "scope_id, metric, bucket, sum(n), sum(total), min(lo), max(hi) "
                f"FROM {_table(ResponseTimeBucket)} WHERE company_id = %s{since} "
                "GROUP BY 1, 2, 3, 4, 5, 6, 7",
                [company.pk, *params],
            )
            return int(cursor.rowcount)
    merged: dict[tuple[Any, ...], Histogram] = {}
    for business, day, scope, scope_id, metric, bucket, n, total, lo, hi in days.values_list(
        "business", "day", "scope", "scope_id", "metric", "bucket", "n", "total", "lo", "hi"
    ).iterator():
        key = (business, week_of(day), scope, scope_id, metric)
        merged.setdefault(key, Histogram()).add(bucket, n, total, lo, hi)
    rows = [
        ResponseTimeWeek(
            company=company,
            business=business,
            week=week,
            scope=scope,
            scope_id=scope_id,
            metric=metric,
            bucket=bucket,
            n=int(n),
            total=total,
            lo=lo,
            hi=hi,
        )
        for (business, week, scope, scope_id, metric), h in merged.items()
        for bucket, (n, total, lo, hi) in h.buckets.items()
    ]
    ResponseTimeWeek.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _rebuild_tickets(company: Company) -> tuple[int, int]:
    """The ticket figures (kept by the trigger of migrations 0008/0011): always every
    day, as one ticket counts on several days (created, resolved, assigned). One grouped
    INSERT of every ticket's entries (``metrics_ticket_entries``, the trigger's own
    definitions): the rows adding each ticket in turn would write, without rewriting
    each bucket row once per ticket. Then the weekly rows, summed from the daily ones.
    Returns the daily and weekly rows written."""
    _lock([TicketBucket, TicketWeek])
    TicketBucket.objects.for_company(company).delete()
    TicketWeek.objects.for_company(company).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_table(TicketBucket)} (company_id, day, scope, scope_id, metric, "
            "bucket, n, total, lo, hi) "
            "SELECT t.company_id, e.e_day, e.e_scope, e.e_scope_id, e.e_metric, e.e_bucket, "
            "count(*), sum(COALESCE(e.e_value, 0)), min(COALESCE(e.e_value, 0)), "
            "max(COALESCE(e.e_value, 0)) "
            "FROM tickets_ticket t CROSS JOIN LATERAL metrics_ticket_entries(t, %s) e "
            "WHERE t.company_id = %s GROUP BY 1, 2, 3, 4, 5, 6",
            [company.timezone, company.pk],
        )
        days = int(cursor.rowcount)
        cursor.execute(
            f"INSERT INTO {_table(TicketWeek)} (company_id, week, scope, scope_id, metric, "
            "bucket, n, total, lo, hi) "
            "SELECT company_id, date_trunc('week', day)::date, scope, scope_id, metric, "
            "bucket, sum(n), sum(total), min(lo), max(hi) "
            f"FROM {_table(TicketBucket)} WHERE company_id = %s GROUP BY 1, 2, 3, 4, 5, 6",
            [company.pk],
        )
        return days, int(cursor.rowcount)


def _since(column: str, first_day: date | None) -> tuple[str, list[Any]]:
    if first_day is None:
        return "", []
    return f" AND ({column} AT TIME ZONE %s)::date >= %s", [first_day]


def _rebuild_sql(company: Company, first_day: date | None, messages: bool) -> dict[str, int]:
    tz = company.timezone
    cid = company.pk
    written: dict[str, int] = {}
    with connection.cursor() as cursor:
        if messages:
            since, since_params = _since("m.created_at", first_day)
            since_params = [tz, *since_params[:1]] if since_params else []
            local_at = "(m.created_at AT TIME ZONE %s)"
            cursor.execute(
                f"INSERT INTO {_table(MessageVolume)} (company_id, day, hour, direction, "
                "sender_type, sender_user_id, n, quarters) "
                f"SELECT m.company_id, {local_at}::date, EXTRACT(HOUR FROM {local_at})::int, "
                "m.direction, m.sender_type, "
                "CASE WHEN m.direction = %s AND m.sender_type = %s "
                "THEN COALESCE(m.sender_user_id, 0) ELSE 0 END, count(*), "
                f"bit_or(1 << (EXTRACT(MINUTE FROM {local_at})::int / 15)) "
                "FROM conversations_message m "
                f"WHERE m.company_id = %s AND NOT m.is_private{since} "
                "GROUP BY 1, 2, 3, 4, 5, 6",
                [tz, tz, Direction.OUTBOUND, SenderType.AGENT, tz, cid, *since_params],
            )
            written["message_volume"] = cursor.rowcount
            cursor.execute(
                f"INSERT INTO {_table(ContactDay)} (company_id, day, contact_id) "
                f"SELECT DISTINCT m.company_id, {local_at}::date, c.contact_id "
                "FROM conversations_message m "
                "JOIN conversations_conversation c ON c.id = m.conversation_id "
                f"WHERE m.company_id = %s AND NOT m.is_private AND m.direction = %s{since}",
                [tz, cid, Direction.INBOUND, *since_params],
            )
            written["contact_day"] = cursor.rowcount
            cursor.execute(
                f"INSERT INTO {_table(AgentTicketDay)} (company_id, day, agent_id, ticket_id) "
                f"SELECT DISTINCT m.company_id, {local_at}::date, m.sender_user_id, m.ticket_id "
                "FROM conversations_message m "
                "WHERE m.company_id = %s AND NOT m.is_private AND m.direction = %s "
                "AND m.sender_type = %s AND m.sender_user_id IS NOT NULL "
                f"AND m.ticket_id IS NOT NULL{since}",
                [tz, cid, Direction.OUTBOUND, SenderType.AGENT, *since_params],
            )
            written["agent_ticket_day"] = cursor.rowcount
        since, since_params = _since("r.answered_at", first_day)
        since_params = [tz, *since_params[:1]] if since_params else []
        cursor.execute(
            f"INSERT INTO {_table(ResponseTimeBucket)} (company_id, business, day, scope, "
            "scope_id, metric, bucket, n, total, lo, hi) "
            "SELECT r.company_id, e.business, (r.answered_at AT TIME ZONE %s)::date, "
            "e.scope, e.scope_id, e.metric, "
            # Counters carry 0.0: width_bucket puts them in bucket_of(0.0), as on write.
            "width_bucket(e.value, %s::float8[]), "
            "count(*), sum(e.value), min(e.value), max(e.value) "
            "FROM metrics_responsetime r CROSS JOIN LATERAL (VALUES "
            + ROLLUP_ENTRIES_SQL
            + ") AS e(scope, scope_id, metric, business, value, ok) "
            f"WHERE r.company_id = %s AND e.ok AND e.value IS NOT NULL{since} "
            "GROUP BY 1, 2, 3, 4, 5, 6, 7",
            [tz, BOUNDS, cid, *since_params],
        )
        written["response_time_bucket"] = cursor.rowcount
    return written


# The rows of response_time_entries in SQL: (scope, scope id, metric, business, value,
# included?) for one metrics_responsetime row "r". Keep the two in step (a test checks).
_AGENT = "r.responder_type = 'agent'"
_BOT = "r.responder_type = 'bot'"
_FIRST = f"{_AGENT} AND r.is_first_agent"


def _entries_sql() -> str:
    rows = []
    for business, prefix in (("false", ""), ("true", "business_")):
        rows += [
            f"('company', 0::bigint, 'first_any_agent', {business}, 0.0::float8, "
            f"r.is_first AND {_AGENT})",
            f"('company', 0::bigint, 'first_any_bot', {business}, 0.0::float8, "
            f"r.is_first AND {_BOT})",
            f"('company', 0::bigint, 'reply_any_agent', {business}, 0.0::float8, {_AGENT})",
            f"('company', 0::bigint, 'reply_any_bot', {business}, 0.0::float8, {_BOT})",
        ]
        reply = f"r.{prefix}seconds"
        from_queue = f"r.{prefix}seconds_from_queue"
        from_assignment = f"r.{prefix}seconds_from_assignment"
        rows += [
            f"('company', 0::bigint, 'bot_reply', {business}, {reply}, {_BOT})",
            f"('company', 0::bigint, 'reply', {business}, {reply}, {_AGENT})",
            f"('agent', r.responder_id, 'reply', {business}, {reply}, "
            f"{_AGENT} AND r.responder_id IS NOT NULL)",
            f"('queue', r.queue_id, 'reply', {business}, {reply}, "
            f"{_AGENT} AND r.queue_id IS NOT NULL)",
            f"('company', 0::bigint, 'first', {business}, {from_queue}, {_FIRST})",
            f"('queue', r.queue_id, 'first', {business}, {from_queue}, "
            f"{_FIRST} AND r.queue_id IS NOT NULL)",
            f"('agent', r.responder_id, 'agent_first', {business}, "
            f"COALESCE({from_assignment}, {from_queue}, {reply}), "
            f"{_FIRST} AND r.responder_id IS NOT NULL)",
        ]
    return ", ".join(rows)


ROLLUP_ENTRIES_SQL = _entries_sql()


def _rebuild_python(company: Company, first_day: date | None, messages: bool) -> dict[str, int]:
    """The portable rebuild (SQLite, embedded mode): replays every row through the same
    statement builders as the write path."""
    from conversations.models import Message

    tz = company.tzinfo
    written = {"messages": 0, "response_times": 0}
    if messages:
        for message in Message.objects.for_company(company).order_by("pk").iterator():
            if first_day is not None and local(tz, message.created_at).date() < first_day:
                continue
            execute(message_statements(message, tz))
            written["messages"] += 1
    for rt in ResponseTime.objects.for_company(company).order_by("pk").iterator():
        if first_day is not None and local(tz, rt.answered_at).date() < first_day:
            continue
        execute(response_time_statements(rt, tz, weekly=False))  # weeks: rebuild_weeks
        written["response_times"] += 1
    return written
