"""The health check of pooled PostgreSQL connections (settings: ``OPTIONS["pool"]["check"]``).

psycopg_pool's own check (``ConnectionPool.check_connection``, what Django's
``CONN_HEALTH_CHECKS`` installs) sends an empty query each time a connection leaves the
pool: one round trip per request, ~8 % of the CPU of an API send (D79). A healthy idle
connection has nothing to read; one the server closed (a restart, ``pg_terminate_backend``,
an idle timeout) has its goodbye — an error message, then end of file — waiting on the
socket. So a connection is pinged only when its socket is readable (one ``poll`` call, no
round trip), and dropped if the ping fails; the pool then hands out another one.

Kept free of Django imports: the settings module imports it.
"""

from __future__ import annotations

import select


def check_connection(conn) -> None:
    """Raise if ``conn`` is closed or its server has gone; return quietly otherwise."""
    if conn.closed or conn.broken:
        raise ConnectionError("the connection is closed")
    if _readable(conn.fileno()):
        from psycopg_pool import ConnectionPool

        ConnectionPool.check_connection(conn)  # reads what is waiting; raises if the server left


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))
