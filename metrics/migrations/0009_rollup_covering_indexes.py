"""Covering indexes on the roll-up tables (PostgreSQL): the period reads of
metrics.selectors are index-only scans over (company, day) ranges; and one on the active
tickets for the live cards."""

from django.db import migrations

INDEXES = {
    "metrics_rtbucket_period": "metrics_responsetimebucket (company_id, business, day) "
    "INCLUDE (scope, scope_id, metric, bucket, n, total, lo, hi)",
    "metrics_ticketbucket_period": "metrics_ticketbucket (company_id, day) "
    "INCLUDE (scope, scope_id, metric, bucket, n, total, lo, hi)",
    "metrics_msgvolume_period": "metrics_messagevolume (company_id, day) "
    "INCLUDE (hour, direction, sender_type, sender_user_id, n, quarters)",
    "metrics_agentticketday_period": "metrics_agentticketday (company_id, day) "
    "INCLUDE (agent_id, ticket_id)",
    "metrics_contactday_period": "metrics_contactday (company_id, day) INCLUDE (contact_id)",
    # The live cards: open tickets only, never the history.
    "metrics_ticket_active": "tickets_ticket (company_id) INCLUDE (waiting_since, unread_count) "
    "WHERE status IN ('pending', 'open')",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("metrics", "0008_ticket_trigger")]

    operations = [migrations.RunPython(create, drop)]
