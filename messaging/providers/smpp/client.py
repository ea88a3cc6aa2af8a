"""An asyncio SMPP 3.4 transceiver (ESME) with one persistent bind.

``SmppClient.start()`` launches a supervisor task that connects, sends
``bind_transceiver`` and, once bound, reads PDUs until the connection ends; then it fails
the submits still waiting for their ``submit_sm_resp`` (``ConnectionLost``: their outcome is
unknown) and reconnects after an exponential back-off with jitter
(``reconnect_min`` · 2ⁿ⁻¹, capped at ``reconnect_max``, a random factor 0.5–1). A refused bind
backs off the same way, and so does a session dropped within ``STABLE_SESSION`` seconds.

``submit_sm`` waits (up to ``connect_timeout``) for a bind, then for a place in the send
window (at most ``window`` submits without their response), writes the PDU and waits for its
response (``response_timeout``). ``ESME_RTHROTTLED`` / ``ESME_RMSGQFUL`` answers are retried
``throttle_retries`` times after a growing pause before being returned.

The peer's ``enquire_link`` and ``unbind`` are answered; ours is sent every
``enquire_link_interval`` seconds and a missing answer closes the connection (a half-open TCP
connection would otherwise swallow submits). ``deliver_sm`` PDUs go to ``on_deliver`` (a
plain callable run in the loop: keep it short) and are acknowledged at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from messaging.providers.smpp import pdu as P

logger = logging.getLogger("herald.smpp")

STABLE_SESSION = 30.0   # seconds: a session that lasted this long resets the back-off


@dataclass
class SmppConfig:
    host: str = "127.0.0.1"
    port: int = 2775
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    window: int = 10
    enquire_link_interval: float = 30.0
    response_timeout: float = 10.0
    connect_timeout: float = 5.0
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0
    throttle_retries: int = 3
    throttle_delay: float = 0.2

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class SmppError(Exception):
    code = "smpp_error"


class NotBound(SmppError):
    """No bind within ``connect_timeout``: the PDU was never sent."""

    code = "not_connected"


class ConnectionLost(SmppError):
    """The connection ended after the PDU was sent and before its response: outcome unknown."""

    code = "connection_lost"


class ResponseTimeout(SmppError):
    """The SMSC did not answer within ``response_timeout`` (the connection is still up)."""

    code = "response_timeout"


class BindRefused(SmppError):
    code = "bind_refused"

    def __init__(self, status: int):
        self.status = status
        super().__init__(f"Bind refused: {P.status_name(status)} ({P.status_text(status)})")


@dataclass
class Session:
    """One TCP connection and its bind."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    pending: dict = field(default_factory=dict)      # sequence → future of the response
    framer: P.Framer = field(default_factory=P.Framer)
    done: asyncio.Future | None = None
    reason: str = ""
    tasks: list = field(default_factory=list)
    out: P.PduWriter | None = None

    def __post_init__(self):
        self.out = P.PduWriter(self.writer)

    @property
    def closed(self) -> bool:
        return self.done is None or self.done.done()

    def write(self, pdu: P.Pdu) -> None:
        if self.closed or self.writer.is_closing():
            raise ConnectionLost(f"the connection is closed ({self.reason or 'closing'})")
        self.out.write(pdu)

    def close(self, reason: str, graceful: bool = False) -> None:
        """End the session; ``graceful`` sends what is buffered first (an unbind_resp)."""
        if self.done is not None and not self.done.done():
            self.reason = reason
            self.done.set_result(reason)
        with contextlib.suppress(Exception):
            if graceful:
                self.out.flush()
                self.writer.close()
            else:
                self.writer.transport.abort()
        error = ConnectionLost(f"The SMSC did not answer before the connection was lost ({reason}).")
        for future in self.pending.values():
            if not future.done():
                future.set_exception(error)
        self.pending.clear()


def _expire(future: asyncio.Future, error: Exception) -> None:
    if not future.done():
        future.set_exception(error)


class SmppClient:
    def __init__(self, config: SmppConfig, on_deliver: Callable[[P.Pdu], None] | None = None, *,
                 rng: random.Random | None = None):
        self.config = config
        self.on_deliver = on_deliver
        self.rng = rng or random.Random()
        self.session: Session | None = None
        self.last_error = ""
        self.binds = 0                  # successful binds so far
        # The last pauses before reconnecting, and why the last sessions ended (for tests and logs).
        self.reconnect_delays: deque[float] = deque(maxlen=100)
        self.disconnects: deque[str] = deque(maxlen=100)
        self.latencies: list[float] | None = None   # submit → resp seconds, when set to a list
        self._bound: asyncio.Event | None = None
        self._window: asyncio.Semaphore | None = None
        self._supervisor: asyncio.Task | None = None
        self._closing = False
        self._sequence = 0

    # --- life cycle ---------------------------------------------------------------------
    async def start(self) -> None:
        if self._supervisor is not None:
            return
        self._bound = asyncio.Event()
        self._window = asyncio.Semaphore(self.config.window)
        self._closing = False
        self._supervisor = asyncio.create_task(self._run(), name=f"smpp-{self.config.address}")

    @property
    def bound(self) -> bool:
        return self._bound is not None and self._bound.is_set()

    async def wait_bound(self, timeout: float | None = None) -> bool:
        if self._bound is None:
            return False
        if self._bound.is_set():
            return True
        try:
            await asyncio.wait_for(self._bound.wait(), self.config.connect_timeout if timeout is None else timeout)
        except TimeoutError:
            return False
        return True

    async def close(self, timeout: float = 2.0) -> None:
        """Unbind (waiting ``timeout`` at most for the unbind_resp) and stop reconnecting."""
        self._closing = True
        session = self.session
        if session is not None and not session.closed:
            with contextlib.suppress(SmppError, OSError):
                await self._request(session, P.UNBIND, timeout=timeout)
            session.close("unbound")
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._supervisor
            self._supervisor = None

    # --- the supervisor --------------------------------------------------------------------
    def backoff(self, failures: int) -> float:
        """The pause before reconnection attempt ``failures`` (1, 2, …): exponential, jittered."""
        ceiling = min(self.config.reconnect_max, self.config.reconnect_min * 2 ** max(0, failures - 1))
        return ceiling * self.rng.uniform(0.5, 1.0)

    async def _run(self) -> None:
        failures = 0
        while not self._closing:
            try:
                session = await self._open()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # refused, timed out, bind refused…: try again later
                self.last_error = describe_error(exc, self.config)
                failures += 1
                logger.warning("SMPP %s: %s", self.config.address, self.last_error)
                await self._pause(failures)
                continue
            # A bind that lasts keeps the back-off escalating (an SMSC that accepts and then
            # drops at once must not be hammered); a session that lasted starts it over.
            streak, failures = failures, 0
            bound_at = time.monotonic()
            self.last_error = ""
            self.binds += 1
            self.session = session
            self._bound.set()
            logger.info("SMPP bound as %s to %s", self.config.system_id, self.config.address)
            try:
                await asyncio.shield(session.done)
            finally:
                self._bound.clear()
                self.session = None
                session.close(session.reason or "closed")
                for task in session.tasks:
                    task.cancel()
            if self._closing:
                break
            self.disconnects.append(session.reason)
            self.last_error = f"Connection to {self.config.address} lost: {session.reason}"
            logger.warning("SMPP %s", self.last_error)
            failures = streak + 1 if time.monotonic() - bound_at < STABLE_SESSION else 1
            await self._pause(failures)

    async def _pause(self, failures: int) -> None:
        delay = self.backoff(failures)
        self.reconnect_delays.append(delay)
        await asyncio.sleep(delay)

    async def _open(self) -> Session:
        config = self.config
        reader, writer = await asyncio.wait_for(asyncio.open_connection(config.host, config.port),
                                                config.connect_timeout)
        session = Session(reader, writer, done=asyncio.get_running_loop().create_future())
        session.tasks.append(asyncio.create_task(self._read_loop(session)))
        try:
            resp = await self._request(session, P.BIND_TRANSCEIVER, {
                "system_id": config.system_id, "password": config.password, "system_type": config.system_type,
                "interface_version": 0x34}, timeout=config.connect_timeout)
            if resp.status != P.ESME_ROK:
                raise BindRefused(resp.status)
        except BaseException:
            session.close("bind failed")
            for task in session.tasks:
                task.cancel()
            raise
        if config.enquire_link_interval > 0:
            session.tasks.append(asyncio.create_task(self._keepalive(session)))
        return session

    async def _read_loop(self, session: Session) -> None:
        reason = "connection closed by the SMSC"
        try:
            while True:
                data = await session.reader.read(65536)
                if not data:
                    break
                for frame in session.framer.feed(data):
                    self._handle(session, frame)
                    if session.closed:
                        return
        except P.FramingError as exc:
            reason = f"unreadable data from the SMSC: {exc}"
            with contextlib.suppress(Exception):
                session.write(P.Pdu(P.GENERIC_NACK, 0, exc.status))
                session.close(reason, graceful=True)
        except (ConnectionError, OSError) as exc:
            reason = f"connection error: {exc}"
        except SmppError as exc:  # a write to a connection that closed meanwhile
            reason = str(exc)
        except asyncio.CancelledError:
            reason = "closed"
            raise
        finally:
            session.close(reason)

    def _handle(self, session: Session, frame: bytes) -> None:
        try:
            pdu = P.decode(frame)
        except P.PduError as exc:
            logger.warning("SMPP %s: bad PDU from the SMSC: %s", self.config.address, exc)
            if exc.command_id is not None and exc.command_id & P.RESPONSE_BIT:
                future = session.pending.pop(exc.sequence, None)
                if future is not None and not future.done():
                    future.set_exception(SmppError(f"unreadable {P.command_name(exc.command_id)}: {exc}"))
            elif exc.sequence is not None:
                session.write(P.Pdu(P.GENERIC_NACK, exc.sequence, exc.status))
            return
        command = pdu.command_id
        if command & P.RESPONSE_BIT:  # a response, or a generic_nack of one of ours
            future = session.pending.pop(pdu.sequence, None)
            if future is not None and not future.done():
                future.set_result(pdu)
        elif command == P.DELIVER_SM:
            if self.on_deliver is not None:
                try:
                    self.on_deliver(pdu)
                except Exception:
                    logger.exception("SMPP %s: deliver_sm handler failed", self.config.address)
            session.write(pdu.response(message_id=""))
        elif command == P.ENQUIRE_LINK:
            session.write(pdu.response())
        elif command == P.UNBIND:
            session.write(pdu.response())
            session.close("the SMSC unbound", graceful=True)
        else:
            session.write(P.Pdu(P.GENERIC_NACK, pdu.sequence, P.ESME_RINVCMDID))

    async def _keepalive(self, session: Session) -> None:
        while not session.closed:
            await asyncio.sleep(self.config.enquire_link_interval)
            try:
                await self._request(session, P.ENQUIRE_LINK, timeout=self.config.response_timeout)
            except ResponseTimeout:
                session.close(f"no enquire_link_resp within {self.config.response_timeout:g} s")
                return
            except SmppError:
                return

    # --- requests ----------------------------------------------------------------------------
    def _next_sequence(self) -> int:
        self._sequence = self._sequence % 0x7FFFFFFF + 1
        return self._sequence

    async def _request(self, session: Session, command_id: int, params: dict | None = None,
                       tlvs: dict | None = None, *, timeout: float) -> P.Pdu:
        loop = asyncio.get_running_loop()
        sequence = self._next_sequence()
        future = loop.create_future()
        session.pending[sequence] = future
        timer = loop.call_later(timeout, _expire, future, ResponseTimeout(
            f"The SMSC did not answer the {P.command_name(command_id)} within {timeout:g} s."))
        try:
            session.write(P.Pdu(command_id, sequence, P.ESME_ROK, params or {}, tlvs or {}))
            return await future
        finally:
            timer.cancel()
            session.pending.pop(sequence, None)

    async def submit_sm(self, params: dict, tlvs: dict | None = None) -> P.Pdu:
        """Send one submit_sm and return its response (any command_status). Raises
        ``NotBound`` (never sent), ``ConnectionLost`` / ``ResponseTimeout`` (outcome unknown)."""
        config = self.config
        throttled = 0
        while True:
            if not self._bound.is_set() and not await self.wait_bound():
                raise NotBound(self.last_error or f"Not bound to {config.address} yet.")
            async with self._window:
                session = self.session
                if session is None or session.closed:
                    continue
                started = time.perf_counter()
                resp = await self._request(session, P.SUBMIT_SM, params, tlvs, timeout=config.response_timeout)
                if self.latencies is not None:
                    self.latencies.append(time.perf_counter() - started)
                # Drain only when the socket buffer fills (the window bounds it anyway).
                if session.writer.transport.get_write_buffer_size() > 1 << 20:
                    await session.writer.drain()
            if resp.status in (P.ESME_RTHROTTLED, P.ESME_RMSGQFUL) and throttled < config.throttle_retries:
                throttled += 1
                await asyncio.sleep(config.throttle_delay * 2 ** (throttled - 1))
                continue
            return resp

    async def enquire_link(self) -> P.Pdu:
        session = self.session
        if session is None:
            raise NotBound(self.last_error or "not bound")
        return await self._request(session, P.ENQUIRE_LINK, timeout=self.config.response_timeout)


def describe_error(exc: BaseException, config: SmppConfig) -> str:
    if isinstance(exc, BindRefused):
        return str(exc)
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return f"Cannot connect to {config.address}: no answer within {config.connect_timeout:g} s"
    if isinstance(exc, ResponseTimeout):
        return f"Cannot bind to {config.address}: {exc}"
    if isinstance(exc, OSError):
        return f"Cannot connect to {config.address}: {exc.strerror or exc}"
    return f"Cannot bind to {config.address}: {exc}"


async def check_bind(config: SmppConfig) -> BaseException | None:
    """Connect, bind and unbind once: None when bound, else the error."""
    client = SmppClient(config)
    client._bound = asyncio.Event()
    try:
        session = await client._open()
    except Exception as exc:
        return exc
    with contextlib.suppress(SmppError, OSError):
        await client._request(session, P.UNBIND, timeout=min(2.0, config.response_timeout))
    session.close("unbound")
    for task in session.tasks:
        task.cancel()
    return None
