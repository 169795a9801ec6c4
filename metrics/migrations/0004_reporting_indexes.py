"""Indexes the metrics reads need on tables owned by other apps.

Created here (not in the owning apps' models) so the metrics work does not touch their
migrations; each index leads with company. On PostgreSQL the message and
response-time indexes cover the columns the roll-ups read, so period scans are index-only.
"""

from django.db import migrations

TICKET_INDEXES = {
    "metrics_ticket_resolved": "tickets_ticket (company_id, resolved_at) WHERE resolved_at IS NOT NULL",
    "metrics_ticket_assigned": "tickets_ticket (company_id, assigned_at) WHERE assigned_at IS NOT NULL",
    "metrics_ticket_reopened": "tickets_ticket (company_id, reopened_at) WHERE reopened_at IS NOT NULL",
}
MESSAGE_INDEX = "metrics_message_rollup"
RESPONSE_INDEX = "metrics_responsetime_period"


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for name, definition in TICKET_INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
    if vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {MESSAGE_INDEX} ON conversations_message "
            "(company_id, created_at) INCLUDE (direction, sender_type, is_private, "
            "sender_user_id, ticket_id, conversation_id)"
        )
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {RESPONSE_INDEX} ON metrics_responsetime "
            "(company_id, answered_at) INCLUDE (responder_type, responder_id, queue_id, "
            "is_first, is_first_agent, seconds, seconds_from_queue, seconds_from_assignment, "
            "business_seconds, business_seconds_from_queue, business_seconds_from_assignment)"
        )


def drop(apps, schema_editor):
    for name in [*TICKET_INDEXES, MESSAGE_INDEX, RESPONSE_INDEX]:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0003_response_time_clocks"),
        ("tickets", "0001_initial"),
        ("conversations", "0003_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
