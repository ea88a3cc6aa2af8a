"""What a ``deliver_sm`` carries: a delivery receipt or a mobile-originated message (MO).

* A receipt has a message type in ``esm_class`` (bits 2–5; 0x04 = SMSC delivery receipt).
  Its id and outcome come from the ``receipted_message_id`` and ``message_state`` TLVs
  when present, else from the text of SMPP 3.4 Appendix B:
  ``id:IIIIIIIIII sub:SSS dlvr:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
  err:E text:…`` (keys are matched case-insensitively; SMSCs vary).
* Anything else is an MO: its text is decoded by ``data_coding`` (``message_payload`` when
  ``short_message`` is empty), its UDH removed (esm_class 0x40); the parts of a
  concatenated MO (UDH IE 0x00/0x08, or the ``sar_*`` TLVs) are joined by ``MoAssembler``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from messaging.encoding import decode as decode_text
from messaging.providers.smpp.pdu import MESSAGE_STATES, Pdu, split_udh

MESSAGE_TYPE_MASK = 0x3C
RECEIPT_TYPES = frozenset({0x04, 0x08, 0x10, 0x20})  # SMSC receipt, SME acks, intermediate notification
UDHI = 0x40

_FIELD = re.compile(r"(id|sub|dlvrd|dlvr|submit date|done date|stat|err|text)\s*:\s*", re.IGNORECASE)
# The usual layout, read in one match (the general parser handles the others).
_STANDARD = re.compile(r"id:(\S+) sub:\S* dlvrd?:\S* submit date:(\d*) done date:(\d*) stat:(\S+) err:(\S+) ?")


@dataclass
class Receipt:
    message_id: str
    stat: str                 # DELIVRD, UNDELIV… (upper case); "" when the SMSC gave none
    error: str = ""           # the err: field ("000"), or the network_error_code TLV in hex
    text: str = ""
    fields: dict = field(default_factory=dict)


def is_receipt(pdu: Pdu) -> bool:
    return (pdu.get("esm_class", 0) & MESSAGE_TYPE_MASK) in RECEIPT_TYPES


def parse_receipt_text(text: str) -> dict:
    """``{"id": …, "stat": …, "err": …, "submit date": …}`` from a receipt's text."""
    matches = list(_FIELD.finditer(text))
    out = {}
    for i, match in enumerate(matches):
        key = match.group(1).lower()
        if key in out:
            continue
        end = len(text) if key == "text" or i + 1 == len(matches) else matches[i + 1].start()
        out[key] = text[match.end():end].strip()
    return out


def message_text(pdu: Pdu) -> tuple[str, dict | None]:
    """The decoded text of a submit_sm / deliver_sm and its concatenation info, if any."""
    data = pdu.get("short_message") or b""
    if not data and isinstance(pdu.tlvs.get("message_payload"), bytes | bytearray):
        data = bytes(pdu.tlvs["message_payload"])
    concat = None
    if pdu.get("esm_class", 0) & UDHI:
        concat, data = split_udh(data)
    elif "sar_msg_ref_num" in pdu.tlvs:
        concat = {"ref": pdu.tlvs["sar_msg_ref_num"], "total": pdu.tlvs.get("sar_total_segments", 1),
                  "seq": pdu.tlvs.get("sar_segment_seqnum", 1)}
    return decode_text(data, pdu.get("data_coding", 0)), concat


def _receipt_fields(pdu: Pdu) -> dict:
    """The key:value fields of a receipt's text. The keys and values are ASCII, which GSM-7
    shares, so the octets are read as Latin-1 and only the ``text:`` tail is decoded."""
    data = pdu.get("short_message") or b""
    if not data and isinstance(pdu.tlvs.get("message_payload"), bytes | bytearray):
        data = bytes(pdu.tlvs["message_payload"])
    coding = pdu.get("data_coding", 0)
    if coding == 8:
        raw = data.decode("utf-16-be", errors="replace")
    else:
        raw = data.decode("latin-1")
    match = _STANDARD.match(raw)
    if match is not None:
        fields = {"id": match.group(1), "submit date": match.group(2), "done date": match.group(3),
                  "stat": match.group(4), "err": match.group(5)}
        tail = raw[match.end():]
        if tail[:5].lower() == "text:":
            fields["text"] = tail[5:] if coding == 8 else decode_text(data[match.end() + 5:], coding)
        return fields
    if coding != 8:
        raw = decode_text(data, coding)
    return parse_receipt_text(raw)


def parse_receipt(pdu: Pdu) -> Receipt | None:
    """The receipt of a deliver_sm, or None when it names no message."""
    fields = _receipt_fields(pdu)
    message_id = str(pdu.tlvs.get("receipted_message_id") or fields.get("id") or "").strip()
    if not message_id:
        return None
    stat = (fields.get("stat") or "").upper()
    if not stat and isinstance(pdu.tlvs.get("message_state"), int):
        stat = MESSAGE_STATES.get(pdu.tlvs["message_state"], "UNKNOWN")
    error = fields.get("err", "")
    network_error = pdu.tlvs.get("network_error_code")
    if not error and isinstance(network_error, bytes | bytearray) and network_error:
        error = network_error.hex().upper()
    return Receipt(message_id=message_id, stat=stat, error=error, text=fields.get("text", ""), fields=fields)


@dataclass
class MoPart:
    source: str
    destination: str
    text: str
    concat: dict | None
    source_ton: int = 0


@dataclass
class _Pending:
    parts: dict
    total: int
    first_seen: float
    part: MoPart


class MoAssembler:
    """Joins the parts of concatenated MOs, keyed by (source, destination, reference). An
    incomplete message is given out as it is after ``max_wait`` seconds (the missing parts
    will not come)."""

    def __init__(self, max_wait: float = 60.0):
        self.max_wait = max_wait
        self._pending: dict[tuple, _Pending] = {}

    def add(self, part: MoPart, now: float | None = None) -> MoPart | None:
        now = time.monotonic() if now is None else now
        concat = part.concat
        if not concat or concat.get("total", 1) <= 1:
            return part
        key = (part.source, part.destination, concat["ref"], concat["total"])
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending({}, concat["total"], now, part)
        pending.parts[concat["seq"]] = part.text
        if len(pending.parts) >= pending.total:
            del self._pending[key]
            return self._joined(pending)
        return None

    def expired(self, now: float | None = None, everything: bool = False) -> list[MoPart]:
        now = time.monotonic() if now is None else now
        due = [key for key, pending in self._pending.items()
               if everything or now - pending.first_seen >= self.max_wait]
        return [self._joined(self._pending.pop(key)) for key in due]

    @staticmethod
    def _joined(pending: _Pending) -> MoPart:
        text = "".join(pending.parts[seq] for seq in sorted(pending.parts))
        first = pending.part
        return MoPart(first.source, first.destination, text, None, first.source_ton)

    def __len__(self) -> int:
        return len(self._pending)
