"""Plans write fewer index entries (D84): ``plan_deadline`` holds only the plans that wait for
a deadline, and ``plan_source (source, source_id, state)`` becomes ``plan_live``, the plans
still going, in id order — a finished plan's update no longer adds an entry to either.
Built ``CONCURRENTLY`` on PostgreSQL before the old ones are dropped, so that a large plan
table keeps taking writes."""

from django.db import migrations, models

DEADLINE_OLD = models.Index(condition=models.Q(("state", "active")), fields=["deadline"], name="plan_deadline")
DEADLINE = models.Index(condition=models.Q(("deadline__isnull", False), ("state", "active")), fields=["deadline"],
                        name="plan_deadline")
SOURCE_OLD = models.Index(fields=["source", "source_id", "state"], name="plan_source")
LIVE = models.Index(condition=models.Q(("state__in", ["pending", "active"])), fields=["source", "source_id", "id"],
                    name="plan_live")

_PG_FORWARD = [
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS plan_live ON messaging_deliveryplan (source, source_id, id)"
    " WHERE state IN ('pending', 'active')",
    "DROP INDEX CONCURRENTLY IF EXISTS plan_source",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS plan_deadline_set ON messaging_deliveryplan (deadline)"
    " WHERE state = 'active' AND deadline IS NOT NULL",
    "DROP INDEX CONCURRENTLY IF EXISTS plan_deadline",
    "ALTER INDEX plan_deadline_set RENAME TO plan_deadline",
]
_PG_BACKWARD = [
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS plan_source ON messaging_deliveryplan (source, source_id, state)",
    "DROP INDEX CONCURRENTLY IF EXISTS plan_live",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS plan_deadline_all ON messaging_deliveryplan (deadline)"
    " WHERE state = 'active'",
    "DROP INDEX CONCURRENTLY IF EXISTS plan_deadline",
    "ALTER INDEX plan_deadline_all RENAME TO plan_deadline",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in _PG_FORWARD:
            schema_editor.execute(sql)
        return
    plan = apps.get_model("messaging", "DeliveryPlan")
    schema_editor.remove_index(plan, SOURCE_OLD)
    schema_editor.add_index(plan, LIVE)
    schema_editor.remove_index(plan, DEADLINE_OLD)
    schema_editor.add_index(plan, DEADLINE)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in _PG_BACKWARD:
            schema_editor.execute(sql)
        return
    plan = apps.get_model("messaging", "DeliveryPlan")
    schema_editor.remove_index(plan, LIVE)
    schema_editor.add_index(plan, SOURCE_OLD)
    schema_editor.remove_index(plan, DEADLINE)
    schema_editor.add_index(plan, DEADLINE_OLD)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("messaging", "0007_step_chains"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="deliveryplan", name="plan_deadline"),
                migrations.RemoveIndex(model_name="deliveryplan", name="plan_source"),
                migrations.AddIndex(model_name="deliveryplan", index=DEADLINE),
                migrations.AddIndex(model_name="deliveryplan", index=LIVE),
            ],
            database_operations=[migrations.RunPython(forward, backward)],
        ),
    ]
