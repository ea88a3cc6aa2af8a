"""Plans keep fewer index entries (D80): the ``(company_id)`` index goes (nothing lists a
company's plans; it drew the planner away from ``plan_source_order`` for a new company's
running broadcast), and ``(api_access_id)`` becomes partial — only API plans have a key, so
broadcast plans no longer write an entry. The new index is built ``CONCURRENTLY`` on
PostgreSQL, before the old one is dropped, so that a large plan table keeps taking writes."""

import django.db.models.deletion
from django.db import migrations, models

INDEX = models.Index(condition=models.Q(("api_access__isnull", False)), fields=["api_access"],
                     name="plan_api_access")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS plan_api_access ON messaging_deliveryplan "
                              "(api_access_id) WHERE api_access_id IS NOT NULL")
    else:
        schema_editor.add_index(apps.get_model("messaging", "DeliveryPlan"), INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS plan_api_access")
    else:
        schema_editor.remove_index(apps.get_model("messaging", "DeliveryPlan"), INDEX)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("accounts", "0004_login_code"),
        ("messaging", "0005_event_tables_without_db_constraints"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="deliveryplan", index=INDEX)],
            database_operations=[migrations.RunPython(create, drop)],
        ),
        migrations.AlterField(
            model_name="deliveryplan",
            name="api_access",
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True,
                                    on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                                    to="accounts.apiaccess"),
        ),
        migrations.AlterField(
            model_name="deliveryplan",
            name="company",
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="messaging_deliveryplan_set", to="accounts.company"),
        ),
    ]
