"""Pooled PostgreSQL connections (portal/dbpool.py): a connection the server closed is
replaced as it leaves the pool, so the next request works; a healthy one costs no round trip."""

import time

import psycopg
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

from portal import dbpool


@pytest.fixture
def pooled(transactional_db):
    if connection.vendor != "postgresql" or connection.pool is None:
        pytest.skip("connection pooling is a PostgreSQL set-up (DATABASE_URL)")
    connection.close()  # back to the pool: every test starts by taking one


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _terminate_the_pool_connections():
    """What a PostgreSQL restart does to the idle connections of the pool."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        pids = [pid for (pid,) in admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'")]
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
    return pids


def test_a_connection_the_server_closed_is_replaced_as_it_leaves_the_pool(pooled):
    before = _backend_pid()
    connection.close()
    killed = _terminate_the_pool_connections()
    assert before in killed
    time.sleep(0.2)  # the goodbye reaches the idle sockets
    for _ in range(3):  # each checkout gets a live connection, not the killed ones
        pid = _backend_pid()
        assert pid not in killed
        connection.close()


def test_a_healthy_idle_connection_is_handed_out_without_a_round_trip(pooled, monkeypatch):
    pings = []
    real = ConnectionPool.check_connection
    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(lambda conn: pings.append(1) or real(conn)))
    first = _backend_pid()
    connection.close()
    assert _backend_pid() > 0
    assert pings == []
    connection.close()
    _terminate_the_pool_connections()
    time.sleep(0.2)
    assert _backend_pid() != first
    assert pings, "a connection with the server's goodbye waiting is pinged (and dropped)"


def test_a_closed_connection_fails_the_check():
    class Closed:
        closed, broken = True, False

    with pytest.raises(ConnectionError):
        dbpool.check_connection(Closed())
