"""An index of the queued messages of paused sources (only ``held`` messages have an
entry), for the safety net that finishes a release a lost task left half done (D71).
Built ``CONCURRENTLY`` on PostgreSQL so that a large message table keeps taking writes."""

from django.db import migrations, models

INDEX = models.Index(condition=models.Q(("held", True), ("status", "queued")), fields=["source", "source_id"],
                     name="message_held_queued")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS message_held_queued ON messaging_message "
                              "(source, source_id) WHERE held AND status = 'queued'")
    else:
        schema_editor.add_index(apps.get_model("messaging", "Message"), INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS message_held_queued")
    else:
        schema_editor.remove_index(apps.get_model("messaging", "Message"), INDEX)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("messaging", "0003_autovacuum_settings")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="message", index=INDEX)],
            database_operations=[migrations.RunPython(create, drop)],
        ),
    ]
