"""The retention's index (integrations/services/retention.py). On PostgreSQL it is built
CONCURRENTLY: a plain CREATE INDEX would block every webhook insert for as long as it
takes on a large table."""

from django.db import migrations, models

INDEX = models.Index(fields=["received_at"], name="webhookevent_received")


def _concurrently(schema_editor):
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def create_index(apps, schema_editor):
    model = apps.get_model("integrations", "WebhookEvent")
    schema_editor.add_index(model, INDEX, **_concurrently(schema_editor))


def drop_index(apps, schema_editor):
    model = apps.get_model("integrations", "WebhookEvent")
    schema_editor.remove_index(model, INDEX, **_concurrently(schema_editor))


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("integrations", "0004_webhook_event_queue"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="webhookevent", index=INDEX)],
            database_operations=[migrations.RunPython(create_index, drop_index)],
        ),
    ]
