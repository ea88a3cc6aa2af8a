"""Benchmark of ``POST /api/v1/messages`` (issue 4, "Speed": ≥ 500 requests/s with p99 ≤
100 ms, two uvicorn workers, the load generator on the same machine), on PostgreSQL + Redis.

    apt-get install wrk        # the load generator (C, light on the CPU it shares with Herald)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/herald_bench REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python bench/api_messages.py --seconds 30 --connections 16

``--connections`` is the number of clients waiting on an answer at once: 16 keep the two
workers busy (≥ 500/s here) with a short queue; at 32 the throughput is the same and each
extra client only waits longer in a worker's queue (more so when wrk's connections split
unevenly between the workers, which the bench prints).

Set-up (not timed): a company "Bench API" with an API key (scope omni-api), an active
simulator SMS gateway; the per-key throttle is raised for the run (``HERALD_API_RATE``).
Then ``uvicorn portal.asgi:application --workers 2`` is started with ``DJANGO_DEBUG`` off
and ``wrk`` posts a single-channel SMS to a random Spanish number per request (validation,
phone parsing, routing, rendering, plan + message insert, the priority-lane kick to the
broker, the 202 answer). No Celery worker runs during the measure, so the figures are
the API's alone. Prints wrk's requests/s and latency percentiles, and checks that the
database holds as many queued messages as wrk counted 202 answers.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "%(key)s"
local statuses = {}
request = function()
  local number = string.format("+3461%%07d", math.random(0, 9999999))
  wrk.body = '{"contact": "' .. number .. '", "channel": 1, "payload": {"text": "Your code is 4821"}}'
  return wrk.format(nil, "/api/v1/messages")
end
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  for _, p in pairs({50, 90, 99, 99.9}) do
    io.write(string.format("latency p%%g: %%.1f ms\n", p, latency:percentile(p) / 1000))
  end
end
"""


def connections_per_worker(port: int) -> list[int]:
    """How the load generator's connections are spread over the server's processes (``ss``)."""
    if not shutil.which("ss"):
        return []
    out = subprocess.run(["ss", "-Htnp", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True).stdout
    pids = re.findall(r"pid=(\d+)", out)
    return sorted((pids.count(pid) for pid in set(pids)), reverse=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--app", default="portal.asgi:application",
                        help="the ASGI app uvicorn serves; an app factory with --factory")
    parser.add_argument("--factory", action="store_true", help="--app names a factory (uvicorn --factory)")
    args = parser.parse_args()
    if "postgres" not in os.environ.get("DATABASE_URL", "") or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL (see the docstring).")
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from messaging_dispatch import make_company

    from accounts.services import create_api_access
    from messaging.models import Gateway, Message
    from portal.audit import Actor

    call_command("migrate", verbosity=0)
    company = make_company("Bench API", 0)
    Gateway.objects.filter(channel=1).update(is_active=False)
    Gateway.objects.create(name="Bench API simulator", channel=1, provider="simulator", tps=100_000)
    _access, key = create_api_access(actor=Actor.system(company), company=company, name="bench", scopes=["omni-api"])
    connection.close()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, HERALD_API_RATE="10000000/min", DJANGO_DEBUG="false")
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", args.app, *(["--factory"] if args.factory else []),
                               "--workers", "2", "--port", str(port), "--log-level", "warning", "--no-access-log"],
                              cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        script = Path(tempfile.mkdtemp()) / "post.lua"
        script.write_text(LUA % {"key": key})
        # Warm-up: both workers import, connect and fill their caches.
        subprocess.run(["wrk", "-t2", "-c8", "-d3s", "-s", str(script), f"http://127.0.0.1:{port}"],
                       capture_output=True, check=True)
        before = Message.objects.filter(company=company).count()
        wrk = subprocess.Popen(["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s",
                                "--timeout", "5s", "-s", str(script), f"http://127.0.0.1:{port}"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(args.seconds / 2)
        split = connections_per_worker(port)
        stdout, stderr = wrk.communicate()
        if wrk.returncode:
            sys.exit(f"wrk failed: {stderr}")
        run = subprocess.CompletedProcess(wrk.args, wrk.returncode, stdout, stderr)
        made = Message.objects.filter(company=company).count() - before
    finally:
        server.terminate()
        server.wait(10)
    print(f"# {platform.node()} · {os.cpu_count()} CPU · {platform.python_version()} · 2 uvicorn workers "
          f"({args.app}{' --factory' if args.factory else ''}) · "
          f"wrk -t{args.threads} -c{args.connections} -d{args.seconds}s")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", run.stdout)
    total = re.search(r"(\d+) requests in", run.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", run.stdout)
    print(f"requests/s: {float(rate.group(1)):,.0f}  ({total.group(1)} requests, "
          f"{errors.group(1) if errors else 0} non-2xx)")
    for line in run.stdout.splitlines():
        if line.startswith("latency p"):
            print(line)
    print(f"wrk connections per uvicorn worker (mid-run): {' / '.join(map(str, split)) or 'unknown (no ss)'}")
    print(f"messages queued during the run: {made:,}")


if __name__ == "__main__":
    main()
