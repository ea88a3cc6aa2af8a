"""Keep one GIN index on ``contacts_contact.attributes``: ``jsonb_path_ops``.

Migration 0002 created two: ``contacts_contact_attributes_gin`` (``jsonb_path_ops``: one
entry per path and value; serves ``@>``, the selectors' *by value* criteria) and
``contacts_contact_attributes_keys_gin`` (the default ``jsonb_ops``: one entry per key and
per value; serves ``@>`` and ``?``, the *empty* / *non-empty* criteria). Every new or
changed contact updates both, and they were about half of the import's insert cost.

Measured on PostgreSQL 15 (docs/benchmarks.md, docs/decisions.md): inserting 100,000
contacts costs the backend ~14 µs of CPU per row with ``jsonb_path_ops`` alone, ~17–20 µs
with ``jsonb_ops`` alone, ~21–26 µs with both (~9 µs without any GIN index); the target
count and the *by value* filters are as fast or faster with ``jsonb_path_ops`` (a common
value such as gender = f: its bitmap is ~3x cheaper than ``jsonb_ops``'s, which intersects
the posting list of the key with that of the value). What ``jsonb_ops`` alone served is
*non-empty* on a key few contacts have (``attributes ? 'rare_key'``); it is now a
sequential read of the company's contacts, like *empty* and *non-empty* on a common key
always were.

Dropped CONCURRENTLY on PostgreSQL so that a busy table is not locked; reversible.
"""

from django.db import migrations

NAME = "contacts_contact_attributes_keys_gin"


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} ON contacts_contact USING gin (attributes)")


class Migration(migrations.Migration):
    atomic = False  # DROP / CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("contacts", "0005_massedit_job")]
    operations = [migrations.RunPython(drop, create)]
