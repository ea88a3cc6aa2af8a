"""The ``smpp`` driver: SMPP 3.4 transceiver with one persistent bind per gateway and process.

The registry builds one driver per gateway and keeps it (``providers.driver_for``), so the
bind stays open between batches. The asyncio client runs on an event loop in a daemon
thread the driver owns, started on first use; ``send_batch`` (synchronous, called by the
dispatcher) hands the batch to that loop and waits for the results; ``close`` unbinds and
stops the loop.

Text: ``messaging.encoding`` decides GSM-7 (``data_coding`` 0, one septet per octet) or
UCS-2 (8); a long message is split by ``encoding.split`` and each part sent with a
concatenation UDH (esm_class 0x40, IE 0x00, an 8-bit reference per message). The first
part's ``message_id`` is the message's provider id; all of them are in
``response["part_ids"]``. A receipt for a later part counts only when it is a failure,
and then as the first part's (a message with a lost part did not arrive whole).

Receipts and MOs (``deliver_sm``) are buffered and handed in batches (``FLUSH_ITEMS`` or
every ``FLUSH_SECONDS``) to ``report_sink`` / ``inbound_sink`` in a worker thread — by
default ``messaging.services.intake.apply_reports`` / ``receive_inbound``, which use the ORM
and so must not run inside the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from django.utils.translation import gettext as _

from messaging.encoding import GSM7, UCS2, encode, is_gsm7, split
from messaging.models import MessageStatus
from messaging.providers.base import CheckResult, Inbound, OutboundMessage, Provider, Report, SendResult
from messaging.providers.smpp import pdu as P
from messaging.providers.smpp.client import BindRefused, SmppClient, SmppConfig, SmppError, check_bind
from messaging.providers.smpp.deliver import MoAssembler, MoPart, is_receipt, message_text, parse_receipt
from portal.channel_types import Channel

logger = logging.getLogger("herald.smpp")

FLUSH_ITEMS = 200
FLUSH_SECONDS = 0.1
PART_MEMORY = 200_000     # later-part ids remembered to map their receipts to the message

# Receipt "stat:" → message status (None: not an outcome, ignored).
STAT_STATUS = {
    "DELIVRD": MessageStatus.DELIVERED, "DELIVERED": MessageStatus.DELIVERED,
    "UNDELIV": MessageStatus.UNDELIVERED, "UNDELIVERABLE": MessageStatus.UNDELIVERED,
    "EXPIRED": MessageStatus.EXPIRED,
    "REJECTD": MessageStatus.REJECTED, "REJECTED": MessageStatus.REJECTED,
    "DELETED": MessageStatus.FAILED, "UNKNOWN": MessageStatus.FAILED, "FAILED": MessageStatus.FAILED,
    "READ": MessageStatus.SEEN,
    "ACCEPTD": None, "ENROUTE": None, "BUFFERED": None,
}
SUCCESS_STATS = frozenset({"DELIVRD", "DELIVERED", "READ"})


class SmppSettingsError(ValueError):
    pass


def _number(settings: dict, key: str, default, kind=int, low=None, high=None):
    value = settings.get(key)
    if value in (None, ""):
        return default
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise SmppSettingsError(f"SMPP setting {key!r} must be a number, not {value!r}.") from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise SmppSettingsError(f"SMPP setting {key!r} must be between {low} and {high}, not {value!r}.")
    return number


def build_config(credentials: dict, settings: dict) -> SmppConfig:
    """The client configuration from a gateway's credentials and settings; ``SmppSettingsError``
    says what is wrong."""
    host = str(settings.get("host") or "").strip()
    if not host:
        raise SmppSettingsError("SMPP setting 'host' is required (the SMSC's host name or IP address).")
    system_id = str(credentials.get("system_id") or "")
    password = str(credentials.get("password") or "")
    system_type = str(settings.get("system_type") or "")
    for label, value, most in (("credential 'system_id'", system_id, 15), ("credential 'password'", password, 8),
                               ("setting 'system_type'", system_type, 12)):
        if not value.isascii() or len(value) > most:
            raise SmppSettingsError(f"SMPP {label} must be at most {most} ASCII characters.")
    if not system_id:
        raise SmppSettingsError("SMPP credential 'system_id' is required.")
    return SmppConfig(
        host=host, port=_number(settings, "port", 2775, int, 1, 65535), system_id=system_id, password=password,
        system_type=system_type, window=_number(settings, "window", 10, int, 1, 1000),
        enquire_link_interval=_number(settings, "enquire_link_interval", 30.0, float, 0, 3600),
        response_timeout=_number(settings, "response_timeout", 10.0, float, 0.01, 600),
        connect_timeout=_number(settings, "connect_timeout", 5.0, float, 0.01, 600),
        reconnect_min=_number(settings, "reconnect_min", 1.0, float, 0.001, 3600),
        reconnect_max=_number(settings, "reconnect_max", 60.0, float, 0.001, 3600),
        throttle_retries=_number(settings, "throttle_retries", 3, int, 0, 20),
        throttle_delay=_number(settings, "throttle_delay", 0.2, float, 0, 60),
    )


def smpp_address(address: str) -> str:
    """An E.164 number as SMPP carries it (digits, no "+"); other addresses as they are."""
    address = address.strip()
    if address.startswith("+") and address[1:].isdigit():
        return address[1:]
    return address


def inbound_address(source: str, ton: int) -> str:
    """An MO's source as Herald stores it: ``+E164`` for numbers, alphanumerics unchanged."""
    source = source.strip()
    if source.startswith("+"):
        return source
    if source.isdigit() and ton != 5:
        return "+" + source
    return source


class _Batcher:
    """Buffers items in the loop and hands them to a sink in a worker thread, in order."""

    def __init__(self, provider: SmppProvider, sink_name: str):
        self.provider = provider
        self.sink_name = sink_name
        self.items: list = []
        self.timer: asyncio.TimerHandle | None = None
        self.flushing: set[asyncio.Future] = set()

    def add(self, item) -> None:
        self.items.append(item)
        loop = asyncio.get_running_loop()
        if len(self.items) >= FLUSH_ITEMS:
            self.flush()
        elif self.timer is None:
            self.timer = loop.call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.items:
            return
        items, self.items = self.items, []
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.provider._executor, self.provider._call_sink, self.sink_name, items)
        self.flushing.add(future)
        future.add_done_callback(self.flushing.discard)

    async def drain(self) -> None:
        self.flush()
        if self.flushing:
            await asyncio.gather(*self.flushing, return_exceptions=True)


class SmppProvider(Provider):
    key = "smpp"
    name = "SMPP 3.4"
    channels = frozenset({Channel.SMS})
    credential_fields = ("system_id", "password")
    setting_fields = ("host", "port", "system_type", "window", "enquire_link_interval", "source_ton",
                      "source_npi", "dest_ton", "dest_npi", "registered_delivery", "response_timeout",
                      "connect_timeout", "reconnect_min", "reconnect_max", "throttle_retries")

    def __init__(self, gateway, *, report_sink: Callable[[list[Report]], None] | None = None,
                 inbound_sink: Callable[[list[Inbound]], None] | None = None):
        super().__init__(gateway)
        self.report_sink = report_sink or self._intake_reports
        self.inbound_sink = inbound_sink or self._intake_inbound
        try:
            self.config: SmppConfig | None = build_config(self.credentials, self.settings)
            self.config_error = ""
            self.registered_delivery = _number(self.settings, "registered_delivery", 1, int, 0, 255)
            self.ton_npi = {key: _number(self.settings, key, None, int, 0, 255)
                            for key in ("source_ton", "source_npi", "dest_ton", "dest_npi")}
        except SmppSettingsError as exc:
            self.config, self.config_error = None, str(exc)
        self.client: SmppClient | None = None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._reports: _Batcher | None = None
        self._inbound: _Batcher | None = None
        self._assembler = MoAssembler()
        self._reference = 0
        self._part_of: OrderedDict[str, str] = OrderedDict()

    # --- the loop thread ---------------------------------------------------------------------
    def _ensure_started(self) -> None:
        with self._lock:
            if self.client is not None:
                return
            loop = asyncio.new_event_loop()
            name = f"smpp-gateway-{self.gateway.pk or 'unsaved'}"
            thread = threading.Thread(target=loop.run_forever, name=name, daemon=True)
            thread.start()
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-intake")
            self._reports, self._inbound = _Batcher(self, "report_sink"), _Batcher(self, "inbound_sink")
            client = SmppClient(self.config, on_deliver=self._on_deliver)
            asyncio.run_coroutine_threadsafe(client.start(), loop).result(5)
            self._loop, self._thread, self.client = loop, thread, client

    def _run(self, coroutine, timeout: float | None = None):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def close(self) -> None:
        with self._lock:
            client, loop = self.client, self._loop
            if client is None:
                return
            self.client = None
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(client), loop).result(10)
            except Exception:
                logger.exception("SMPP %s: unclean shutdown", self.config.address)
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(5)
            loop.close()
            self._executor.shutdown(wait=True)
            self._loop = self._thread = self._executor = None

    async def _shutdown(self, client: SmppClient) -> None:
        await client.close()
        for part in self._assembler.expired(everything=True):
            self._inbound.add(self._inbound_of(part))
        await self._reports.drain()
        await self._inbound.drain()

    # --- sending --------------------------------------------------------------------------------
    def send_batch(self, messages: list[OutboundMessage]) -> list[SendResult]:
        if self.config is None:
            return [SendResult(m.id, MessageStatus.FAILED, error_code="bad_configuration",
                               error_text=self.config_error) for m in messages]
        self._ensure_started()
        # A safety net only: every submit has its own timeouts, so the batch always ends.
        config = self.config
        rounds = -(-sum(max(1, m.segments) for m in messages) // config.window) + 1
        timeout = (config.connect_timeout + 10
                   + rounds * (config.response_timeout + config.throttle_delay) * (config.throttle_retries + 1))
        return self._run(self._send_all(messages), timeout)

    async def _send_all(self, messages: list[OutboundMessage]) -> list[SendResult]:
        return list(await asyncio.gather(*(self._send_one(message) for message in messages)))

    def _next_reference(self) -> int:
        self._reference = self._reference % 255 + 1
        return self._reference

    def _address_fields(self, source: str, destination: str) -> dict:
        numeric = source.isdigit()
        ton_npi = self.ton_npi
        fields = {
            "source_addr": source, "destination_addr": destination,
            "source_addr_ton": ton_npi["source_ton"] if ton_npi["source_ton"] is not None else (1 if numeric else 5),
            "source_addr_npi": ton_npi["source_npi"] if ton_npi["source_npi"] is not None else (1 if numeric else 0),
            "dest_addr_ton": 1 if ton_npi["dest_ton"] is None else ton_npi["dest_ton"],
            "dest_addr_npi": 1 if ton_npi["dest_npi"] is None else ton_npi["dest_npi"],
        }
        if not source and ton_npi["source_ton"] is None:
            fields["source_addr_ton"] = fields["source_addr_npi"] = 0
        return fields

    @staticmethod
    def _address_error(source: str, destination: str, message: OutboundMessage) -> tuple[str, str] | None:
        if not destination or not destination.isascii() or len(destination) > 20:
            return "ESME_RINVDSTADR", f"The destination {message.address!r} cannot be sent over SMPP."
        if not source.isascii() or len(source) > 20 or (not source.isdigit() and len(source) > 11):
            return "ESME_RINVSRCADR", (f"The sender {source!r} cannot be sent over SMPP (an alphanumeric sender "
                                       "is at most 11 ASCII characters, a number at most 20 digits).")
        return None

    async def _send_one(self, message: OutboundMessage) -> SendResult:
        text = message.text
        # The engine gives the encoding it counted the segments with (analyze); else decide here.
        encoding = message.encoding if message.encoding in (GSM7, UCS2) else (GSM7 if is_gsm7(text) else UCS2)
        # A GSM-7 character takes at most 2 septets, a UCS-2 one 2 units: short texts need no count.
        parts = [text] if len(text) <= (80 if encoding == GSM7 else 35) else split(text, encoding)
        data_coding = 0 if encoding == GSM7 else 8
        destination = smpp_address(message.address)
        source = smpp_address(message.sender or self.gateway.default_from or "")
        request = {"destination": destination, "data_coding": data_coding, "parts": len(parts)}
        local = self._address_error(source, destination, message)
        if local:
            return SendResult(message.id, MessageStatus.REJECTED, error_code=local[0], error_text=local[1],
                              request=request)
        base = {**self._address_fields(source, destination), "registered_delivery": self.registered_delivery,
                "data_coding": data_coding}
        request["source"] = source
        if len(parts) == 1:
            pdus = [{**base, "esm_class": 0, "short_message": encode(text, encoding)}]
        else:
            reference = self._next_reference()
            request["reference"] = reference
            pdus = [{**base, "esm_class": 0x40,
                     "short_message": P.concat_udh(reference, len(parts), number) + encode(part, encoding)}
                    for number, part in enumerate(parts, 1)]
        if len(pdus) == 1:
            outcomes = [await self._submit(pdus[0])]
        else:
            outcomes = await asyncio.gather(*(self._submit(params) for params in pdus))
        part_ids = [resp.get("message_id", "") if isinstance(resp, P.Pdu) and resp.status == P.ESME_ROK else None
                    for resp in outcomes]
        response = {"part_ids": part_ids}
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                code = getattr(outcome, "code", "invalid_parameter")
                status = MessageStatus.REJECTED if isinstance(outcome, P.PduError) else MessageStatus.FAILED
                return SendResult(message.id, status, error_code=code, error_text=str(outcome), request=request,
                                  response=response)
            if outcome.status != P.ESME_ROK:
                name = P.status_name(outcome.status)
                response["command_status"] = outcome.status
                return SendResult(message.id, MessageStatus.REJECTED,
                                  provider_status=f"0x{outcome.status:08X} {name}", error_code=name,
                                  error_text=f"The SMSC refused the message: {name} ({P.status_text(outcome.status)}).",
                                  request=request, response=response)
        first = part_ids[0] or ""
        for later in part_ids[1:]:
            self._remember_part(later, first)
        return SendResult(message.id, MessageStatus.SUBMITTED, provider_message_id=first,
                          provider_status=f"0x{P.ESME_ROK:08X} ESME_ROK", request=request, response=response)

    async def _submit(self, params: dict):
        try:
            return await self.client.submit_sm(params)
        except (SmppError, P.PduError) as exc:
            return exc

    def _remember_part(self, part_id: str, first_id: str) -> None:
        if not part_id:
            return
        self._part_of[part_id] = first_id
        if len(self._part_of) > PART_MEMORY:
            self._part_of.popitem(last=False)

    # --- receiving ------------------------------------------------------------------------------
    def _on_deliver(self, pdu: P.Pdu) -> None:
        if is_receipt(pdu):
            report = self._report_of(pdu)
            if report is not None:
                self._reports.add(report)
            return
        try:
            text, concat = message_text(pdu)
        except P.PduError as exc:
            logger.warning("SMPP %s: unreadable MO from %s: %s", self.config.address, pdu.get("source_addr"), exc)
            return
        part = MoPart(pdu.get("source_addr", ""), pdu.get("destination_addr", ""), text, concat,
                      pdu.get("source_addr_ton", 0))
        ready = self._assembler.add(part)
        if ready is None:  # a part of a longer MO: give it out as it is if the rest never comes
            asyncio.get_running_loop().call_later(self._assembler.max_wait + 0.1, self._flush_partial_mos)
        else:
            self._inbound.add(self._inbound_of(ready))

    def _flush_partial_mos(self) -> None:
        if self._inbound is None:
            return
        for part in self._assembler.expired():
            self._inbound.add(self._inbound_of(part))

    def _report_of(self, pdu: P.Pdu) -> Report | None:
        receipt = parse_receipt(pdu)
        if receipt is None:
            logger.warning("SMPP %s: a receipt without a message id: %r", self.config.address, pdu)
            return None
        status = STAT_STATUS.get(receipt.stat, MessageStatus.FAILED)
        if status is None:
            return None
        message_id = receipt.message_id
        first = self._part_of.get(message_id)
        if first is not None:
            if receipt.stat in SUCCESS_STATS:
                return None  # the first part's receipt speaks for the message
            message_id = first
        error = receipt.error if receipt.error.strip("0") else ""
        return Report(status=status, provider_message_id=message_id, provider_status=receipt.stat,
                      error_code=error[:40], at=datetime.now(UTC))

    def _inbound_of(self, part: MoPart) -> Inbound:
        return Inbound(address=inbound_address(part.source, part.source_ton), to=part.destination, text=part.text,
                       content={"text": part.text}, at=datetime.now(UTC))

    def _call_sink(self, sink_name: str, items: list) -> None:
        sink = getattr(self, sink_name)
        for attempt in range(3):
            try:
                sink(items)
                return
            except Exception:
                if attempt == 2:
                    logger.exception("SMPP gateway %s: %s failed; %d items lost", self.gateway.pk, sink_name,
                                     len(items))
                else:
                    time.sleep(0.5 * (attempt + 1))

    def _intake_reports(self, reports: list[Report]) -> None:
        from django.db import close_old_connections

        from messaging.services import intake

        close_old_connections()
        try:
            intake.apply_reports(self.gateway, reports)
        finally:
            close_old_connections()

    def _intake_inbound(self, inbound: list[Inbound]) -> None:
        from django.db import close_old_connections

        from messaging.services import intake

        close_old_connections()
        try:
            intake.receive_inbound(self.gateway, inbound)
        finally:
            close_old_connections()

    # --- checks -------------------------------------------------------------------------------
    def check_connection(self) -> CheckResult:
        if self.config is None:
            return CheckResult(False, self.config_error)
        config = self.config
        result: list = []

        def run():
            try:
                result.append(asyncio.run(check_bind(config)))
            except Exception as exc:  # pragma: no cover - check_bind returns its errors
                result.append(exc)

        thread = threading.Thread(target=run, name="smpp-check", daemon=True)
        thread.start()
        thread.join(config.connect_timeout * 2 + 5)
        address = config.address
        if not result:
            return CheckResult(False, _("No answer from %(address)s.") % {"address": address})
        error = result[0]
        if error is None:
            return CheckResult(True, _("Bound as %(system_id)s to %(address)s.")
                               % {"system_id": config.system_id, "address": address})
        if isinstance(error, BindRefused):
            if error.status in (P.ESME_RBINDFAIL, P.ESME_RINVPASWD, P.ESME_RINVSYSID):
                reason = _("check the system_id and password")
            else:
                reason = P.status_text(error.status)
            return CheckResult(False, _("Bind refused: %(status)s (%(reason)s).")
                               % {"status": P.status_name(error.status), "reason": reason})
        if isinstance(error, TimeoutError):
            detail = _("no answer within %(seconds)s s") % {"seconds": f"{config.connect_timeout:g}"}
        elif isinstance(error, OSError):
            detail = error.strerror or str(error)
        else:
            detail = str(error)
        return CheckResult(False, _("Cannot connect to %(address)s: %(error)s") % {"address": address, "error": detail})
