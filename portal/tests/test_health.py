"""/healthz: 200 when the database, cache and broker answer; 503 naming what is broken.

The checks run against whatever profile the tests run on (SQLite + memory, or PostgreSQL +
Redis in CI); each failure is simulated with a real, unreachable service.
"""

from __future__ import annotations

import pytest
from django.db import connections
from django.db.utils import load_backend
from django.test import override_settings

from portal import health
from portal.celery import app as celery_app

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _get(client):
    response = client.get("/healthz")
    return response, response.json()


@pytest.mark.django_db
def test_healthz_ok_when_every_component_answers(client):
    response, body = _get(client)
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}
    for name, check in body["checks"].items():
        assert check["ok"] is True, name
        assert isinstance(check["ms"], float)
    assert "no-cache" in response.headers["Cache-Control"]


def test_healthz_needs_no_login(client, db):
    response = client.get("/healthz", follow=False)
    assert response.status_code == 200


@pytest.fixture
def broken_database(monkeypatch):
    """A real connection of the configured backend, pointed at a database that cannot
    be opened (a SQLite file in a missing folder, or a PostgreSQL port nobody serves)."""
    params = dict(connections["default"].settings_dict)
    if params["ENGINE"].endswith("sqlite3"):
        params["NAME"] = "/nonexistent-herald-dir/db.sqlite3"
    else:
        params.update(HOST="127.0.0.1", PORT="1", CONN_MAX_AGE=0, CONN_HEALTH_CHECKS=False)
        params["OPTIONS"] = {**params.get("OPTIONS", {}), "connect_timeout": 2}
    broken = load_backend(params["ENGINE"]).DatabaseWrapper(params, alias="broken")
    monkeypatch.setattr(health, "connection", broken)
    yield broken
    broken.close()


@pytest.mark.django_db
def test_healthz_503_names_the_database(client, broken_database):
    response, body = _get(client)
    assert response.status_code == 503
    assert body["status"] == "error"
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["error"]
    assert body["checks"]["cache"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True


@pytest.mark.django_db
def test_healthz_503_names_the_cache(client):
    unreachable = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                               "LOCATION": UNREACHABLE_REDIS, "OPTIONS": {"socket_connect_timeout": 1}}}
    # A context manager, not the settings fixture: the cache must work again before the
    # autouse fixture clears it at teardown.
    with override_settings(CACHES=unreachable):
        response, body = _get(client)
    assert response.status_code == 503
    assert body["status"] == "error"
    assert body["checks"]["cache"]["ok"] is False
    assert "Connection" in body["checks"]["cache"]["error"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True


@pytest.mark.django_db
def test_healthz_503_names_the_broker(client, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "broker_write_url", UNREACHABLE_REDIS)
    response, body = _get(client)
    assert response.status_code == 503
    assert body["status"] == "error"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["cache"]["ok"] is True


def test_run_checks_reports_every_failure_without_raising(monkeypatch):
    def explode():
        raise RuntimeError("boom")

    monkeypatch.setattr(health, "_database", explode)
    monkeypatch.setattr(health, "_cache", explode)
    monkeypatch.setattr(health, "_broker", explode)
    checks = health.run_checks()
    assert {name: c["ok"] for name, c in checks.items()} == {"database": False, "cache": False, "broker": False}
    assert checks["database"]["error"] == "RuntimeError: boom"
