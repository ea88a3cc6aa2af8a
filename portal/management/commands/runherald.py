"""Run Herald in one process: the ASGI server plus an in-process Celery worker and beat.

This is the embedded default behind ``make run``. uvicorn serves ``portal.asgi:application``
in the main thread (static files through WhiteNoise); a daemon thread runs a Celery
worker, and another one the beat scheduler. The ``memory://`` broker of the embedded
default only exists inside one process, which is why worker and beat are threads here
and not ``celery worker -B`` (that forks beat into a child process).

With ``REDIS_URL`` set (production profile) the same command still works; run workers
and beat as separate processes and pass ``--no-worker`` (see docs/operations.md).
"""

from __future__ import annotations

import logging
import socket
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from celery.beat import EmbeddedService
from celery.worker import WorkController
from celery.worker import state as worker_state
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

logger = logging.getLogger("herald.runherald")


class _EmbeddedWorkController(WorkController):
    """A worker that tells when its consumer is ready. The base ``WorkController`` (not
    ``celery.apps.worker.Worker``) installs no signal handlers, so it can run in a thread."""

    def __init__(self, *args, **kwargs):
        self.ready = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer):
        self.ready.set()


@dataclass
class EmbeddedWorker:
    """A Celery worker (and optionally beat) running in daemon threads of this process."""

    worker: _EmbeddedWorkController
    thread: threading.Thread
    beat: threading.Thread | None = None

    def stop(self, timeout: float = 15.0) -> None:
        """Warm shutdown: the running task finishes, then the threads end."""
        if self.beat is not None:
            self.beat.stop()
        worker_state.should_stop = 0
        try:
            self.thread.join(timeout)
        finally:
            worker_state.should_stop = None
        if self.thread.is_alive():
            logger.warning("The embedded Celery worker did not stop within %ss.", timeout)


def start_embedded_worker(*, beat: bool = True, pool: str = "threads", concurrency: int = 2,
                          queues: list[str] | None = None, schedule_filename: str | Path | None = None,
                          ready_timeout: float = 30.0, name: str = "embedded") -> EmbeddedWorker:
    """Start a Celery worker (and beat) for ``portal.celery.app`` in daemon threads and
    wait until the worker consumes. ``runherald`` and the tests use this same helper."""
    from portal.celery import app

    app.finalize()
    worker = _EmbeddedWorkController(
        app=app,
        hostname=f"{name}@{socket.gethostname()}",
        pool=pool,
        concurrency=concurrency,
        queues=queues or [settings.CELERY_TASK_DEFAULT_QUEUE],
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        # Periodic tasks run from the beat *thread* below, never from a forked process.
        beat=False,
    )
    thread = threading.Thread(target=worker.start, name="celery-worker", daemon=True)
    thread.start()
    if not worker.ready.wait(ready_timeout):
        raise RuntimeError(f"The embedded Celery worker was not ready within {ready_timeout}s.")
    beat_thread = None
    if beat:
        schedule = Path(schedule_filename or Path(settings.VAR_DIR) / "celerybeat-schedule")
        schedule.parent.mkdir(parents=True, exist_ok=True)
        beat_thread = EmbeddedService(app, thread=True, schedule_filename=str(schedule))
        beat_thread.start()
    return EmbeddedWorker(worker=worker, thread=thread, beat=beat_thread)


class Command(BaseCommand):
    help = ("Run Herald in one process: uvicorn serving portal.asgi:application plus an in-process "
            "Celery worker with beat (the embedded default).")
    requires_system_checks = []  # run explicitly in handle(), like runserver

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Port to bind (default 8000).")
        parser.add_argument("--no-worker", action="store_true",
                            help="Do not run a Celery worker and beat in this process (production profile: "
                                 "run `celery -A portal worker` and `celery -A portal beat` instead).")
        parser.add_argument("--no-beat", action="store_true",
                            help="Run the in-process worker without the beat scheduler.")
        parser.add_argument("--pool", choices=("threads", "solo"), default="threads",
                            help="Pool of the in-process worker (default threads).")
        parser.add_argument("--concurrency", type=int, default=2,
                            help="Tasks the in-process worker runs at once (default 2).")
        parser.add_argument("--log-level", default="info",
                            choices=("critical", "error", "warning", "info", "debug"),
                            help="uvicorn log level (default info).")

    def handle(self, *args, **options):
        import uvicorn

        broker = settings.CELERY_BROKER_URL
        if options["no_worker"] and broker.startswith("memory://"):
            raise CommandError("--no-worker needs a shared broker (set REDIS_URL): with the memory:// broker "
                               "only a worker in this process can run tasks.")
        self.check(display_num_errors=False)
        self.check_migrations()
        self._quiet_expected_warnings(broker)
        self._banner(options)

        embedded = priority = None
        if not options["no_worker"]:
            embedded = start_embedded_worker(beat=not options["no_beat"], pool=options["pool"],
                                             concurrency=options["concurrency"])
            # The priority lane (API, conversation, OTP messages) has a worker of its own, so
            # it never waits behind a broadcast's dispatch tasks.
            priority = start_embedded_worker(beat=False, pool="threads", concurrency=1,
                                             queues=["priority"], name="priority")
            self.stdout.write(f"Celery worker{'' if options['no_beat'] else ' and beat'} running in this "
                              f"process (broker {broker.split('://', 1)[0]}://, pool {options['pool']}).")
        config = uvicorn.Config("portal.asgi:application", host=options["host"], port=options["port"],
                                lifespan="off", log_level=options["log_level"], server_header=False)
        try:
            uvicorn.Server(config).run()
        finally:
            for worker in (priority, embedded):
                if worker is not None:
                    worker.stop()

    @staticmethod
    def _quiet_expected_warnings(broker: str) -> None:
        if not Path(settings.STATIC_ROOT).is_dir():
            # Without collectstatic, WhiteNoise serves from the finders (WHITENOISE_USE_FINDERS).
            warnings.filterwarnings("ignore", message=r"No directory at: ", category=UserWarning)
        # WhiteNoise's file responses are synchronous iterators; under ASGI Django reads them
        # in a worker thread and says so once. Harmless for the embedded default.
        warnings.filterwarnings("ignore", message=r"StreamingHttpResponse must consume synchronous iterators")
        if broker.startswith("memory://"):
            # memory:// has no host; kombu says so on every connection.
            logging.getLogger("kombu.connection").addFilter(
                lambda record: "No hostname was supplied" not in record.getMessage())

    def _banner(self, options) -> None:
        from accounts.management.commands.seed_demo import DEMO_LOGIN, credentials_path, read_credentials

        host = options["host"]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        shown = f"[{shown}]" if ":" in shown else shown
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Herald is starting at http://{shown}:{options['port']}/"))
        demo = next((c for c in read_credentials() if c.login == DEMO_LOGIN), None)
        if demo is not None:
            self.stdout.write(f"  Demo login:    {demo.login}")
            self.stdout.write(f"  Password:      {demo.password}")
            self.stdout.write(f"  (all demo logins are in {credentials_path()})")
        else:
            self.stdout.write("  No demo login recorded here (`python manage.py seed_demo` creates one).")
        self.stdout.write("  Stop with Ctrl+C.")
        self.stdout.write("")
        self.stdout.flush()
