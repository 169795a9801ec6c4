"""Metrics bench: seed two big companies on PostgreSQL, time the metrics pages.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything \\
        python bench/metrics.py [--tickets 100000] [--messages-per-ticket 10] [--requests 20]

Creates (and drops first) the database ``atende_bench_metrics`` (``ATENDE_BENCH_DB``) on
DATABASE_URL's server, migrates it, seeds two companies of the same size with INSERT ...
SELECT generate_series (tickets, 10 messages each, response times, contacts, logs),
builds the metrics roll-ups from those rows (``manage.py metrics_rebuild``), then
measures through Django's test Client (the full middleware/view/template stack, in
process): the dashboard, the per-agent table (API), the CSV export's first data row, and
the inbox list. Prints p50/p95 server time and the query count of each. ``--keep``
leaves the database for inspection.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Overridable so two benches on one server do not drop each other's database.
BENCH_DB = os.environ.get("ATENDE_BENCH_DB", "atende_bench_metrics")


def _server_url(url: str, dbname: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{dbname}"))


def recreate_database(url: str) -> None:
    import psycopg

    with psycopg.connect(_server_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")


def drop_database(url: str) -> None:
    import psycopg

    with psycopg.connect(_server_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = _server_url(url, BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atende.settings")
    import django

    django.setup()


# --- seeding ------------------------------------------------------------------------------


def _insert_select(model: Any, exprs: dict[str, str], from_sql: str, params: list[Any]) -> int:
    """INSERT INTO <model table> (<cols>) SELECT <exprs> <from_sql>. NOT NULL columns the
    bench does not know (added by later migrations) get their Django field default."""
    from django.db import connection

    columns, selects, extra_params = [], [], []
    for field in model._meta.concrete_fields:
        column = field.column
        if column in exprs:
            columns.append(connection.ops.quote_name(column))
            selects.append(exprs[column].replace("%", "%%"))  # literal modulo operators
        elif field.primary_key:
            continue
        elif not field.null:
            default = field.get_default()
            if field.get_internal_type() == "JSONField":
                default = json.dumps(default)
            columns.append(connection.ops.quote_name(column))
            selects.append("%s")
            extra_params.append(default)
    # Placeholders: the unknown-column defaults in the SELECT list, then "%s" in from_sql.
    from_sql = from_sql.replace("%", "%%").replace("%%s", "%s")
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(selects)} {from_sql}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*extra_params, *params])
        return cursor.rowcount


def seed_company(slug: str, tickets: int, per_ticket: int, agents: int = 20) -> dict[str, Any]:
    from django.db import connection, transaction

    from conversations.models import Contact, Conversation, Message
    from integrations.models import Integration, LogEntry
    from metrics.models import ResponseTime
    from tenants.models import Company, Membership, Role, User
    from tickets.models import Queue, Ticket, TicketCounter

    company = Company.objects.create(name=f"Bench {slug}", slug=slug)
    supervisor = User.objects.create_user(email=f"sup@{slug}.bench", password="bench-pass")
    Membership.objects.create(company=company, user=supervisor, role=Role.SUPERVISOR)
    users = [
        User.objects.create_user(email=f"agent{i}@{slug}.bench", full_name=f"Agent {i}")
        for i in range(agents)
    ]
    Membership.objects.bulk_create(
        [Membership(company=company, user=u, role=Role.AGENT) for u in users]
    )
    queues = [Queue.objects.create(company=company, name=f"Queue {i}") for i in range(4)]
    integrations = [
        Integration.objects.create(company=company, kind=kind, name=kind)
        for kind in ("twilio", "chatwoot")
    ]
    agent_ids = "ARRAY[" + ",".join(str(u.pk) for u in users) + "]::bigint[]"
    queue_ids = "ARRAY[" + ",".join(str(q.pk) for q in queues) + "]::bigint[]"
    integration_ids = "ARRAY[" + ",".join(str(i.pk) for i in integrations) + "]::bigint[]"
    cid = company.pk
    contacts = tickets // 2
    with transaction.atomic():
        _insert_select(
            Contact,
            {
                "company_id": f"{cid}",
                "name": "'Cliente ' || g",
                "phone": f"'+55{cid}' || g",
                "phone_key": f"'{cid}' || g",
                "created_at": "now()",
                "updated_at": "now()",
                "last_activity_at": "now() - (g % 2160) * interval '1 hour'",
            },
            "FROM generate_series(1, %s) g",
            [contacts],
        )
        _insert_select(
            Conversation,
            {
                "company_id": f"{cid}",
                "contact_id": "c.id",
                "external_id": "'c' || c.id",
                "integration_id": f"({integration_ids})[1 + c.id % 2]",
                "created_at": "now()",
            },
            f"FROM conversations_contact c WHERE c.company_id = {cid}",
            [],
        )
        # Two tickets per conversation: the first resolved, the second mostly resolved,
        # some open (with an agent) or pending (in a queue, waiting). Spread over 90 days.
        _insert_select(
            Ticket,
            {
                "company_id": f"{cid}",
                "number": "(x.rn - 1) * 2 + k",
                "conversation_id": "x.id",
                "contact_id": "x.contact_id",
                "status": "CASE WHEN k = 2 AND x.rn % 10 = 0 THEN 'pending' "
                "WHEN k = 2 AND x.rn % 10 = 1 THEN 'open' ELSE 'resolved' END",
                "queue_id": f"({queue_ids})[1 + (x.rn + k) % 4]",
                "assignee_id": f"CASE WHEN k = 2 AND x.rn % 10 = 0 THEN NULL "
                f"ELSE ({agent_ids})[1 + (x.rn * 7 + k) % {agents}] END",
                "tags": "CASE WHEN x.rn % 10 = 3 THEN '[\"vip\"]'::jsonb ELSE '[]'::jsonb END",
                "created_at": "x.t0 + (k - 1) * interval '1 day'",
                "updated_at": "x.t0 + (k - 1) * interval '1 day'",
                "queued_at": "x.t0 + (k - 1) * interval '1 day'",
                "assigned_at": "CASE WHEN k = 2 AND x.rn % 10 = 0 THEN NULL "
                "ELSE x.t0 + (k - 1) * interval '1 day' + (x.rn % 600) * interval '1 second' END",
                "resolved_at": "CASE WHEN k = 2 AND x.rn % 10 IN (0, 1) THEN NULL "
                "ELSE x.t0 + (k - 1) * interval '1 day' + (x.rn % 14400) * interval '1 second' END",
                "waiting_since": "CASE WHEN k = 2 AND x.rn % 10 IN (0, 1) THEN now() END",
                "unread_count": "CASE WHEN k = 2 AND x.rn % 10 IN (0, 1) THEN 2 ELSE 0 END",
                "last_message_at": "x.t0 + (k - 1) * interval '1 day' + interval '1 hour'",
                "reopen_count": "0",
            },
            "FROM (SELECT cv.id, cv.contact_id, row_number() OVER (ORDER BY cv.id) AS rn, "  # noqa: S608 (ints only)
            "now() - (random() * 89 + 1) * interval '1 day' AS t0 "
            f"FROM conversations_conversation cv WHERE cv.company_id = {cid}) x "
            "CROSS JOIN generate_series(1, 2) k ORDER BY x.t0, k",
            [],
        )
        TicketCounter.objects.create(company=company, last_number=contacts * 2)
        # Messages: odd j from the customer, even j answers (1 in 5 by the bot). Rows go
        # in in time order, as they arrive in production (physical order ~ created_at).
        _insert_select(
            Message,
            {
                "company_id": f"{cid}",
                "conversation_id": "t.conversation_id",
                "ticket_id": "t.id",
                "direction": "CASE WHEN j % 2 = 1 THEN 'in' ELSE 'out' END",
                "sender_type": "CASE WHEN j % 2 = 1 THEN 'contact' "
                "WHEN (t.id + j) % 5 = 0 THEN 'bot' ELSE 'agent' END",
                "sender_user_id": "CASE WHEN j % 2 = 0 AND (t.id + j) % 5 <> 0 "
                "THEN t.assignee_id END",
                "content": "'mensagem ' || j",
                "delivery_status": "CASE WHEN j % 2 = 1 "
                "THEN 'received' WHEN (t.id + j) % 997 = 0 THEN 'failed' ELSE 'sent' END",
                "client_id": "gen_random_uuid()",
                "created_at": "t.created_at + j * interval '2 minutes' "
                "+ (t.id % 60) * interval '1 second'",
                "received_at": "t.created_at + j * interval '2 minutes'",
            },
            f"FROM tickets_ticket t CROSS JOIN generate_series(1, {per_ticket}) j "
            f"WHERE t.company_id = {cid} ORDER BY t.created_at, j",
            [],
        )
        _insert_select(
            ResponseTime,
            {
                "company_id": f"{cid}",
                "ticket_id": "m.ticket_id",
                "message_id": "m.id",
                "responder_type": "m.sender_type",
                "responder_id": "m.sender_user_id",
                "queue_id": "t.queue_id",
                "waited_since": "m.created_at - interval '2 minutes'",
                "answered_at": "m.created_at",
                "seconds": "120 + (m.id % 600)",
                "business_seconds": "60 + (m.id % 600)",
                "is_first": "m.created_at < t.created_at + interval '5 minutes'",
                "is_first_agent": "m.sender_type = 'agent' AND "
                "m.created_at < t.created_at + interval '9 minutes'",
                "cycle": "0",
                "seconds_from_queue": "180 + (m.id % 900)",
                "seconds_from_assignment": "CASE WHEN t.assignee_id IS NOT NULL "
                "THEN 150 + (m.id % 700) END",
                "business_seconds_from_queue": "90 + (m.id % 900)",
                "business_seconds_from_assignment": "CASE WHEN t.assignee_id IS NOT NULL "
                "THEN 75 + (m.id % 700) END",
            },
            "FROM conversations_message m JOIN tickets_ticket t ON t.id = m.ticket_id "
            f"WHERE m.company_id = {cid} AND m.direction = 'out' ORDER BY m.created_at",
            [],
        )
        _insert_select(
            LogEntry,
            {
                "company_id": f"{cid}",
                "level": "CASE WHEN g % 10 = 0 THEN 'error' ELSE 'info' END",
                "source": "CASE WHEN g % 3 = 0 THEN 'send' WHEN g % 3 = 1 THEN 'webhook' "
                "ELSE 'reservation' END",
                "message": "'entry ' || g",
                "context": "'{}'::jsonb",
                "created_at": "now() - (g % 720) * interval '1 hour'",
            },
            "FROM generate_series(1, %s) g",
            [max(100, tickets // 10)],
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM conversations_message WHERE company_id = %s", [cid])
        n_messages = cursor.fetchone()[0]
    return {"company": company, "supervisor": supervisor, "messages": n_messages}


BIG_TABLES = ("conversations_message", "metrics_responsetime", "tickets_ticket")


def _drop_secondary_indexes(cursor: Any, tables: tuple[str, ...]) -> list[str]:
    """Drop indexes that back no constraint; return their CREATE statements."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "AND tablename = ANY(%s) AND indexname NOT IN (SELECT conname FROM pg_constraint)",
        [list(tables)],
    )
    rows = cursor.fetchall()
    for name, _definition in rows:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in rows]


# --- measuring ----------------------------------------------------------------------------


def _inbox(company: Any, membership: Any) -> Any:
    """The inbox list: tickets.selectors' selector when present, else the same idea."""
    try:
        from tickets import selectors as ticket_selectors
    except ImportError:
        ticket_selectors = None
    from tickets.models import ACTIVE_STATUSES, Ticket

    visible = getattr(ticket_selectors, "visible_tickets", None)
    qs = visible(membership) if visible is not None else Ticket.objects.for_company(company)
    return list(
        qs.filter(status__in=ACTIVE_STATUSES)
        .select_related("contact", "queue", "assignee")
        .order_by("-last_message_at")[:50]
    )


def measure(seeded: dict[str, Any], requests: int, only: str = "") -> dict[str, dict[str, float]]:
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from atende.handlers import freeze_startup_objects
    from tenants.access import resolve_membership

    freeze_startup_objects()  # as the server entry points do (atende/asgi.py, wsgi.py)
    company, supervisor = seeded["company"], seeded["supervisor"]
    client = Client()
    client.force_login(supervisor)
    slug = company.slug
    period = "period=30d"

    def page(url: str) -> Any:
        def run() -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            if getattr(response, "streaming", False):
                # Time to the first data row, not just the header line.
                chunks = iter(response.streaming_content)
                next(chunks)
                next(chunks)
                response.close()

        return run

    membership = resolve_membership(supervisor, slug)
    # 30 days from a Tuesday: the most days outside whole weeks (6 + 3), which the
    # weekly buckets do not cover (docs/metrics.md "Weekly buckets").
    end = timezone.localtime(timezone=company.tzinfo).date()
    while (end - timedelta(days=29)).weekday() != 1:
        end -= timedelta(days=1)
    tuesday = f"period=custom&start={end - timedelta(days=29)}&end={end}"
    cases = {
        "dashboard (7 days, default)": page(f"/app/{slug}/metrics/"),
        "dashboard (30 days)": page(f"/app/{slug}/metrics/?{period}"),
        "dashboard (30 d, 9 partial days)": page(f"/app/{slug}/metrics/?{tuesday}"),
        "dashboard, business hours": page(f"/app/{slug}/metrics/?{period}&business_hours=1"),
        "per-agent table (API)": page(f"/api/v1/companies/{slug}/metrics/agents/?{period}"),
        "live cards (JSON)": page(f"/app/{slug}/metrics/cards/?{period}"),
        "CSV tickets, first row": page(f"/app/{slug}/metrics/export/?table=tickets&{period}"),
        "CSV agents, first row": page(f"/app/{slug}/metrics/export/?table=agents&{period}"),
        "inbox list (50 active)": lambda: _inbox(company, membership),
    }
    results: dict[str, dict[str, float]] = {}
    for name, run in cases.items():
        if only and only.lower() not in name.lower():
            continue
        run()  # warm-up (caches, plans)
        reset_queries()  # each request resets the log: start the capture from empty
        with CaptureQueriesContext(connection) as ctx:
            run()
        timings = []
        for _ in range(requests):
            reset_queries()
            start = time.perf_counter()
            run()
            timings.append((time.perf_counter() - start) * 1000)
        timings.sort()
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
        results[name] = {
            "p50_ms": statistics.median(timings),
            "p95_ms": p95,
            "queries": len(ctx),
        }
    return results


def _report(results: dict[str, dict[str, float]]) -> None:
    print(f"{'case':32} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for name, r in results.items():
        print(f"{name:32} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['queries']:8d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="per company")
    parser.add_argument("--messages-per-ticket", type=int, default=10)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument(
        "--measure-only", action="store_true", help="reuse a database seeded with --keep"
    )
    parser.add_argument("--only", default="", help="measure the cases whose name contains this")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit(f"DATABASE_URL must point to a PostgreSQL server (the bench creates {BENCH_DB}).")
    if not args.measure_only:
        recreate_database(url)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    try:
        if args.measure_only:
            from tenants.models import Company, User

            seeded = [
                {
                    "company": Company.objects.get(slug=slug),
                    "supervisor": User.objects.get(email=f"sup@{slug}.bench"),
                }
                for slug in ("bench-a", "bench-b")
            ]
            print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            _report(measure(seeded[0], args.requests, args.only))
            return
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            # Bulk load: rows are consistent by construction, so skip FK triggers, and
            # build the big tables' secondary indexes once at the end instead of per row.
            cursor.execute("SET session_replication_role = replica")
            dropped = _drop_secondary_indexes(cursor, BIG_TABLES)
        seeded = [
            seed_company(slug, args.tickets, args.messages_per_ticket)
            for slug in ("bench-a", "bench-b")
        ]
        with connection.cursor() as cursor:
            for definition in dropped:
                cursor.execute(definition)
            cursor.execute("SET session_replication_role = DEFAULT")
        seed_seconds = time.perf_counter() - started
        # The seed bypassed the services (and, with replication role "replica", the
        # ticket trigger): build the roll-ups from the rows, as on an existing install.
        started = time.perf_counter()
        call_command("metrics_rebuild", verbosity=0)
        rollup_seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # visibility map: index-only scans, as in prod
        print(
            f"seeded 2 companies x {args.tickets} tickets, "
            f"{seeded[0]['messages']} + {seeded[1]['messages']} messages "
            f"in {seed_seconds:.0f} s; roll-ups rebuilt in {rollup_seconds:.0f} s"
        )
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        _report(measure(seeded[0], args.requests))
    finally:
        connection.close()
        if not args.keep and not args.measure_only:
            drop_database(url)


if __name__ == "__main__":
    main()
