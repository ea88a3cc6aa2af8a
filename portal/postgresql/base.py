"""``ENGINE = "portal.postgresql"``: Django's PostgreSQL backend whose connection pool checks
a connection as it leaves the pool with :func:`portal.dbpool.check_connection` (a look at
the socket) instead of psycopg_pool's ping (a round trip per request). Django passes the pool
its own check (or none), whatever the pool options say, so it is set here."""

from django.db.backends.postgresql import base

from portal.dbpool import check_connection


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        pool = super().pool
        if pool is not None and pool._check is not check_connection:
            pool._check = check_connection  # before the first checkout: the pool opens lazily
        return pool
