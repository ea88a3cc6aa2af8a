"""Autovacuum and autoanalyze thresholds for the engine's busy tables (PostgreSQL only, D70).

Every message is written three or four times (queued, claimed, submitted, delivered: each
UPDATE leaves a dead row version and dead index entries), every plan two or three times,
and the live-counter deltas are inserted and deleted all day. PostgreSQL's defaults wait
for dead rows worth 20 % of a table before vacuuming it (10 % before analysing): at
100 million messages, 20 million dead versions that the dispatcher's claims and settles
walk through. Measured on the benchmark VM (autovacuum off there): the same dispatch of
100,000 messages ran at 7,800/s on tables holding three earlier runs' dead rows and at
11,600–14,600/s after a VACUUM (docs/benchmarks.md, session 5).

These are per-table storage parameters, kept with the schema so that every deployment
gets them; the server's own autovacuum settings (workers, cost limits) stay the
operator's (docs/operations.md).
"""

from django.db import migrations

SETTINGS = {
    # (vacuum after dead rows ≥ 50 + factor × rows, analyse after changed rows ≥ 50 + factor × rows)
    "messaging_message": ("0.01", "0.02"),
    "messaging_deliveryplan": ("0.01", "0.02"),
    "messaging_statusevent": ("0.05", "0.05"),
    "messaging_attempt": ("0.05", "0.05"),
    "messaging_sourcecounter": ("0.0", "0.05"),  # deltas: a few thousand rows, squashed every tick
    "messaging_pendingreport": ("0.0", "0.05"),  # reports waiting for their submit: short-lived
}


def apply(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, (vacuum, analyze) in SETTINGS.items():
        schema_editor.execute(
            f"ALTER TABLE {table} SET (autovacuum_vacuum_scale_factor = {vacuum}, "
            f"autovacuum_vacuum_insert_scale_factor = {max(float(vacuum), 0.05)}, "
            f"autovacuum_analyze_scale_factor = {analyze})")


def revert(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in SETTINGS:
        schema_editor.execute(f"ALTER TABLE {table} RESET (autovacuum_vacuum_scale_factor, "
                              "autovacuum_vacuum_insert_scale_factor, autovacuum_analyze_scale_factor)")


class Migration(migrations.Migration):
    dependencies = [("messaging", "0002_holds_and_counters")]

    operations = [migrations.RunPython(apply, revert, elidable=False)]
