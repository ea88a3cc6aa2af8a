"""The engine's busy tables carry their own autovacuum thresholds (migration 0003, D70):
an operator who runs PostgreSQL with the server defaults still gets them."""

import pytest
from django.db import connection


@pytest.mark.django_db
def test_busy_tables_are_vacuumed_and_analysed_early():
    if connection.vendor != "postgresql":
        pytest.skip("storage parameters are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)",
                       [["messaging_message", "messaging_deliveryplan", "messaging_sourcecounter"]])
        options = {name: dict(o.split("=") for o in opts or []) for name, opts in cursor.fetchall()}
    assert float(options["messaging_message"]["autovacuum_vacuum_scale_factor"]) == 0.01
    assert float(options["messaging_message"]["autovacuum_analyze_scale_factor"]) == 0.02
    assert float(options["messaging_deliveryplan"]["autovacuum_vacuum_scale_factor"]) == 0.01
    assert float(options["messaging_sourcecounter"]["autovacuum_vacuum_scale_factor"]) == 0.0
