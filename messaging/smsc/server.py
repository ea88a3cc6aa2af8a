"""Herald's SMSC simulator: an asyncio SMPP 3.4 server for tests, benchmarks and demos.

* Binds (transmitter, receiver, transceiver) against ``accounts`` (system_id → password);
  a wrong password or an unknown system_id is answered ``ESME_RBINDFAIL``, and so is every
  bind while ``refuse_binds`` is set (to test back-off). Each attempt is recorded in
  ``bind_attempts``.
* ``submit_sm`` → ``submit_sm_resp`` with an increasing ``message_id`` (after
  ``response_delay`` seconds when set, so a client's window fills up). Refusals:
  ``ESME_RINVBNDSTS`` before a bind, ``ESME_RTHROTTLED`` above ``max_tps`` submits in the
  last second, ``ESME_RINVDSTADR`` for a destination that is not 5–15 digits, and any code
  put in ``reject[destination]``. Every accepted or refused submit is recorded in
  ``received`` (``ReceivedSubmit``: decoded text, UDH concatenation info, data_coding…).
* Receipts: ``delivery_delay`` seconds after a submit asking for one (registered_delivery),
  a ``deliver_sm`` (esm_class 0x04) with the Appendix B text and the
  ``receipted_message_id`` / ``message_state`` TLVs. The outcome is ``outcomes[destination]``
  when set, else drawn from a seeded generator: DELIVRD with ``deliver_rate``, EXPIRED with
  ``expire_rate``, UNDELIV otherwise. One receipt per part (nothing is reassembled).
  Receipts and MOs for an account with no receiving bind are kept and sent at its next bind.
* MOs: ``inject_mo(source, destination, text)`` (split and concatenated when long), and one
  reply every ``mo_every`` submits ("Reply to <message_id>").
* ``enquire_link`` answered; ``enquire_link_all()`` asks every bound client;
  ``drop_connections()`` cuts every connection (to test reconnection); ``mute`` makes it
  read and answer nothing (a hung SMSC behind an open TCP connection).

In tests: ``with SmscSimulator.threaded(port=0) as smsc:`` runs it on its own loop thread,
``smsc.port`` is the bound port and ``smsc.run(coroutine)`` calls into it from the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from messaging.encoding import GSM7, UCS2, encode, is_gsm7, split
from messaging.providers.smpp import pdu as P
from messaging.providers.smpp.deliver import message_text

logger = logging.getLogger("herald.smsc")

STORE_LIMIT = 100_000   # receipts and MOs kept per account while nobody receives them
ERROR_OF_STAT = {"DELIVRD": "000", "UNDELIV": "001", "EXPIRED": "002", "REJECTD": "003", "DELETED": "004",
                 "UNKNOWN": "005", "ACCEPTD": "000", "ENROUTE": "000", "READ": "000"}


@dataclass
class ReceivedSubmit:
    system_id: str
    message_id: str               # "" when refused
    status: int                   # the command_status answered
    source: str
    destination: str
    data_coding: int
    esm_class: int
    registered_delivery: int
    text: str                     # this part's decoded text (UDH removed)
    udh: dict | None              # {"ref", "total", "seq"} of a concatenated part
    short_message: bytes
    params: dict = field(default_factory=dict)     # every mandatory parameter as received
    tlvs: dict = field(default_factory=dict)
    at: float = 0.0


class _Connection:
    def __init__(self, server: SmscSimulator, reader, writer):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.framer = P.Framer()
        self.system_id = ""
        self.mode = 0                  # the bind command (0: not bound)
        self.unanswered = 0            # submits received and not answered yet
        self.max_unanswered = 0
        self.pending: dict[int, asyncio.Future] = {}
        self.sequence = 0
        self.out = P.PduWriter(writer)
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"

    @property
    def receives(self) -> bool:
        return self.mode in (P.BIND_RECEIVER, P.BIND_TRANSCEIVER) and not self.writer.is_closing()

    @property
    def transmits(self) -> bool:
        return self.mode in (P.BIND_TRANSMITTER, P.BIND_TRANSCEIVER)

    def write(self, pdu: P.Pdu) -> None:
        self.out.write(pdu)

    def next_sequence(self) -> int:
        self.sequence = self.sequence % 0x7FFFFFFF + 1
        return self.sequence

    async def request(self, command_id: int, params: dict | None = None, tlvs: dict | None = None,
                      timeout: float = 5.0) -> P.Pdu:
        sequence = self.next_sequence()
        future = asyncio.get_running_loop().create_future()
        self.pending[sequence] = future
        try:
            self.write(P.Pdu(command_id, sequence, P.ESME_ROK, params or {}, tlvs or {}))
            return await asyncio.wait_for(future, timeout)
        finally:
            self.pending.pop(sequence, None)

    def send(self, command_id: int, params: dict, tlvs: dict | None = None) -> None:
        """Fire a request (deliver_sm): its response is counted, not awaited."""
        self.write(P.Pdu(command_id, self.next_sequence(), P.ESME_ROK, params, tlvs or {}))


class SmscSimulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 2775, accounts: dict[str, str] | None = None, *,
                 delivery_delay: float = 0.5, deliver_rate: float = 0.95, expire_rate: float = 0.01,
                 seed: int | None = None, max_tps: int = 0, response_delay: float = 0.0, mo_every: int = 0,
                 id_prefix: str | None = None, keep_records: bool = True):
        self.host = host
        self.port = port
        self.accounts = dict(accounts if accounts is not None else {"herald": "secret"})
        self.delivery_delay = delivery_delay
        self.deliver_rate = deliver_rate
        self.expire_rate = expire_rate
        self.rng = random.Random(seed)
        self.max_tps = max_tps
        self.throttle_window = 1.0   # seconds over which max_tps is counted (tests shorten it)
        self.response_delay = response_delay
        self.mo_every = mo_every
        # Ids stay unique across restarts of a demo simulator (a gateway keeps its old ids).
        self.id_prefix = f"{int(time.time()):08x}" if id_prefix is None else id_prefix
        self.keep_records = keep_records
        self.refuse_binds = False
        self.mute = False                          # read everything, answer nothing (a hung SMSC)
        self.outcomes: dict[str, str] = {}        # destination → stat of its receipts
        self.reject: dict[str, int] = {}          # destination → command_status of its submits
        self.received: list[ReceivedSubmit] = []
        self.bind_attempts: list[tuple[float, str, bool]] = []
        self.connections: set[_Connection] = set()
        self.max_outstanding = 0
        self.stats = {"binds": 0, "submits": 0, "refused": 0, "receipts": 0, "mos": 0, "deliver_resps": 0,
                      "enquire_links": 0, "generic_nacks_sent": 0}
        self._counter = 0
        self._recent: deque[float] = deque()
        self._stored: dict[str, list[tuple[int, dict, dict]]] = {}
        self._server: asyncio.AbstractServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------------
    async def start(self) -> SmscSimulator:
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info("SMSC simulator listening on %s:%s", self.host, self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self.drop_connections()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        await self._server.serve_forever()

    @classmethod
    @contextlib.contextmanager
    def threaded(cls, **kwargs):
        """The simulator on its own event loop in a daemon thread, for tests and benchmarks."""
        smsc = cls(**kwargs)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="smsc-simulator", daemon=True)
        thread.start()
        smsc._thread = thread
        try:
            asyncio.run_coroutine_threadsafe(smsc.start(), loop).result(5)
            yield smsc
        finally:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(smsc.stop(), loop).result(5)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()

    def run(self, coroutine, timeout: float = 5.0):
        """Run a coroutine of the simulator from another thread (``threaded`` mode)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    # --- what tests and the command ask for ----------------------------------------------------
    async def drop_connections(self) -> int:
        connections = list(self.connections)
        for connection in connections:
            connection.writer.transport.abort()
        return len(connections)

    async def enquire_link_all(self, timeout: float = 2.0) -> list[int]:
        """Send enquire_link to every bound client; the command_status of each answer."""
        answers = []
        for connection in [c for c in self.connections if c.mode]:
            resp = await connection.request(P.ENQUIRE_LINK, timeout=timeout)
            answers.append(resp.status if resp.command_id == P.ENQUIRE_LINK_RESP else -1)
        return answers

    async def unbind_all(self, timeout: float = 2.0) -> list[int]:
        """Send unbind to every bound client and close once answered; the answers' statuses."""
        answers = []
        for connection in [c for c in self.connections if c.mode]:
            try:
                resp = await connection.request(P.UNBIND, timeout=timeout)
                answers.append(resp.status if resp.command_id == P.UNBIND_RESP else -1)
            except (TimeoutError, asyncio.CancelledError):
                answers.append(-1)
            connection.writer.close()
        return answers

    async def inject_mo(self, source: str, destination: str, text: str, system_id: str | None = None,
                        only_parts: list[int] | None = None) -> int:
        """Send an MO (``deliver_sm``) from ``source`` to ``destination``; the parts sent
        (stored for the account's next bind when no client receives). ``only_parts`` (1-based)
        sends some parts of a long one only, as when the network lost the others."""
        encoding = GSM7 if is_gsm7(text) else UCS2
        parts = split(text, encoding)
        base = {"source_addr": source.lstrip("+"), "source_addr_ton": 1 if source.lstrip("+").isdigit() else 5,
                "source_addr_npi": 1, "destination_addr": destination, "dest_addr_ton": 1, "dest_addr_npi": 1,
                "data_coding": 0 if encoding == GSM7 else 8}
        if len(parts) == 1:
            pdus = [{**base, "esm_class": 0, "short_message": encode(text, encoding)}]
        else:
            reference = self.rng.randrange(256)
            pdus = [{**base, "esm_class": 0x40,
                     "short_message": P.concat_udh(reference, len(parts), n) + encode(part, encoding)}
                    for n, part in enumerate(parts, 1) if only_parts is None or n in only_parts]
        target = system_id or next(iter(self.accounts), "")
        for params in pdus:
            self._deliver(target, None, params, {})
            self.stats["mos"] += 1
        return len(pdus)

    def max_outstanding_now(self) -> int:
        return max((c.unanswered for c in self.connections), default=0)

    # --- the protocol ---------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(self, reader, writer)
        self.connections.add(connection)
        graceful = False
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                try:
                    frames = connection.framer.feed(data)
                except P.FramingError as exc:
                    logger.warning("SMSC %s: %s; closing", connection.peer, exc)
                    connection.write(P.Pdu(P.GENERIC_NACK, 0, exc.status))
                    self.stats["generic_nacks_sent"] += 1
                    graceful = True
                    break
                for frame in frames:
                    if not self._handle(connection, frame):
                        graceful = True
                        return
                if writer.transport.get_write_buffer_size() > 1 << 20:
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.connections.discard(connection)
            for future in connection.pending.values():
                if not future.done():
                    future.cancel()
            if graceful:
                connection.out.flush()
                writer.close()  # flushes what is buffered (the unbind_resp, the generic_nack)
            else:
                writer.transport.abort()

    def _handle(self, connection: _Connection, frame: bytes) -> bool:
        """Answer one PDU; False when the connection must end."""
        try:
            pdu = P.decode(frame)
        except P.PduError as exc:
            logger.info("SMSC %s: bad PDU: %s", connection.peer, exc)
            if exc.command_id is None or not exc.command_id & P.RESPONSE_BIT:
                connection.write(P.Pdu(P.GENERIC_NACK, exc.sequence or 0, exc.status))
                self.stats["generic_nacks_sent"] += 1
            return True
        command = pdu.command_id
        if self.mute:
            return True
        if command & P.RESPONSE_BIT:
            if command == P.DELIVER_SM_RESP:
                self.stats["deliver_resps"] += 1
            future = connection.pending.pop(pdu.sequence, None)
            if future is not None and not future.done():
                future.set_result(pdu)
        elif command in P.BIND_COMMANDS:
            self._bind(connection, pdu)
        elif command == P.SUBMIT_SM:
            self._submit(connection, pdu)
        elif command == P.ENQUIRE_LINK:
            self.stats["enquire_links"] += 1
            connection.write(pdu.response())
        elif command == P.UNBIND:
            connection.write(pdu.response())
            return False
        else:  # deliver_sm from an ESME and the like
            connection.write(P.Pdu(P.GENERIC_NACK, pdu.sequence, P.ESME_RINVCMDID))
            self.stats["generic_nacks_sent"] += 1
        return True

    def _bind(self, connection: _Connection, pdu: P.Pdu) -> None:
        system_id, password = pdu.params.get("system_id", ""), pdu.params.get("password", "")
        if connection.mode:
            connection.write(pdu.response(P.ESME_RALYBND))
            return
        ok = not self.refuse_binds and system_id in self.accounts and self.accounts[system_id] == password
        self.bind_attempts.append((time.monotonic(), system_id, ok))
        if not ok:
            logger.info("SMSC %s: bind refused for %r", connection.peer, system_id)
            connection.write(pdu.response(P.ESME_RBINDFAIL))
            return
        connection.system_id, connection.mode = system_id, pdu.command_id
        self.stats["binds"] += 1
        resp = pdu.response(system_id="HeraldSMSC")
        resp.tlvs["sc_interface_version"] = 0x34
        connection.write(resp)
        logger.info("SMSC %s: bound %s as %s", connection.peer, P.command_name(pdu.command_id), system_id)
        if connection.receives:
            for command_id, params, tlvs in self._stored.pop(system_id, []):
                connection.send(command_id, params, tlvs)

    def _next_id(self) -> str:
        self._counter += 1
        return f"{self.id_prefix}{self._counter:08d}"

    def _submit(self, connection: _Connection, pdu: P.Pdu) -> None:
        self.stats["submits"] += 1
        params = pdu.params
        destination = params.get("destination_addr", "")
        status = self._refusal(connection, destination)
        text, udh = "", None
        if status == P.ESME_ROK:
            try:
                text, udh = message_text(pdu)
            except P.PduError:
                status = P.ESME_RINVMSGLEN
        message_id = self._next_id() if status == P.ESME_ROK else ""
        record = ReceivedSubmit(
            system_id=connection.system_id, message_id=message_id, status=status,
            source=params.get("source_addr", ""), destination=destination, data_coding=params.get("data_coding", 0),
            esm_class=params.get("esm_class", 0), registered_delivery=params.get("registered_delivery", 0),
            text=text, udh=udh, short_message=params.get("short_message", b""), params=dict(params),
            tlvs=dict(pdu.tlvs),
            at=time.monotonic())
        if self.keep_records:
            self.received.append(record)
        if status != P.ESME_ROK:
            self.stats["refused"] += 1
        connection.unanswered += 1
        connection.max_unanswered = max(connection.max_unanswered, connection.unanswered)
        self.max_outstanding = max(self.max_outstanding, connection.unanswered)
        resp = pdu.response(status, message_id=message_id)
        if self.response_delay > 0:
            self._loop.call_later(self.response_delay, self._answer, connection, resp)
        else:
            self._answer(connection, resp)
        if status != P.ESME_ROK:
            return
        wanted = record.registered_delivery & 0x03
        stat = self.outcomes.get(destination) or self._draw()
        if wanted == 1 or (wanted == 2 and stat != "DELIVRD"):
            self._loop.call_later(self.delivery_delay, self._receipt, connection, record, stat)
        if self.mo_every and self._counter % self.mo_every == 0:
            self._loop.call_later(self.delivery_delay, self._reply, connection, record)

    def _answer(self, connection: _Connection, resp: P.Pdu) -> None:
        connection.unanswered -= 1
        connection.write(resp)

    def _refusal(self, connection: _Connection, destination: str) -> int:
        if not connection.transmits:
            return P.ESME_RINVBNDSTS
        if self.max_tps:
            now = time.monotonic()
            recent = self._recent
            while recent and now - recent[0] >= self.throttle_window:
                recent.popleft()
            if len(recent) >= self.max_tps:
                return P.ESME_RTHROTTLED
            recent.append(now)
        if destination in self.reject:
            return self.reject[destination]
        digits = destination.lstrip("+")
        if not digits.isdigit() or not 5 <= len(digits) <= 15:
            return P.ESME_RINVDSTADR
        return P.ESME_ROK

    def _draw(self) -> str:
        roll = self.rng.random()
        if roll < self.deliver_rate:
            return "DELIVRD"
        if roll < self.deliver_rate + self.expire_rate:
            return "EXPIRED"
        return "UNDELIV"

    def _receipt(self, connection: _Connection, record: ReceivedSubmit, stat: str) -> None:
        now = datetime.now(UTC).strftime("%y%m%d%H%M")
        delivered = "001" if stat == "DELIVRD" else "000"
        text = (f"id:{record.message_id} sub:001 dlvr:{delivered} submit date:{now} done date:{now} "
                f"stat:{stat} err:{ERROR_OF_STAT.get(stat, '000')} text:{record.text[:20]}")
        params = {"source_addr": record.destination, "source_addr_ton": 1, "source_addr_npi": 1,
                  "destination_addr": record.source, "esm_class": 0x04, "data_coding": 0,
                  "short_message": encode(text, GSM7)}
        tlvs = {"receipted_message_id": record.message_id, "message_state": P.STATE_CODES.get(stat, 7)}
        self.stats["receipts"] += 1
        self._deliver(record.system_id, connection, params, tlvs)

    def _reply(self, connection: _Connection, record: ReceivedSubmit) -> None:
        text = f"Reply to {record.message_id}"
        params = {"source_addr": record.destination, "source_addr_ton": 1, "source_addr_npi": 1,
                  "destination_addr": record.source, "esm_class": 0, "data_coding": 0,
                  "short_message": encode(text, GSM7)}
        self.stats["mos"] += 1
        self._deliver(record.system_id, connection, params, {})

    def _deliver(self, system_id: str, connection: _Connection | None, params: dict, tlvs: dict) -> None:
        if connection is None or connection not in self.connections or not connection.receives:
            connection = next((c for c in self.connections if c.system_id == system_id and c.receives), None)
        if connection is None:
            stored = self._stored.setdefault(system_id, [])
            if len(stored) < STORE_LIMIT:
                stored.append((P.DELIVER_SM, params, tlvs))
            return
        connection.send(P.DELIVER_SM, params, tlvs)
