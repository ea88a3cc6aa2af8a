"""Benchmark of the SMPP driver against Herald's SMSC simulator on loopback (issue text,
"Speed": ≥ 2,000 submit_sm/s on one bind). No database needed.

    .venv/bin/python bench/smpp_submit.py                    # simulator in this process
    .venv/bin/python bench/smpp_submit.py --spawn            # simulator in its own process
    .venv/bin/python bench/smpp_submit.py --host 127.0.0.1 --port 2775 --password secret

Two measurements on one bind each, ``--messages`` short GSM-7 messages (one submit_sm each):

* ``client``   — the asyncio ``SmppClient`` driven directly (``--window`` submits in flight);
* ``provider`` — ``SmppProvider.send_batch`` in batches of ``--batch``, the dispatcher's code
  path (the client on the driver's loop thread, results back to the calling thread).

Printed per run: submit_sm/s (wall clock, first submit to last response), the CPU time this
process spent per submit (the figure that does not depend on what else the machine runs;
in-process it includes the simulator's share), p50/p99/max of the submit_sm → submit_sm_resp
latency, and the delivery receipts received by the end (the provider run counts one more: the
message sent first, untimed, to bind). With the
simulator in this process both peers share one interpreter (one GIL), so ``--spawn`` is the
fairer figure for a driver talking to a real SMSC.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(label: str, count: int, seconds: float, cpu: float, latencies: list[float], receipts: int) -> None:
    ms = [v * 1000 for v in latencies]
    print(f"{label:<9} {count:>7} submit_sm in {seconds:6.2f} s = {count / seconds:6.0f} submit_sm/s "
          f"(CPU of this process {cpu * 1e6 / count:4.0f} µs/submit) | submit_sm_resp latency "
          f"p50 {percentile(ms, 0.5):6.2f} ms  p99 {percentile(ms, 0.99):6.2f} ms  max {max(ms, default=0):6.2f} ms"
          f" | receipts received {receipts}")


def run_client(args, host: str, port: int) -> None:
    from messaging.encoding import encode
    from messaging.providers.smpp.client import SmppClient, SmppConfig

    receipts = 0

    def on_deliver(_pdu):
        nonlocal receipts
        receipts += 1

    async def main():
        client = SmppClient(SmppConfig(host=host, port=port, system_id=args.system_id, password=args.password,
                                       window=args.window, enquire_link_interval=30), on_deliver=on_deliver)
        client.latencies = []
        await client.start()
        if not await client.wait_bound(5):
            raise SystemExit(f"cannot bind: {client.last_error}")
        params = {"source_addr": "Herald", "source_addr_ton": 5, "destination_addr": "34600000000",
                  "dest_addr_ton": 1, "dest_addr_npi": 1, "registered_delivery": 0 if args.no_receipts else 1,
                  "short_message": encode(args.text, "gsm7")}
        started, cpu = time.perf_counter(), time.process_time()
        results = await asyncio.gather(*(client.submit_sm(params) for _ in range(args.messages)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        refused = sum(1 for r in results if r.status)
        await asyncio.sleep(args.receipt_wait)
        await client.close()
        if refused:
            print(f"  ({refused} refused)")
        report("client", args.messages, elapsed, cpu, client.latencies, receipts)

    asyncio.run(main())


def run_provider(args, host: str, port: int) -> None:
    import django

    django.setup()
    from messaging.encoding import analyze
    from messaging.models import Gateway
    from messaging.providers.base import OutboundMessage
    from messaging.providers.smpp import SmppProvider

    received = []
    gateway = Gateway(name="bench", channel=1, provider="smpp",
                      credentials={"system_id": args.system_id, "password": args.password},
                      settings={"host": host, "port": port, "window": args.window,
                                "registered_delivery": 0 if args.no_receipts else 1})
    provider = SmppProvider(gateway, report_sink=received.extend, inbound_sink=lambda items: None)
    info = analyze(args.text)  # the engine fills encoding and segments when it queues a message
    messages = [OutboundMessage(id=uuid.uuid4(), company_id=1, channel=1, address=f"+346{i:08d}", sender="Herald",
                                content={"text": args.text}, encoding=info.encoding, segments=info.segments)
                for i in range(args.messages)]
    provider.send_batch(messages[:1])  # bind outside the timing
    provider.client.latencies = []
    started, cpu = time.perf_counter(), time.process_time()
    statuses: dict[str, int] = {}
    for start in range(0, len(messages), args.batch):
        for result in provider.send_batch(messages[start:start + args.batch]):
            statuses[result.status] = statuses.get(result.status, 0) + 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    time.sleep(args.receipt_wait)
    latencies = list(provider.client.latencies)
    provider.close()
    if set(statuses) != {"submitted"}:
        print(f"  (results: {statuses})")
    report("provider", len(messages), elapsed, cpu, latencies, len(received))


@contextlib.contextmanager
def simulator(args):
    if args.host:
        yield args.host, args.port
        return
    if args.spawn:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "smsc_simulator", "--port", "0", "--system-id", args.system_id,
             "--password", args.password, "--delivery-delay", str(args.delivery_delay), "--stats-every", "0",
             "--deliver-rate", "1", "--expire-rate", "0", "--seed", "1"],
            stdout=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            line = process.stdout.readline()
            match = re.search(r"listening on ([\d.]+):(\d+)", line)
            if not match:
                raise SystemExit(f"the simulator did not start: {line!r}")
            yield match.group(1), int(match.group(2))
        finally:
            process.terminate()
            process.wait(10)
        return
    from messaging.smsc import SmscSimulator

    with SmscSimulator.threaded(port=0, accounts={args.system_id: args.password}, delivery_delay=args.delivery_delay,
                                deliver_rate=1.0, expire_rate=0.0, seed=1, keep_records=False) as smsc:
        yield "127.0.0.1", smsc.port


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--text", default="Your Herald code is 123456. It expires in 10 minutes.")
    parser.add_argument("--host", default="", help="Use a running SMSC instead of starting the simulator.")
    parser.add_argument("--port", type=int, default=2775)
    parser.add_argument("--system-id", default="herald")
    parser.add_argument("--password", default="bench")
    parser.add_argument("--spawn", action="store_true", help="Run the simulator in its own process.")
    parser.add_argument("--delivery-delay", type=float, default=0.2)
    parser.add_argument("--no-receipts", action="store_true", help="registered_delivery=0")
    parser.add_argument("--receipt-wait", type=float, default=1.0, help="Seconds to wait for the last receipts.")
    parser.add_argument("--only", choices=["client", "provider"], default="")
    args = parser.parse_args()

    where = args.host and f"{args.host}:{args.port}" or ("simulator process" if args.spawn else "simulator in-process")
    print(f"SMPP submit benchmark — {args.messages} messages, window {args.window}, batch {args.batch}, {where}; "
          f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    with simulator(args) as (host, port):
        if args.only in ("", "client"):
            run_client(args, host, port)
        if args.only in ("", "provider"):
            run_provider(args, host, port)


if __name__ == "__main__":
    main()
