"""Health checks for /healthz: database, cache and Celery broker."""

from __future__ import annotations

import time
import uuid

from django.core.cache import cache
from django.db import connection


def _timed(fn):
    start = time.monotonic()
    try:
        fn()
        return {"ok": True, "ms": round((time.monotonic() - start) * 1000, 1)}
    except Exception as exc:  # a health check reports every failure, whatever its kind
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _cache():
    key, value = f"healthz:{uuid.uuid4().hex}", "1"
    cache.set(key, value, 10)
    if cache.get(key) != value:
        raise RuntimeError("cache did not return the value just written")
    cache.delete(key)


def _broker():
    from portal.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def run_checks() -> dict:
    return {"database": _timed(_database), "cache": _timed(_cache), "broker": _timed(_broker)}
