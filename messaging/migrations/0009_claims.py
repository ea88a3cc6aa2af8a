"""A dispatcher's claim becomes a row of its own (D85): ``messaging_claim`` (message id as its
key) instead of ``Message.in_flight_since``. Messages in flight when this runs keep their
claim (copied over, with its time), so none is sent twice across the upgrade. The dispatch
indexes lose their ``in_flight_since IS NULL`` condition: on PostgreSQL the new ones are built
``CONCURRENTLY`` under a temporary name before the old ones are dropped, so that a large
message table keeps taking writes."""

import django.db.models.deletion
from django.db import migrations, models

QUEUE = models.Index(condition=models.Q(("held", False), ("status", "queued")), fields=["gateway", "-priority", "id"],
                     name="message_dispatch_queue")
COMPANY = models.Index(condition=models.Q(("held", False), ("status", "queued")),
                       fields=["gateway", "company", "-priority", "id"], name="message_dispatch_company")
OLD_CONDITION = models.Q(("held", False), ("in_flight_since__isnull", True), ("status", "queued"))
OLD = [
    models.Index(condition=OLD_CONDITION, fields=["gateway", "-priority", "id"], name="message_dispatch_queue"),
    models.Index(condition=OLD_CONDITION, fields=["gateway", "company", "-priority", "id"],
                 name="message_dispatch_company"),
    models.Index(condition=models.Q(("in_flight_since__isnull", False)), fields=["in_flight_since"],
                 name="message_in_flight"),
]

_PG_FORWARD = [
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS message_dispatch_queue_new ON messaging_message"
    " (gateway_id, priority DESC, id) WHERE NOT held AND status = 'queued'",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS message_dispatch_company_new ON messaging_message"
    " (gateway_id, company_id, priority DESC, id) WHERE NOT held AND status = 'queued'",
    "DROP INDEX CONCURRENTLY IF EXISTS message_dispatch_queue",
    "DROP INDEX CONCURRENTLY IF EXISTS message_dispatch_company",
    "DROP INDEX CONCURRENTLY IF EXISTS message_in_flight",
    "ALTER INDEX message_dispatch_queue_new RENAME TO message_dispatch_queue",
    "ALTER INDEX message_dispatch_company_new RENAME TO message_dispatch_company",
]


def copy_claims(apps, schema_editor):
    schema_editor.execute("INSERT INTO messaging_claim (message_id, gateway_id, since) SELECT id,"
                          " COALESCE(gateway_id, 0), in_flight_since FROM messaging_message"
                          " WHERE in_flight_since IS NOT NULL")


def copy_claims_back(apps, schema_editor):
    schema_editor.execute("UPDATE messaging_message SET in_flight_since = (SELECT since FROM messaging_claim c"
                          " WHERE c.message_id = messaging_message.id) WHERE id IN (SELECT message_id"
                          " FROM messaging_claim)")


def claim_vacuum(apps, schema_editor):
    """Claims are inserted and deleted all day (a few thousand live rows): vacuum them like
    the counter deltas (D70), after 50 dead rows."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE messaging_claim SET (autovacuum_vacuum_scale_factor = 0.0,"
                              " autovacuum_analyze_scale_factor = 0.05)")


def swap_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in _PG_FORWARD:
            schema_editor.execute(sql)
        return
    message = apps.get_model("messaging", "Message")
    for index in OLD:
        schema_editor.remove_index(message, index)
    schema_editor.add_index(message, QUEUE)
    schema_editor.add_index(message, COMPANY)


def swap_indexes_back(apps, schema_editor):
    message = apps.get_model("messaging", "Message")
    schema_editor.remove_index(message, QUEUE)
    schema_editor.remove_index(message, COMPANY)
    for index in OLD:
        schema_editor.add_index(message, index)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("messaging", "0008_plan_live_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="Claim",
            fields=[
                ("message", models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.CASCADE,
                                                 primary_key=True, related_name="claim", serialize=False,
                                                 to="messaging.message")),
                ("gateway_id", models.BigIntegerField()),
                ("since", models.DateTimeField()),
            ],
        ),
        migrations.RunPython(claim_vacuum, migrations.RunPython.noop),
        migrations.RunPython(copy_claims, copy_claims_back),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="message", name="message_in_flight"),
                migrations.RemoveIndex(model_name="message", name="message_dispatch_queue"),
                migrations.RemoveIndex(model_name="message", name="message_dispatch_company"),
                migrations.AddIndex(model_name="message", index=QUEUE),
                migrations.AddIndex(model_name="message", index=COMPANY),
            ],
            database_operations=[migrations.RunPython(swap_indexes, swap_indexes_back)],
        ),
        migrations.RemoveField(model_name="message", name="in_flight_since"),
    ]
