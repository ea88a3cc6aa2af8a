"""``manage.py dispatch_messages``: a dispatcher process outside Celery.

Sends the queues of the active gateways (or ``--gateway``) batch after batch, runs the
fallback sweep and the recovery sweep on the way, and survives a lost database or Redis
connection (it waits and goes on, as a supervisor would restart it). Useful as a dedicated
sending process next to the Celery workers, for benchmarks and for the crash tests.
"""

from __future__ import annotations

import logging
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connections
from django.db.utils import InterfaceError, OperationalError
from redis.exceptions import RedisError

from messaging.models import Gateway
from messaging.services import dispatch, fallback

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Send queued messages (and move fallback plans) until stopped, or until the queues are empty."

    def add_arguments(self, parser):
        parser.add_argument("--gateway", type=int, action="append", help="Only these gateway ids (repeatable).")
        parser.add_argument("--until-empty", action="store_true", help="Stop when nothing is queued.")
        parser.add_argument("--slice", type=float, default=2.0, help="Seconds per gateway before the next one.")
        parser.add_argument("--recover-every", type=float, default=60.0,
                            help="Seconds between recovery sweeps (claims of dead workers).")

    def handle(self, *args, **options):
        last_recover, backoff, sent = 0.0, 0.5, 0
        while True:
            try:
                close_old_connections()
                gateways = options["gateway"] or list(Gateway.objects.filter(is_active=True).values_list("pk",
                                                                                                      flat=True))
                busy = 0
                for gateway_id in gateways:
                    busy += dispatch.run(gateway_id, seconds=options["slice"])
                busy += fallback.sweep()
                if time.monotonic() - last_recover > options["recover_every"]:
                    dispatch.recover()
                    last_recover = time.monotonic()
                sent += busy
                backoff = 0.5
                if not busy:
                    if options["until_empty"]:
                        self.stdout.write(f"Queues empty: {sent} messages dispatched.")
                        return
                    time.sleep(0.2)
            except (OperationalError, InterfaceError, RedisError, ConnectionError, OSError) as exc:
                # The database or Redis went away: drop the connections, wait, go on.
                logger.warning("dispatcher: %s; retrying in %.1fs", exc, backoff)
                for connection in connections.all():
                    connection.close_if_unusable_or_obsolete()
                    if connection.connection is not None and not connection.is_usable():
                        connection.close()
                time.sleep(backoff)
                backoff = min(backoff * 2, 10)
