"""Weekly ticket buckets (metrics.models.TicketWeek), kept by the ticket trigger.

A 30-day period read ~40,000 daily ticket-bucket rows; whole weeks now come from one row
per week and key. The daily buckets also shrink (a reopened or transferred ticket leaves
them) and an emptied daily bucket restarts its smallest/largest value, so a weekly row
kept by the same deltas would drift from its days. Instead the trigger recomputes every
weekly row it touches from that week's daily rows (at most seven index probes per key),
which keeps each weekly row equal to the sum / min / max of its days by construction.

Concurrency: the trigger first locks the weekly rows it will touch (an upsert in key
order) and only then writes the daily rows; every writer of a day's bucket holds its
week's row, so when the recompute runs (a later statement, a fresh snapshot under READ
COMMITTED) no other transaction has uncommitted changes to those days.

The per-ticket entries move into ``metrics_ticket_entries`` (the same definitions as
migration 0008), shared by the trigger, ``metrics_ticket_apply`` and the set-based
rebuild (metrics.rollups._rebuild_tickets).
"""

import importlib

from django.db import migrations

_0008 = importlib.import_module("metrics.migrations.0008_ticket_trigger")
BOUNDS_SQL = _0008.BOUNDS_SQL

ENTRIES = f"""
CREATE OR REPLACE FUNCTION metrics_ticket_entries(t tickets_ticket, tz text)
RETURNS TABLE (e_day date, e_scope text, e_scope_id bigint, e_metric text, e_bucket integer,
               e_value float8)
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  opened timestamptz := COALESCE(t.reopened_at, t.created_at);
  resolution float8;
  handling float8;
  queue_wait float8;
BEGIN
  IF t.resolved_at IS NOT NULL AND (t.reopened_at IS NULL OR t.reopened_at <= t.resolved_at)
  THEN
    resolution := EXTRACT(EPOCH FROM t.resolved_at - opened)::float8;
    IF t.assigned_at IS NOT NULL AND t.assigned_at <= t.resolved_at THEN
      handling := EXTRACT(EPOCH FROM t.resolved_at - GREATEST(t.assigned_at, opened))::float8;
    END IF;
  END IF;
  IF t.assigned_at IS NOT NULL AND t.queued_at IS NOT NULL AND t.assigned_at >= t.queued_at
  THEN
    queue_wait := GREATEST(
      EXTRACT(EPOCH FROM t.assigned_at - GREATEST(t.queued_at, opened))::float8, 0);
  END IF;
  RETURN QUERY
  SELECT (e.at AT TIME ZONE tz)::date, e.scope, e.scope_id, e.metric,
         CASE WHEN e.v IS NULL THEN 0 ELSE width_bucket(e.v, {{BOUNDS_SQL}}) END, e.v
  FROM (VALUES
    ('company', 0::bigint, 'created', t.created_at, NULL::float8, true),
    ('queue', t.queue_id, 'created', t.created_at, NULL, t.queue_id IS NOT NULL),
    ('company', 0, 'resolved', t.resolved_at, NULL, t.resolved_at IS NOT NULL),
    ('company', 0, 'reopened', t.reopened_at, NULL, t.reopened_at IS NOT NULL),
    ('company', 0, 'resolution', t.resolved_at, resolution, resolution IS NOT NULL),
    ('agent', t.assignee_id, 'resolution', t.resolved_at, resolution,
     resolution IS NOT NULL AND t.assignee_id IS NOT NULL),
    ('queue', t.queue_id, 'resolution', t.resolved_at, resolution,
     resolution IS NOT NULL AND t.queue_id IS NOT NULL),
    ('company', 0, 'handling', t.resolved_at, handling, handling IS NOT NULL),
    ('company', 0, 'queue_wait', t.assigned_at, queue_wait, queue_wait IS NOT NULL),
    ('queue', t.queue_id, 'queue_wait', t.assigned_at, queue_wait,
     queue_wait IS NOT NULL AND t.queue_id IS NOT NULL)
  ) AS e(scope, scope_id, metric, at, v, ok)
  WHERE e.ok;
END
$fn$;
""".replace("{BOUNDS_SQL}", BOUNDS_SQL)

APPLY = """
CREATE OR REPLACE FUNCTION metrics_ticket_apply(t tickets_ticket, sign integer)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO metrics_ticketbucket AS b
    (company_id, day, scope, scope_id, metric, bucket, n, total, lo, hi)
  SELECT t.company_id, e.e_day, e.e_scope, e.e_scope_id, e.e_metric, e.e_bucket,
         sign, sign * COALESCE(e.e_value, 0), COALESCE(e.e_value, 0), COALESCE(e.e_value, 0)
  FROM metrics_ticket_entries(
    t, (SELECT c.timezone FROM tenants_company c WHERE c.id = t.company_id)) e
  ON CONFLICT (company_id, day, scope, scope_id, metric, bucket) DO UPDATE SET
    n = b.n + excluded.n,
    total = b.total + excluded.total,
    -- Smallest/largest cannot be taken back: after a removal they stay bounds of the
    -- bucket's values (docs/metrics.md); an emptied bucket starts afresh.
    lo = CASE WHEN excluded.n < 0 THEN b.lo WHEN b.n <= 0 THEN excluded.lo
              ELSE LEAST(b.lo, excluded.lo) END,
    hi = CASE WHEN excluded.n < 0 THEN b.hi WHEN b.n <= 0 THEN excluded.hi
              ELSE GREATEST(b.hi, excluded.hi) END;
END
$fn$;
"""

# The weekly keys (company, Monday, scope, id, figure, bucket) a change touches: the old
# row's (null on INSERT) and the new row's.
WEEK_KEYS = """
CREATE OR REPLACE FUNCTION metrics_ticket_week_keys(o tickets_ticket, n tickets_ticket)
RETURNS TABLE (w_company bigint, w_week date, w_scope text, w_scope_id bigint,
               w_metric text, w_bucket integer)
LANGUAGE sql STABLE AS $fn$
  SELECT DISTINCT (v.t).company_id, date_trunc('week', e.e_day)::date, e.e_scope,
         e.e_scope_id, e.e_metric, e.e_bucket
  FROM (VALUES (o), (n)) AS v(t)
  JOIN tenants_company c ON c.id = (v.t).company_id
  CROSS JOIN LATERAL metrics_ticket_entries(v.t, c.timezone) e
  WHERE (v.t).id IS NOT NULL
$fn$;
"""

TRIGGER = """
CREATE OR REPLACE FUNCTION metrics_ticket_rollup() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  o tickets_ticket;  -- the old row on UPDATE, else null
  -- The weekly keys this change touches, in key order (computed once).
  k_company bigint[];
  k_week date[];
  k_scope text[];
  k_scope_id bigint[];
  k_metric text[];
  k_bucket integer[];
BEGIN
  IF TG_OP = 'UPDATE' THEN
    o := OLD;
  END IF;
  SELECT array_agg(k.w_company), array_agg(k.w_week), array_agg(k.w_scope),
         array_agg(k.w_scope_id), array_agg(k.w_metric), array_agg(k.w_bucket)
  INTO k_company, k_week, k_scope, k_scope_id, k_metric, k_bucket
  FROM (SELECT * FROM metrics_ticket_week_keys(o, NEW) ORDER BY 1, 2, 3, 4, 5, 6) k;
  -- 1. Lock those weekly rows, in key order, before any daily row (creating the
  --    missing ones): the writers of a week's bucket take turns here.
  INSERT INTO metrics_ticketweek AS w
    (company_id, week, scope, scope_id, metric, bucket, n, total, lo, hi)
  SELECT k.c, k.w, k.s, k.i, k.m, k.b, 0, 0, 0, 0
  FROM unnest(k_company, k_week, k_scope, k_scope_id, k_metric, k_bucket)
    WITH ORDINALITY AS k(c, w, s, i, m, b, pos)
  ORDER BY k.pos
  ON CONFLICT (company_id, week, scope, scope_id, metric, bucket) DO UPDATE SET n = w.n;
  -- 2. The daily buckets: the old row's contributions out, the new row's in.
  IF TG_OP = 'UPDATE' THEN
    PERFORM metrics_ticket_apply(OLD, -1);
  END IF;
  PERFORM metrics_ticket_apply(NEW, 1);
  -- 3. Each touched week from its seven days (a new snapshot: every other writer of
  --    these days has committed, or waits at step 1).
  UPDATE metrics_ticketweek w
  SET n = s.n, total = s.total, lo = s.lo, hi = s.hi
  FROM (
    SELECT k.c, k.w, k.s, k.i, k.m, k.b, sum(d.n)::integer AS n, sum(d.total) AS total,
           min(d.lo) AS lo, max(d.hi) AS hi
    FROM unnest(k_company, k_week, k_scope, k_scope_id, k_metric, k_bucket)
      AS k(c, w, s, i, m, b)
    JOIN metrics_ticketbucket d ON d.company_id = k.c
      AND d.day = ANY (ARRAY[k.w, k.w + 1, k.w + 2, k.w + 3, k.w + 4, k.w + 5, k.w + 6])
      AND d.scope = k.s AND d.scope_id = k.i AND d.metric = k.m AND d.bucket = k.b
    GROUP BY 1, 2, 3, 4, 5, 6
  ) s
  WHERE w.company_id = s.c AND w.week = s.w AND w.scope = s.s AND w.scope_id = s.i
    AND w.metric = s.m AND w.bucket = s.b;
  RETURN NULL;
END
$fn$;
"""

# The weekly rows of the daily rows already there (the trigger keeps them from now on).
FILL = """
INSERT INTO metrics_ticketweek
  (company_id, week, scope, scope_id, metric, bucket, n, total, lo, hi)
SELECT company_id, date_trunc('week', day)::date, scope, scope_id, metric, bucket,
       sum(n), sum(total), min(lo), max(hi)
FROM metrics_ticketbucket GROUP BY 1, 2, 3, 4, 5, 6
"""

INDEX = (
    "CREATE INDEX IF NOT EXISTS metrics_ticketweek_period ON metrics_ticketweek "
    "(company_id, week) INCLUDE (scope, scope_id, metric, bucket, n, total, lo, hi)"
)

# As for the daily buckets (migration 0008): deleting a company sets its tickets' queue
# to NULL after Django deleted the buckets, and the trigger writes weekly rows again.
CASCADE = _0008.CASCADE.replace("metrics_ticketbucket", "metrics_ticketweek")

# Back to migration 0008's trigger function and apply (daily buckets only).
OLD_TRIGGER = """
CREATE OR REPLACE FUNCTION metrics_ticket_rollup() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    PERFORM metrics_ticket_apply(OLD, -1);
  END IF;
  PERFORM metrics_ticket_apply(NEW, 1);
  RETURN NULL;
END
$fn$;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CASCADE, params=None)  # literal % in format()
    schema_editor.execute(ENTRIES)
    schema_editor.execute(APPLY)
    schema_editor.execute(WEEK_KEYS)
    schema_editor.execute(TRIGGER)
    schema_editor.execute(INDEX)
    schema_editor.execute(FILL)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(OLD_TRIGGER)
    schema_editor.execute(_0008.APPLY)
    schema_editor.execute("DROP FUNCTION IF EXISTS metrics_ticket_week_keys(tickets_ticket, tickets_ticket)")
    schema_editor.execute("DROP FUNCTION IF EXISTS metrics_ticket_entries(tickets_ticket, text)")
    schema_editor.execute("DROP INDEX IF EXISTS metrics_ticketweek_period")


class Migration(migrations.Migration):
    dependencies = [("metrics", "0011_weekly_ticket_buckets")]

    operations = [migrations.RunPython(create, drop)]
