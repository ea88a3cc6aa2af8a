"""CPU profile of ``POST /api/v1/messages`` in one process (issue 4, "Speed"), without HTTP
and without a load generator: what one request costs Herald itself.

    createdb -h 127.0.0.1 -U postgres herald_bench_b
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/herald_bench_b REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/api_profile.py --requests 2000

Set-up (not measured), as ``bench/api_messages.py``: a company "Bench API profile" with an
API key (scope omni-api) and an active simulator SMS gateway; the per-key throttle is
raised (``HERALD_API_RATE``) and ``DJANGO_DEBUG`` is off. Then the same request as the wrk
script (a single-channel SMS to a random Spanish number) is sent ``--requests`` times:

* ``wsgi``: through Django's WSGI handler (all middleware, URL resolution, the DRF view,
  the 202 answer), in this thread: CPU ms per request (``time.process_time``), SQL queries
  per request, and a cProfile top list (``--top``, by cumulative time);
* ``asgi``: through ``portal.asgi.application`` on an event loop, as uvicorn calls it (the
  sync view runs in asgiref's thread): CPU ms per request only (the profiler sees one
  thread).

Every answer must be a 202 (the script stops otherwise). The timed part is CPU of this
process only; PostgreSQL's own CPU is not in it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ["HERALD_API_RATE"] = "100000000/min"
os.environ["DJANGO_DEBUG"] = "false"

COMPANY = "Bench API profile"


def setup() -> str:
    from django.core.management import call_command
    from messaging_dispatch import make_company

    from accounts.services import create_api_access
    from messaging.models import Gateway
    from portal.audit import Actor

    call_command("migrate", verbosity=0)
    company = make_company(COMPANY, 0)
    Gateway.objects.filter(channel=1).update(is_active=False)
    Gateway.objects.create(name="Bench API simulator", channel=1, provider="simulator", tps=100_000)
    _access, key = create_api_access(actor=Actor.system(company), company=company, name="bench",
                                     scopes=["omni-api"])
    return key


def body() -> bytes:
    number = f"+3461{random.randint(0, 9_999_999):07d}"
    return json.dumps({"contact": number, "channel": 1, "payload": {"text": "Your code is 4821"}}).encode()


def wsgi_environ(key: str, payload: bytes) -> dict:
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/messages", "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(payload)),
        "HTTP_HOST": "127.0.0.1:8000", "HTTP_X_API_KEY": key, "wsgi.input": io.BytesIO(payload),
        "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": False,
        "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
    }


def run_wsgi(key: str, n: int, profile: cProfile.Profile | None) -> tuple[float, float, int]:
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    handler = WSGIHandler()
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    payloads = [body() for _ in range(n)]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profile:
        profile.enable()
    with connection.execute_wrapper(count):
        for payload in payloads:
            result = handler(wsgi_environ(key, payload), start_response)
            b"".join(result)
            if hasattr(result, "close"):
                result.close()
            if not statuses[-1].startswith("202"):
                sys.exit(f"unexpected answer {statuses[-1]}: {b''.join(result)[:300]!r}")
    if profile:
        profile.disable()
    return time.process_time() - cpu0, time.perf_counter() - wall0, queries


def run_asgi(key: str, n: int, application=None) -> tuple[float, float]:
    if application is None:
        from portal.asgi import application

    async def one(payload: bytes) -> int:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/api/v1/messages", "raw_path": b"/api/v1/messages",
                 "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
                 "server": ("127.0.0.1", 8000),
                 "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                             (b"content-length", str(len(payload)).encode()), (b"x-api-key", key.encode())]}
        sent = False
        status = 0

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": payload, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(event):
            nonlocal status
            if event["type"] == "http.response.start":
                status = event["status"]

        await application(scope, receive, send)
        return status

    async def main(payloads):
        for payload in payloads:
            status = await one(payload)
            if status != 202:
                sys.exit(f"unexpected answer {status}")

    payloads = [body() for _ in range(n)]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    asyncio.run(main(payloads))
    return time.process_time() - cpu0, time.perf_counter() - wall0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--mode", choices=["wsgi", "asgi", "api-asgi", "both", "all"], default="both")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile pass")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (cumulative, tottime…)")
    parser.add_argument("--sql", action="store_true", help="print the SQL of one request")
    args = parser.parse_args()
    if "postgres" not in os.environ.get("DATABASE_URL", "") or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL (see the docstring).")
    import django

    django.setup()
    key = setup()
    random.seed(1)
    run_wsgi(key, args.warmup, None)
    n = args.requests
    if args.sql:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            run_wsgi(key, 1, None)
        for query in ctx.captured_queries:
            print(f"  [{query['time']}s] {query['sql'][:300]}")
    if args.mode in ("wsgi", "both", "all"):
        cpu, wall, queries = run_wsgi(key, n, None)
        print(f"wsgi: {n} requests  CPU {cpu / n * 1000:.2f} ms/request  wall {wall / n * 1000:.2f} ms/request  "
              f"{queries / n:.2f} queries/request")
    if args.mode in ("asgi", "both", "all"):
        run_asgi(key, args.warmup)
        cpu, wall = run_asgi(key, n)
        print(f"asgi: {n} requests  CPU {cpu / n * 1000:.2f} ms/request  wall {wall / n * 1000:.2f} ms/request")
    if args.mode in ("api-asgi", "all"):
        from portal.api.asgi import api_aware
        from portal.asgi import application

        app = api_aware(application)
        run_asgi(key, args.warmup, app)
        cpu, wall = run_asgi(key, n, app)
        print(f"api-asgi (portal.api.asgi.api_aware): {n} requests  CPU {cpu / n * 1000:.2f} ms/request  "
              f"wall {wall / n * 1000:.2f} ms/request")
    if not args.no_profile:
        profile = cProfile.Profile(time.process_time)  # CPU only: waits on PostgreSQL are not counted
        run_wsgi(key, min(n, 1000), profile)
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
