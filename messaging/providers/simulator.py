"""The embedded default provider: no network, every channel.

It accepts every message (or rejects a configurable share), then reports delivery
(``DELIVRD`` / ``UNDELIV``), *seen*, and replies (MO) with configurable rates and delays.
Outcomes are drawn from a hash of ``seed`` and the message id, so a test or a demo gets the
same outcome for the same message every time.

Gateway settings (all optional)::

    {"seed": 1, "reject_rate": 0.0, "deliver_rate": 1.0, "seen_rate": 0.0,
     "report_delay": 0, "seen_delay": 0, "reply_rate": 0.0, "reply_text": "Thanks!",
     "ledger": "/path/to/file", "send_delay": 0}

``send_delay`` (seconds per batch) makes it a slow provider, for demos and crash tests.

``ledger`` makes the simulator behave like a provider with a lookup API: every message it
accepts is appended (fsync'd) to that file, and ``reconcile`` answers from it — the
reliability tests use it to prove that no message reaches the provider twice.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time

from messaging.models import MessageStatus
from messaging.providers.base import CheckResult, Inbound, Provider, Report, SendResult
from portal.channel_types import Channel

_ledger_lock = threading.Lock()


class SimulatorProvider(Provider):
    key = "simulator"
    name = "Simulator (no network)"
    channels = frozenset(Channel.values)
    setting_fields = ("seed", "reject_rate", "deliver_rate", "seen_rate", "report_delay", "seen_delay",
                      "reply_rate", "reply_text", "ledger", "send_delay", "rcs_capable_rate")
    max_batch = 1000

    def check_capabilities(self, addresses):
        """RCS capability, seeded per number (``rcs_capable_rate``, default 0.7): the same
        number always gets the same answer from the same gateway settings."""
        rate = self._rate("rcs_capable_rate", 0.7)
        return {a: random.Random(f"{self.settings.get('seed', 1)}:rcs:{a}").random() < rate for a in addresses}

    def _rate(self, name: str, default: float) -> float:
        try:
            return min(max(float(self.settings.get(name, default)), 0.0), 1.0)
        except (TypeError, ValueError):
            return default

    def _draw(self, message_id, n: int) -> float:
        """The ``n``-th draw for a message, in [0, 1): a hash of the seed, the message id and
        ``n`` — the same every time, and cheap enough to run for every message of a bulk
        send (a seeded ``random.Random`` per message cost ~10 µs)."""
        digest = hashlib.blake2b(f"{self.settings.get('seed', 1)}:{message_id}:{n}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 18446744073709551616.0

    def provider_id(self, message_id) -> str:
        return f"sim-{message_id.hex}"

    def send_batch(self, messages):
        delay = float(self.settings.get("send_delay") or 0)  # a slow provider, for demos and crash tests
        if delay > 0:
            time.sleep(delay)
        reject = self._rate("reject_rate", 0.0)
        results, accepted = [], []
        for message in messages:
            if reject and self._draw(message.id, 0) < reject:
                results.append(SendResult(message.id, MessageStatus.REJECTED, provider_status="REJECTD",
                                          error_code="simulated_rejection",
                                          error_text="Rejected by the simulator (its reject rate).",
                                          request={"to": message.address}))
                continue
            accepted.append(message.id)
            results.append(SendResult(message.id, MessageStatus.SUBMITTED, provider_message_id=self.provider_id(
                message.id), provider_status="ACCEPTD", request={"to": message.address, "from": message.sender}))
        self._write_ledger(accepted)
        self._last = {m.id: m for m in messages}
        return results

    def _write_ledger(self, ids) -> None:
        path = self.settings.get("ledger")
        if not path or not ids:
            return
        with _ledger_lock, open(path, "a") as ledger:
            ledger.write("".join(f"{i}\n" for i in ids))
            ledger.flush()
            os.fsync(ledger.fileno())

    def reconcile(self, messages):
        path = self.settings.get("ledger")
        if not path:
            return None
        try:
            with open(path) as ledger:
                received = {line.strip() for line in ledger}
        except FileNotFoundError:
            received = set()
        return {m.id: (SendResult(m.id, MessageStatus.SUBMITTED, provider_message_id=self.provider_id(m.id),
                                  provider_status="ACCEPTD") if str(m.id) in received else None)
                for m in messages}

    def reports_for(self, results) -> tuple[list[Report], list[Report], list[Inbound]]:
        """The reports the simulator will send for submitted messages: delivery, seen,
        replies. They carry our message id as well as the provider id (the simulator echoes
        the client reference, as many HTTP aggregators do), which spares the intake a lookup."""
        deliver, seen_rate, reply = (self._rate("deliver_rate", 1.0), self._rate("seen_rate", 0.0),
                                     self._rate("reply_rate", 0.0))
        last = getattr(self, "_last", {})
        delivery, seen, replies = [], [], []
        for result in results:
            draw = result.message_id
            pid = result.provider_message_id
            if deliver >= 1.0 or (deliver and self._draw(draw, 1) < deliver):
                delivery.append(Report(MessageStatus.DELIVERED, provider_message_id=pid, message_id=result.message_id,
                                       provider_status="DELIVRD", error_code="000"))
                if seen_rate and self._draw(draw, 2) < seen_rate:
                    seen.append(Report(MessageStatus.SEEN, provider_message_id=pid, message_id=result.message_id,
                                       provider_status="READ"))
                message = last.get(result.message_id)
                if message is not None and reply and self._draw(draw, 3) < reply:
                    replies.append(Inbound(address=message.address, to=message.sender,
                                           text=str(self.settings.get("reply_text") or "Thanks!"),
                                           provider_message_id=f"sim-mo-{result.message_id.hex}"))
            else:
                delivery.append(Report(MessageStatus.UNDELIVERED, provider_message_id=pid, message_id=result.message_id,
                                       provider_status="UNDELIV",
                                       error_code="001", error_text="Simulated: the handset was unreachable."))
        return delivery, seen, replies

    def inline_reports(self, results) -> dict:
        """Without a report delay the delivery report comes with the submit: the engine
        applies both in one statement (the history still shows both)."""
        if float(self.settings.get("report_delay") or 0) > 0 or not results:
            return {}
        delivery, _seen, _replies = self.reports_for(results)
        return {r.message_id: r for r in delivery}

    def after_submit(self, results) -> None:
        """Send the later reports: seen and replies, and delivery reports when they have a
        delay (through a delayed task per batch, never one per message)."""
        delay = float(self.settings.get("report_delay") or 0)
        if not results or (delay <= 0 and not self._rate("seen_rate", 0.0) and not self._rate("reply_rate", 0.0)):
            return  # the delivery reports went inline with the submit, and there is nothing else
        from messaging import tasks
        from messaging.services.intake import apply_reports, receive_inbound

        delivery, seen, replies = self.reports_for(results)
        if delay <= 0:
            delivery = []  # applied inline with the submit
        seen_delay = delay + float(self.settings.get("seen_delay") or 0)
        for reports, when in ((delivery, delay), (seen, seen_delay)):
            if not reports:
                continue
            if when <= 0:
                apply_reports(self.gateway, reports)
            else:
                tasks.apply_simulated_reports.apply_async((self.gateway.pk, [r.as_json() for r in reports]),
                                                          countdown=when)
        if replies:
            receive_inbound(self.gateway, replies)

    def check_connection(self) -> CheckResult:
        return CheckResult(True, "The simulator needs no connection: it is always reachable.")
