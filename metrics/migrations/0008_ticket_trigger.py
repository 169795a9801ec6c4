"""The trigger that keeps metrics_ticketbucket (metrics.models.TicketBucket) in step with
tickets_ticket, in the same transaction (PostgreSQL only; SQLite reads the tickets).

Why a trigger and not a service: a ticket's timestamps, assignee and queue are written by
many paths (ticket actions, the platform-status webhook, routing, the web form, the
admin, bulk updates); a roll-up that one of them forgot would silently lie. The trigger
sees every write. It fires on INSERT, and on UPDATE only when a column the figures use
changes (not on the per-message unread/waiting updates of the webhook path). It takes
the old row's contributions out and puts the new row's in. Deleted tickets are not
taken out (a company's deletion cascades through here): `manage.py metrics_rebuild`.

Definitions (the same as metrics.selectors.ticket_durations, wall-clock seconds):
resolution = resolved_at - (reopened_at or created_at) when not reopened since;
handling = resolved_at - max(assigned_at, cycle start); queue_wait = assigned_at -
max(queued_at, cycle start), at least 0. Buckets: metrics.rollups.BOUNDS (frozen here).
"""

from django.db import migrations


def _bounds() -> list[float]:
    # A frozen copy of metrics.rollups._bounds (a test checks they agree).
    bounds = [float(s) for s in range(21)]
    value = 20.0
    while value < 400 * 86400:
        value *= 1.05
        bounds.append(round(value, 3))
    return bounds


BOUNDS_SQL = "ARRAY[" + ", ".join(repr(b) for b in _bounds()) + "]::float8[]"

APPLY = f"""
CREATE OR REPLACE FUNCTION metrics_ticket_apply(t tickets_ticket, sign integer)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  tz text;
  opened timestamptz := COALESCE(t.reopened_at, t.created_at);
  resolution float8;
  handling float8;
  queue_wait float8;
BEGIN
  SELECT c.timezone INTO tz FROM tenants_company c WHERE c.id = t.company_id;
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
  INSERT INTO metrics_ticketbucket AS b
    (company_id, day, scope, scope_id, metric, bucket, n, total, lo, hi)
  SELECT t.company_id, (e.at AT TIME ZONE tz)::date, e.scope, e.scope_id, e.metric,
         CASE WHEN e.v IS NULL THEN 0 ELSE width_bucket(e.v, {BOUNDS_SQL}) END,
         sign, sign * COALESCE(e.v, 0), COALESCE(e.v, 0), COALESCE(e.v, 0)
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
  WHERE e.ok
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

TRIGGER = """
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
CREATE TRIGGER metrics_ticket_rollup_insert AFTER INSERT ON tickets_ticket
  FOR EACH ROW EXECUTE FUNCTION metrics_ticket_rollup();
CREATE TRIGGER metrics_ticket_rollup_update AFTER UPDATE ON tickets_ticket
  FOR EACH ROW WHEN (
    OLD.created_at IS DISTINCT FROM NEW.created_at
    OR OLD.resolved_at IS DISTINCT FROM NEW.resolved_at
    OR OLD.reopened_at IS DISTINCT FROM NEW.reopened_at
    OR OLD.assigned_at IS DISTINCT FROM NEW.assigned_at
    OR OLD.queued_at IS DISTINCT FROM NEW.queued_at
    OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
    OR OLD.queue_id IS DISTINCT FROM NEW.queue_id
    OR OLD.company_id IS DISTINCT FROM NEW.company_id
  ) EXECUTE FUNCTION metrics_ticket_rollup();
"""

DROP = """
DROP TRIGGER IF EXISTS metrics_ticket_rollup_insert ON tickets_ticket;
DROP TRIGGER IF EXISTS metrics_ticket_rollup_update ON tickets_ticket;
DROP FUNCTION IF EXISTS metrics_ticket_rollup();
DROP FUNCTION IF EXISTS metrics_ticket_apply(tickets_ticket, integer);
"""


# Deleting a company: Django deletes its ticket buckets first, then sets the tickets'
# queue/assignee to NULL (SET_NULL of the deleted queues), which fires the trigger and
# writes buckets again, then deletes the company. The database must remove those too:
# the company foreign key of metrics_ticketbucket cascades in the database.
CASCADE = """
DO $do$
DECLARE fk text;
BEGIN
  SELECT conname INTO fk FROM pg_constraint
  WHERE conrelid = 'metrics_ticketbucket'::regclass AND contype = 'f'
    AND confrelid = 'tenants_company'::regclass;
  EXECUTE format('ALTER TABLE metrics_ticketbucket DROP CONSTRAINT %I', fk);
  EXECUTE format('ALTER TABLE metrics_ticketbucket ADD CONSTRAINT %I FOREIGN KEY (company_id) '
                 'REFERENCES tenants_company (id) ON DELETE CASCADE '
                 'DEFERRABLE INITIALLY DEFERRED', fk);
END
$do$;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CASCADE, params=None)  # literal % in format()
    schema_editor.execute(APPLY)
    schema_editor.execute(TRIGGER)
    # Existing tickets: their figures, once (metrics_rebuild does the same later).
    schema_editor.execute(
        "SELECT count(*) FROM (SELECT metrics_ticket_apply(t, 1) FROM tickets_ticket t) x"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0007_ticket_buckets"),
        ("tickets", "0002_workflow"),
        ("tenants", "0003_company_business_hours"),
    ]

    operations = [migrations.RunPython(create, drop)]
