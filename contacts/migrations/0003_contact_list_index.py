"""An index for the contacts list: (company_id, created_at DESC, id DESC).

The list shows a company's newest contacts first (``ORDER BY created_at DESC, id DESC LIMIT
100``, the ``id`` breaking ties between contacts imported in the same instant). This index
gives that order for one company directly, so the first page of a million contacts, filtered
or not, is read in under a millisecond and never walks other companies' rows. (Ordered by
``id`` alone, PostgreSQL chose a backward scan of the primary key that skipped 900,000 rows
of another company: 280–600 ms. See docs/benchmarks.md.)

Built CONCURRENTLY on PostgreSQL so that adding it to a big table does not block writes.
"""

from django.db import migrations

NAME = "contacts_contact_company_created_id"


def create(apps, schema_editor):
    concurrently = "CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"CREATE INDEX {concurrently} IF NOT EXISTS {NAME} "
                          "ON contacts_contact (company_id, created_at DESC, id DESC)")


def drop(apps, schema_editor):
    concurrently = "CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP INDEX {concurrently} IF EXISTS {NAME}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("contacts", "0002_defaults_and_indexes")]
    operations = [migrations.RunPython(create, drop)]
