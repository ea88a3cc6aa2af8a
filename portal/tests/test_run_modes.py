"""The two run modes and their set-up: the in-process Celery worker of ``runherald``,
the command itself, translations compiled without gettext, the vendored front-end files,
and ``.env.example`` covering every setting read from the environment."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import polib
import pytest
from celery.signals import task_postrun, task_success
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import timezone, translation

from accounts import services
from accounts.models import User
from accounts.tasks import lock_inactive_accounts
from portal.celery import app as celery_app
from portal.management.commands.runherald import start_embedded_worker
from portal.testing import factories

BASE_DIR = Path(settings.BASE_DIR)


# --- the embedded worker ---------------------------------------------------------------------

@pytest.fixture
def not_eager(settings, monkeypatch):
    """Tasks really go through the broker (the suite runs them eagerly by default)."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)


@pytest.fixture
def worker_closes_connections():
    """The worker thread opens its own database connections; close them after each task
    so the test database can be dropped at the end of the session."""
    def close(**kwargs):
        connections.close_all()

    task_postrun.connect(close, weak=False)
    yield
    task_postrun.disconnect(close)


@pytest.mark.django_db(transaction=True)
def test_embedded_worker_runs_a_task_sent_with_delay(not_eager, worker_closes_connections, tmp_path):
    services.ensure_system_roles()  # an earlier transactional test's flush may have removed them
    company = factories.company("Idle Inc")
    idle = factories.user(company, roles=[factories.system_role("broadcast_manager")])
    User.objects.filter(pk=idle.pk).update(last_login=timezone.now() - timedelta(days=31))
    done = threading.Event()
    executed_in = []

    def on_success(sender=None, result=None, **kwargs):
        if sender.name == "accounts.tasks.lock_inactive_accounts":
            executed_in.append((threading.current_thread().name, result))
            done.set()

    task_success.connect(on_success, weak=False)
    embedded = start_embedded_worker(schedule_filename=tmp_path / "beat-schedule")
    try:
        assert embedded.thread.is_alive() and embedded.beat.is_alive()
        lock_inactive_accounts.delay()
        assert done.wait(20), "the embedded worker did not run the task"
    finally:
        task_success.disconnect(on_success)
        embedded.stop()
    assert not embedded.thread.is_alive()
    thread_name, result = executed_in[0]
    assert thread_name != threading.current_thread().name  # run by the worker, not eagerly here
    assert result == 1
    idle.refresh_from_db()
    assert idle.blocked_for_inactivity is True


def test_runherald_refuses_no_worker_on_the_memory_broker(settings):
    settings.CELERY_BROKER_URL = "memory://"
    with pytest.raises(CommandError, match="REDIS_URL"):
        call_command("runherald", "--no-worker")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_runherald_serves_the_embedded_default(tmp_path):
    """``make run``'s last step for real: a fresh var/ directory, migrate, seed_demo, then
    ``runherald`` in a subprocess (SQLite + memory broker whatever the suite runs on)."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(HERALD_VAR_DIR=str(tmp_path / "var"), PYTHONUNBUFFERED="1")
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, cwd=BASE_DIR, check=True, timeout=300)
    seeded = subprocess.run([*manage, "seed_demo"], env=env, cwd=BASE_DIR, check=True, timeout=120,
                            capture_output=True, text=True)
    password = re.search(r"Demo login: demo / (\S+)", seeded.stdout).group(1)
    port = _free_port()
    log = tmp_path / "runherald.log"
    with log.open("w") as out:
        proc = subprocess.Popen([*manage, "runherald", "--port", str(port)], env=env, cwd=BASE_DIR,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(f"{base}/healthz")
                break
            except OSError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        assert status == 200, body
        assert '"status": "ok"' in body
        status, body = _get(f"{base}/login/")
        assert status == 200
        assert "vendor/htmx.min.js" in body
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    output = log.read_text()
    assert f"http://127.0.0.1:{port}/" in output
    assert "Demo login:    demo" in output and password in output
    assert "Celery worker and beat running in this process" in output


# --- translations -------------------------------------------------------------------------------

def _write_po(path: Path, entries: list[polib.POEntry]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Language": path.parts[-3]}
    for entry in entries:
        po.append(entry)
    po.save(str(path))


def test_compiletranslations_builds_mo_files_without_gettext(settings, tmp_path):
    po_path = tmp_path / "locale" / "es" / "LC_MESSAGES" / "django.po"
    _write_po(po_path, [
        polib.POEntry(msgid="Herald test greeting", msgstr="Saludo de prueba de Herald"),
        polib.POEntry(msgid="Hello %(name)s", msgstr="Hola %(name)s", flags=["python-format"]),
        polib.POEntry(msgid="Fuzzy one", msgstr="Borroso", flags=["fuzzy"]),
    ])
    settings.LOCALE_PATHS = [tmp_path / "locale"]

    call_command("compiletranslations", verbosity=0)

    mo = polib.mofile(str(po_path.with_suffix(".mo")))
    assert {e.msgid: e.msgstr for e in mo} == {"Herald test greeting": "Saludo de prueba de Herald",
                                               "Hello %(name)s": "Hola %(name)s"}
    # Changing LOCALE_PATHS (the settings fixture) resets Django's catalogue cache.
    with translation.override("es"):
        assert translation.gettext("Herald test greeting") == "Saludo de prueba de Herald"


def test_compiletranslations_skips_up_to_date_catalogues(settings, tmp_path):
    po_path = tmp_path / "locale" / "es" / "LC_MESSAGES" / "django.po"
    _write_po(po_path, [polib.POEntry(msgid="One", msgstr="Uno")])
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    call_command("compiletranslations", verbosity=0)
    mo_path = po_path.with_suffix(".mo")
    first = mo_path.stat().st_mtime_ns
    time.sleep(0.01)
    call_command("compiletranslations", verbosity=0)
    assert mo_path.stat().st_mtime_ns == first
    call_command("compiletranslations", "--force", verbosity=0)
    assert mo_path.stat().st_mtime_ns != first


def test_compiletranslations_rejects_a_wrong_placeholder(settings, tmp_path):
    po_path = tmp_path / "locale" / "es" / "LC_MESSAGES" / "django.po"
    _write_po(po_path, [polib.POEntry(msgid="Hello %(name)s", msgstr="Hola %(nombre)s", flags=["python-format"])])
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    with pytest.raises(CommandError, match="nombre"):
        call_command("compiletranslations", verbosity=0)
    assert not po_path.with_suffix(".mo").exists()


def test_compiletranslations_is_a_no_op_without_catalogues(monkeypatch, tmp_path, capsys):
    from portal.management.commands import compiletranslations

    monkeypatch.setattr(compiletranslations, "locale_dirs", lambda: [tmp_path])
    call_command("compiletranslations")
    assert "nothing to compile" in capsys.readouterr().out


# --- front-end files and configuration ----------------------------------------------------------

VENDORED = ["vendor/htmx.min.js", "vendor/alpine.min.js", "vendor/swagger-ui/swagger-ui-bundle.js",
            "vendor/swagger-ui/swagger-ui-standalone-preset.js", "vendor/swagger-ui/swagger-ui.css",
            "vendor/swagger-ui/favicon-32x32.png"]


@pytest.mark.parametrize("name", VENDORED)
def test_vendored_front_end_files_are_served(client, db, name):
    assert (BASE_DIR / "static" / name).is_file(), (
        f"static/{name} is missing: `make test` / `make run` copy it from node_modules (scripts/vendor.sh)")
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    response.close()


def test_swagger_ui_loads_from_the_vendored_copy(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in response.content.decode()


def test_env_example_documents_every_setting_read_from_the_environment():
    source = (BASE_DIR / "portal" / "settings.py").read_text()
    read = set(re.findall(r"\benv(?:_bool|_list)?\(\s*\"([A-Z][A-Z0-9_]*)\"", source))
    assert read, "no env() calls found in portal/settings.py"
    example = (BASE_DIR / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    assert read - documented == set(), "add these to .env.example"
