"""Covering versions of the ticket period indexes of 0004 (PostgreSQL): the resolution,
handling and queue-wait figures read only index pages (metrics.selectors._TICKET_STATS_SQL).
"""

from django.db import migrations

COVERING = {
    "metrics_ticket_resolved": "tickets_ticket (company_id, resolved_at) INCLUDE "
    "(reopened_at, created_at, assigned_at, assignee_id, queue_id) WHERE resolved_at IS NOT NULL",
    "metrics_ticket_assigned": "tickets_ticket (company_id, assigned_at) INCLUDE "
    "(queued_at, reopened_at, created_at, assignee_id, queue_id) WHERE assigned_at IS NOT NULL",
}
PLAIN = {
    "metrics_ticket_resolved": "tickets_ticket (company_id, resolved_at) WHERE resolved_at IS NOT NULL",
    "metrics_ticket_assigned": "tickets_ticket (company_id, assigned_at) WHERE assigned_at IS NOT NULL",
}


def _swap(definitions):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, definition in definitions.items():
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
            schema_editor.execute(f"CREATE INDEX {name} ON {definition}")

    return run


class Migration(migrations.Migration):
    dependencies = [("metrics", "0005_rollups")]

    operations = [migrations.RunPython(_swap(COVERING), _swap(PLAIN))]
