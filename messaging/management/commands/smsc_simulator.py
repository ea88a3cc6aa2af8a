"""``python manage.py smsc_simulator``: Herald's SMSC simulator (an SMPP 3.4 server) for demos
and manual tests of the ``smpp`` gateway driver.

    python manage.py smsc_simulator --port 2775 --system-id herald --password secret \\
        --delivery-delay 0.5 --deliver-rate 0.95 --seed 1 --mo-every 10

Point an ``smpp`` gateway at it (settings ``{"host": "127.0.0.1", "port": 2775}``, credentials
``{"system_id": "herald", "password": "secret"}``). ``--mo SOURCE:DESTINATION:TEXT`` sends an
MO at the first bind (repeatable).
"""

from __future__ import annotations

import asyncio
import contextlib

from django.core.management.base import BaseCommand, CommandError

from messaging.smsc import SmscSimulator


def _rate(value: str) -> float:
    rate = float(value)
    if not 0 <= rate <= 1:
        raise ValueError(value)
    return rate


class Command(BaseCommand):
    help = "Run Herald's SMSC simulator: an SMPP 3.4 server that accepts submits and sends receipts and MOs."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=2775, help="TCP port (default 2775; 0 picks a free one).")
        parser.add_argument("--system-id", default="herald", help="The account's system_id (default herald).")
        parser.add_argument("--password", required=True, help="The account's password (at most 8 characters).")
        parser.add_argument("--delivery-delay", type=float, default=0.5,
                            help="Seconds between a submit and its delivery receipt (default 0.5).")
        parser.add_argument("--deliver-rate", type=_rate, default=0.95,
                            help="Share of receipts that say DELIVRD (default 0.95).")
        parser.add_argument("--expire-rate", type=_rate, default=0.01,
                            help="Share of receipts that say EXPIRED (default 0.01); the rest say UNDELIV.")
        parser.add_argument("--seed", type=int, default=None, help="Seed of the outcomes (repeatable runs).")
        parser.add_argument("--mo-every", type=int, default=0, help="Send a reply MO every N submits (0: never).")
        parser.add_argument("--mo", action="append", default=[], metavar="SOURCE:DESTINATION:TEXT",
                            help="Send this MO at the first bind (repeatable).")
        parser.add_argument("--max-tps", type=int, default=0,
                            help="Answer ESME_RTHROTTLED above this many submits per second (0: no limit).")
        parser.add_argument("--response-delay", type=float, default=0.0,
                            help="Seconds before each submit_sm_resp (default 0).")
        parser.add_argument("--stats-every", type=float, default=10.0,
                            help="Print the counters every N seconds (0: never).")
        parser.add_argument("--duration", type=float, default=0.0, help="Stop after N seconds (0: run until Ctrl-C).")

    def handle(self, *args, **options):
        if len(options["password"]) > 8:
            raise CommandError("--password: SMPP passwords are at most 8 characters.")
        if len(options["system_id"]) > 15:
            raise CommandError("--system-id: SMPP system_ids are at most 15 characters.")
        if options["deliver_rate"] + options["expire_rate"] > 1:
            raise CommandError("--deliver-rate plus --expire-rate must not exceed 1.")
        if options["mo_every"] < 0 or options["max_tps"] < 0:
            raise CommandError("--mo-every and --max-tps must be 0 or more.")
        mos = []
        for value in options["mo"]:
            source, sep1, rest = value.partition(":")
            destination, sep2, text = rest.partition(":")
            if not (sep1 and sep2 and source and destination):
                raise CommandError(f"--mo {value!r}: write SOURCE:DESTINATION:TEXT, e.g. +34600111222:Herald:Hello.")
            mos.append((source, destination, text))
        smsc = SmscSimulator(
            host=options["host"], port=options["port"], accounts={options["system_id"]: options["password"]},
            delivery_delay=options["delivery_delay"], deliver_rate=options["deliver_rate"],
            expire_rate=options["expire_rate"], seed=options["seed"], max_tps=options["max_tps"],
            response_delay=options["response_delay"], mo_every=options["mo_every"],
            keep_records=False)  # a long demo run must not grow: the counters are enough
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self._serve(smsc, mos, options["stats_every"], options["duration"]))
        self.stdout.write(f"SMSC simulator stopped: {self._counters(smsc)}")

    async def _serve(self, smsc: SmscSimulator, mos, stats_every: float, duration: float) -> None:
        try:
            await smsc.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on {smsc.host}:{smsc.port}: {exc.strerror or exc}")
        self.stdout.write(f"SMSC simulator listening on {smsc.host}:{smsc.port} "
                          f"(system_id {next(iter(smsc.accounts))})")
        self.stdout.flush()
        for source, destination, text in mos:
            await smsc.inject_mo(source, destination, text)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + duration if duration > 0 else None
        try:
            while deadline is None or loop.time() < deadline:
                step = stats_every if stats_every > 0 else 3600
                if deadline is not None:
                    step = min(step, max(0.0, deadline - loop.time()))
                await asyncio.sleep(step)
                if stats_every > 0:
                    self.stdout.write(self._counters(smsc))
                    self.stdout.flush()
        finally:
            await smsc.stop()

    @staticmethod
    def _counters(smsc: SmscSimulator) -> str:
        return " ".join(f"{key}={value}" for key, value in smsc.stats.items())
