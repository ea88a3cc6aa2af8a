"""SMPP 3.4 PDUs: the codec, the framing of a byte stream, and the command_status table.

A PDU is a 16-octet header (``command_length``, ``command_id``, ``command_status``,
``sequence_number``, all big-endian unsigned 32-bit) and a body: mandatory parameters in a
fixed order (C-octet strings, 1-octet integers, the ``short_message`` octets preceded by
its length) and then optional TLVs (tag, length, value). Only the commands a transceiver
and Herald's SMSC simulator use are known; any other ``command_id`` decodes to a
``PduError`` carrying ``ESME_RINVCMDID`` and the sequence number, so the receiver can answer
with a ``generic_nack`` and carry on.

``Framer`` cuts a byte stream into PDUs by ``command_length``. A length below 16 or above
``MAX_LENGTH`` is a ``FramingError`` at once (the stream cannot be resynchronised: the
connection must be closed) — never a wait for bytes that will not come.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

HEADER = struct.Struct(">IIII")
HEADER_LENGTH = 16
# The largest PDU accepted: a message_payload TLV holds up to 64 KiB, plus the fixed part.
MAX_LENGTH = 70_000

# --- command ids -----------------------------------------------------------------------
GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_RECEIVER_RESP = 0x80000001
BIND_TRANSMITTER = 0x00000002
BIND_TRANSMITTER_RESP = 0x80000002
SUBMIT_SM = 0x00000004
SUBMIT_SM_RESP = 0x80000004
DELIVER_SM = 0x00000005
DELIVER_SM_RESP = 0x80000005
UNBIND = 0x00000006
UNBIND_RESP = 0x80000006
BIND_TRANSCEIVER = 0x00000009
BIND_TRANSCEIVER_RESP = 0x80000009
ENQUIRE_LINK = 0x00000015
ENQUIRE_LINK_RESP = 0x80000015

RESPONSE_BIT = 0x80000000

COMMAND_NAMES = {
    GENERIC_NACK: "generic_nack",
    BIND_RECEIVER: "bind_receiver", BIND_RECEIVER_RESP: "bind_receiver_resp",
    BIND_TRANSMITTER: "bind_transmitter", BIND_TRANSMITTER_RESP: "bind_transmitter_resp",
    SUBMIT_SM: "submit_sm", SUBMIT_SM_RESP: "submit_sm_resp",
    DELIVER_SM: "deliver_sm", DELIVER_SM_RESP: "deliver_sm_resp",
    UNBIND: "unbind", UNBIND_RESP: "unbind_resp",
    BIND_TRANSCEIVER: "bind_transceiver", BIND_TRANSCEIVER_RESP: "bind_transceiver_resp",
    ENQUIRE_LINK: "enquire_link", ENQUIRE_LINK_RESP: "enquire_link_resp",
}
BIND_COMMANDS = frozenset({BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER})

# --- command_status ----------------------------------------------------------------------
ESME_ROK = 0x00
ESME_RINVMSGLEN = 0x01
ESME_RINVCMDLEN = 0x02
ESME_RINVCMDID = 0x03
ESME_RINVBNDSTS = 0x04
ESME_RALYBND = 0x05
ESME_RSYSERR = 0x08
ESME_RINVSRCADR = 0x0A
ESME_RINVDSTADR = 0x0B
ESME_RINVMSGID = 0x0C
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RMSGQFUL = 0x14
ESME_RINVESMCLASS = 0x43
ESME_RSUBMITFAIL = 0x45
ESME_RTHROTTLED = 0x58
ESME_RINVOPTPARSTREAM = 0xC0
ESME_RINVPARLEN = 0xC2
ESME_RINVOPTPARAMVAL = 0xC4
ESME_RUNKNOWNERR = 0xFF

# SMPP 3.4 §5.1.3: code → (name, description).
STATUSES: dict[int, tuple[str, str]] = {
    0x00: ("ESME_ROK", "No error"),
    0x01: ("ESME_RINVMSGLEN", "Message length is invalid"),
    0x02: ("ESME_RINVCMDLEN", "Command length is invalid"),
    0x03: ("ESME_RINVCMDID", "Invalid command ID"),
    0x04: ("ESME_RINVBNDSTS", "Incorrect bind status for the given command"),
    0x05: ("ESME_RALYBND", "ESME already in bound state"),
    0x06: ("ESME_RINVPRTFLG", "Invalid priority flag"),
    0x07: ("ESME_RINVREGDLVFLG", "Invalid registered delivery flag"),
    0x08: ("ESME_RSYSERR", "System error"),
    0x0A: ("ESME_RINVSRCADR", "Invalid source address"),
    0x0B: ("ESME_RINVDSTADR", "Invalid destination address"),
    0x0C: ("ESME_RINVMSGID", "Message ID is invalid"),
    0x0D: ("ESME_RBINDFAIL", "Bind failed"),
    0x0E: ("ESME_RINVPASWD", "Invalid password"),
    0x0F: ("ESME_RINVSYSID", "Invalid system ID"),
    0x11: ("ESME_RCANCELFAIL", "cancel_sm failed"),
    0x13: ("ESME_RREPLACEFAIL", "replace_sm failed"),
    0x14: ("ESME_RMSGQFUL", "Message queue full"),
    0x15: ("ESME_RINVSERTYP", "Invalid service type"),
    0x33: ("ESME_RINVNUMDESTS", "Invalid number of destinations"),
    0x34: ("ESME_RINVDLNAME", "Invalid distribution list name"),
    0x40: ("ESME_RINVDESTFLAG", "Destination flag is invalid"),
    0x42: ("ESME_RINVSUBREP", "Invalid 'submit with replace' request"),
    0x43: ("ESME_RINVESMCLASS", "Invalid esm_class field data"),
    0x44: ("ESME_RCNTSUBDL", "Cannot submit to distribution list"),
    0x45: ("ESME_RSUBMITFAIL", "submit_sm or submit_multi failed"),
    0x48: ("ESME_RINVSRCTON", "Invalid source address TON"),
    0x49: ("ESME_RINVSRCNPI", "Invalid source address NPI"),
    0x50: ("ESME_RINVDSTTON", "Invalid destination address TON"),
    0x51: ("ESME_RINVDSTNPI", "Invalid destination address NPI"),
    0x53: ("ESME_RINVSYSTYP", "Invalid system_type field"),
    0x54: ("ESME_RINVREPFLAG", "Invalid replace_if_present flag"),
    0x55: ("ESME_RINVNUMMSGS", "Invalid number of messages"),
    0x58: ("ESME_RTHROTTLED", "Throttling error: the ESME exceeded its allowed message rate"),
    0x61: ("ESME_RINVSCHED", "Invalid scheduled delivery time"),
    0x62: ("ESME_RINVEXPIRY", "Invalid validity period (expiry time)"),
    0x63: ("ESME_RINVDFTMSGID", "Predefined message invalid or not found"),
    0x64: ("ESME_RX_T_APPN", "ESME receiver temporary application error"),
    0x65: ("ESME_RX_P_APPN", "ESME receiver permanent application error"),
    0x66: ("ESME_RX_R_APPN", "ESME receiver reject message error"),
    0x67: ("ESME_RQUERYFAIL", "query_sm request failed"),
    0xC0: ("ESME_RINVOPTPARSTREAM", "Error in the optional part of the PDU body"),
    0xC1: ("ESME_ROPTPARNOTALLWD", "Optional parameter not allowed"),
    0xC2: ("ESME_RINVPARLEN", "Invalid parameter length"),
    0xC3: ("ESME_RMISSINGOPTPARAM", "Expected optional parameter missing"),
    0xC4: ("ESME_RINVOPTPARAMVAL", "Invalid optional parameter value"),
    0xFE: ("ESME_RDELIVERYFAILURE", "Delivery failure"),
    0xFF: ("ESME_RUNKNOWNERR", "Unknown error"),
}
STATUS_CODES = {name: code for code, (name, _text) in STATUSES.items()}


def status_name(code: int) -> str:
    """``ESME_RINVDSTADR``; an SMSC-specific code (0x400–0x4FF…) is ``0x00000401``."""
    known = STATUSES.get(code)
    return known[0] if known else f"0x{code:08X}"


def status_text(code: int) -> str:
    known = STATUSES.get(code)
    return known[1] if known else "SMSC-specific error"


def command_name(command_id: int) -> str:
    return COMMAND_NAMES.get(command_id, f"0x{command_id:08X}")


# --- TLVs (optional parameters) ---------------------------------------------------------------
INT1, INT2, CSTR, OCTETS = "int1", "int2", "cstr", "octets"
TLVS: dict[str, tuple[int, str]] = {
    "dest_addr_subunit": (0x0005, INT1),
    "payload_type": (0x0019, INT1),
    "receipted_message_id": (0x001E, CSTR),
    "user_message_reference": (0x0204, INT2),
    "source_port": (0x020A, INT2),
    "destination_port": (0x020B, INT2),
    "sar_msg_ref_num": (0x020C, INT2),
    "sar_total_segments": (0x020E, INT1),
    "sar_segment_seqnum": (0x020F, INT1),
    "sc_interface_version": (0x0210, INT1),
    "network_error_code": (0x0423, OCTETS),
    "message_payload": (0x0424, OCTETS),
    "more_messages_to_send": (0x0426, INT1),
    "message_state": (0x0427, INT1),
}
TLV_BY_TAG = {tag: (name, kind) for name, (tag, kind) in TLVS.items()}

# message_state values (SMPP 3.4 §5.2.28) and the receipt "stat:" word of each.
MESSAGE_STATES = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD",
                  7: "UNKNOWN", 8: "REJECTD"}
STATE_CODES = {stat: code for code, stat in MESSAGE_STATES.items()}

# --- mandatory bodies ---------------------------------------------------------------------
# (name, kind, max octets including the NUL for C-octet strings)
C, I1, SM = "c", "i1", "sm"
_SM_BODY = (
    ("service_type", C, 6), ("source_addr_ton", I1, 1), ("source_addr_npi", I1, 1), ("source_addr", C, 21),
    ("dest_addr_ton", I1, 1), ("dest_addr_npi", I1, 1), ("destination_addr", C, 21), ("esm_class", I1, 1),
    ("protocol_id", I1, 1), ("priority_flag", I1, 1), ("schedule_delivery_time", C, 17),
    ("validity_period", C, 17), ("registered_delivery", I1, 1), ("replace_if_present_flag", I1, 1),
    ("data_coding", I1, 1), ("sm_default_msg_id", I1, 1), ("short_message", SM, 254),
)
_BIND_BODY = (
    ("system_id", C, 16), ("password", C, 9), ("system_type", C, 13), ("interface_version", I1, 1),
    ("addr_ton", I1, 1), ("addr_npi", I1, 1), ("address_range", C, 41),
)
_BIND_RESP_BODY = (("system_id", C, 16),)
_MESSAGE_ID_BODY = (("message_id", C, 65),)

# command_id → (mandatory fields, TLVs allowed)
SCHEMAS: dict[int, tuple[tuple, bool]] = {
    GENERIC_NACK: ((), False),
    BIND_RECEIVER: (_BIND_BODY, False), BIND_TRANSMITTER: (_BIND_BODY, False),
    BIND_TRANSCEIVER: (_BIND_BODY, False),
    BIND_RECEIVER_RESP: (_BIND_RESP_BODY, True), BIND_TRANSMITTER_RESP: (_BIND_RESP_BODY, True),
    BIND_TRANSCEIVER_RESP: (_BIND_RESP_BODY, True),
    SUBMIT_SM: (_SM_BODY, True), SUBMIT_SM_RESP: (_MESSAGE_ID_BODY, False),
    DELIVER_SM: (_SM_BODY, True), DELIVER_SM_RESP: (_MESSAGE_ID_BODY, False),
    UNBIND: ((), False), UNBIND_RESP: ((), False),
    ENQUIRE_LINK: ((), False), ENQUIRE_LINK_RESP: ((), False),
}


class PduError(Exception):
    """A PDU that cannot be encoded or decoded. ``status`` is the command_status to answer
    with (in a ``generic_nack``); ``command_id`` / ``sequence`` are known when the header
    could be read."""

    def __init__(self, message: str, status: int = ESME_RSYSERR, command_id: int | None = None,
                 sequence: int | None = None):
        super().__init__(message)
        self.status = status
        self.command_id = command_id
        self.sequence = sequence


class FramingError(PduError):
    """The byte stream is not SMPP (a command_length out of bounds): close the connection."""


@dataclass
class Pdu:
    command_id: int
    sequence: int = 0
    status: int = ESME_ROK
    params: dict = field(default_factory=dict)
    tlvs: dict = field(default_factory=dict)

    @property
    def command(self) -> str:
        return command_name(self.command_id)

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)

    def get(self, name: str, default=None):
        """A mandatory parameter or a TLV by name."""
        if name in self.params:
            return self.params[name]
        return self.tlvs.get(name, default)

    def response(self, status: int = ESME_ROK, **params) -> Pdu:
        """The ``*_resp`` of this request, same sequence number."""
        return Pdu(self.command_id | RESPONSE_BIT, self.sequence, status, params)

    def __repr__(self) -> str:
        return f"Pdu({self.command} seq={self.sequence} status={status_name(self.status)} {self.params} {self.tlvs})"


# --- encoding --------------------------------------------------------------------------------
def _cstring(value, name: str, limit: int) -> bytes:
    try:
        data = value.encode("ascii") if isinstance(value, str) else bytes(value or b"")
    except UnicodeEncodeError:
        raise PduError(f"{name} must be ASCII, not {value!r}", ESME_RINVPARLEN) from None
    if b"\x00" in data:
        raise PduError(f"{name} contains a NUL octet", ESME_RINVPARLEN)
    if len(data) + 1 > limit:
        raise PduError(f"{name} is {len(data)} octets long; the most is {limit - 1}", ESME_RINVPARLEN)
    return data + b"\x00"


def _encode_tlv(key, value) -> bytes:
    if isinstance(key, int):
        tag, kind = key, OCTETS
    else:
        try:
            tag, kind = TLVS[key]
        except KeyError:
            raise PduError(f"unknown TLV {key!r}", ESME_RINVOPTPARAMVAL) from None
    if kind == INT1:
        data = bytes((int(value),))
    elif kind == INT2:
        data = int(value).to_bytes(2, "big")
    elif kind == CSTR:
        data = (value.encode("ascii") if isinstance(value, str) else bytes(value)) + b"\x00"
    else:
        data = bytes(value)
    if len(data) > 0xFFFF:
        raise PduError(f"TLV {key} is {len(data)} octets long; the most is 65535", ESME_RINVPARLEN)
    return tag.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data


def encode(pdu: Pdu) -> bytes:
    """The PDU's octets, header included. Missing parameters take their zero value."""
    try:
        schema, tlvs_allowed = SCHEMAS[pdu.command_id]
    except KeyError:
        raise PduError(f"cannot encode command {command_name(pdu.command_id)}", ESME_RINVCMDID) from None
    params = pdu.params
    body = bytearray()
    # A response with an error may carry no body at all (SMPP 3.4 §3.2.2 / §4.4.2).
    if not (pdu.is_response and pdu.status != ESME_ROK and not params):
        for name, kind, limit in schema:
            value = params.get(name)
            if kind is I1:
                try:
                    body.append(value or 0)
                except (TypeError, ValueError):
                    try:
                        body.append(int(value))
                    except (TypeError, ValueError):
                        raise PduError(f"{name} must be an integer from 0 to 255, not {value!r}",
                                       ESME_RINVPARLEN) from None
            elif kind is C:
                if value:
                    body += _cstring(value, name, limit)
                else:
                    body.append(0)
            else:
                data = bytes(value or b"")
                if len(data) > limit:
                    raise PduError(f"short_message is {len(data)} octets long; the most is {limit} "
                                   "(use message_payload)", ESME_RINVMSGLEN)
                body.append(len(data))
                body += data
    if pdu.tlvs:
        if not tlvs_allowed:
            raise PduError(f"{pdu.command} carries no optional parameters", ESME_RINVOPTPARSTREAM)
        for key, value in pdu.tlvs.items():
            body += _encode_tlv(key, value)
    return HEADER.pack(HEADER_LENGTH + len(body), pdu.command_id, pdu.status, pdu.sequence) + body


# --- decoding --------------------------------------------------------------------------------
def _decode_tlvs(data: bytes, offset: int, command_id: int, sequence: int) -> dict:
    tlvs = {}
    end = len(data)
    while offset < end:
        if end - offset < 4:
            raise PduError("truncated TLV header", ESME_RINVOPTPARSTREAM, command_id, sequence)
        tag = int.from_bytes(data[offset:offset + 2], "big")
        length = int.from_bytes(data[offset + 2:offset + 4], "big")
        offset += 4
        if offset + length > end:
            raise PduError(f"TLV 0x{tag:04X} says {length} octets but {end - offset} remain",
                           ESME_RINVOPTPARSTREAM, command_id, sequence)
        value = data[offset:offset + length]
        offset += length
        known = TLV_BY_TAG.get(tag)
        if known is None:
            tlvs[tag] = value
            continue
        name, kind = known
        if kind == INT1 or kind == INT2:
            if length != (1 if kind == INT1 else 2):
                raise PduError(f"TLV {name} must be {1 if kind == INT1 else 2} octets, not {length}",
                               ESME_RINVPARLEN, command_id, sequence)
            tlvs[name] = int.from_bytes(value, "big")
        elif kind == CSTR:
            tlvs[name] = value.split(b"\x00", 1)[0].decode("latin-1")
        else:
            tlvs[name] = value
    return tlvs


def decode(frame: bytes) -> Pdu:
    """One PDU from exactly its octets (as cut by ``Framer``)."""
    if len(frame) < HEADER_LENGTH:
        raise PduError(f"a PDU is at least 16 octets; got {len(frame)}", ESME_RINVCMDLEN)
    length, command_id, status, sequence = HEADER.unpack_from(frame)
    if length != len(frame):
        raise PduError(f"command_length says {length} octets but the PDU has {len(frame)}", ESME_RINVCMDLEN,
                       command_id, sequence)
    try:
        schema, tlvs_allowed = SCHEMAS[command_id]
    except KeyError:
        raise PduError(f"unsupported command_id 0x{command_id:08X}", ESME_RINVCMDID, command_id, sequence) from None
    params = {}
    offset, end = HEADER_LENGTH, length
    is_error_resp = bool(command_id & RESPONSE_BIT) and status != ESME_ROK
    for name, kind, limit in schema:
        if offset >= end:
            if is_error_resp or (command_id & RESPONSE_BIT and offset == HEADER_LENGTH):
                break  # an error response (or a lax SMSC's empty resp) may omit its body
            raise PduError(f"{command_name(command_id)} ends before {name}", ESME_RINVCMDLEN, command_id, sequence)
        if kind == I1:
            params[name] = frame[offset]
            offset += 1
        elif kind == C:
            nul = frame.find(b"\x00", offset, min(end, offset + limit))
            if nul < 0:
                raise PduError(f"{name} is not a NUL-terminated string of at most {limit - 1} octets",
                               ESME_RINVPARLEN, command_id, sequence)
            params[name] = frame[offset:nul].decode("latin-1")
            offset = nul + 1
        else:
            size = frame[offset]
            offset += 1
            if offset + size > end:
                raise PduError(f"sm_length says {size} octets but {end - offset} remain", ESME_RINVMSGLEN,
                               command_id, sequence)
            params[name] = bytes(frame[offset:offset + size])
            offset += size
    tlvs = {}
    if offset < end:
        if not tlvs_allowed:
            raise PduError(f"{command_name(command_id)} has {end - offset} unexpected octets", ESME_RINVCMDLEN,
                           command_id, sequence)
        tlvs = _decode_tlvs(frame, offset, command_id, sequence)
    return Pdu(command_id, sequence, status, params, tlvs)


class Framer:
    """Cuts a byte stream into PDU frames by their ``command_length``."""

    def __init__(self, max_length: int = MAX_LENGTH):
        self.max_length = max_length
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """The complete frames now available; raises ``FramingError`` for an impossible length."""
        buf = self.buffer
        buf += data
        frames, offset, size = [], 0, len(buf)
        while size - offset >= 4:
            length = int.from_bytes(buf[offset:offset + 4], "big")
            if length < HEADER_LENGTH or length > self.max_length:
                raise FramingError(f"command_length {length} is out of bounds ({HEADER_LENGTH}–{self.max_length})",
                                   ESME_RINVCMDLEN)
            if size - offset < length:
                break
            frames.append(bytes(buf[offset:offset + length]))
            offset += length
        if offset:
            del buf[:offset]
        return frames

    @property
    def pending(self) -> int:
        """Octets received but not yet a whole PDU."""
        return len(self.buffer)


class PduWriter:
    """Coalesces the PDUs written during one turn of the event loop into one socket write
    (one ``send`` per batch instead of per PDU: the system call dominates on loopback)."""

    def __init__(self, writer):
        import asyncio

        self.writer = writer
        self.loop = asyncio.get_running_loop()
        self.chunks: list[bytes] = []
        self.scheduled = False

    def write(self, pdu: Pdu) -> None:
        self.chunks.append(encode(pdu))
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self.scheduled = False
        if self.chunks:
            data = b"".join(self.chunks)
            self.chunks.clear()
            if not self.writer.is_closing():
                self.writer.write(data)


# --- UDH (concatenation) -----------------------------------------------------------------------
def concat_udh(reference: int, total: int, number: int) -> bytes:
    """The 6-octet user data header of one part: IE 0x00 (8-bit reference)."""
    return bytes((0x05, 0x00, 0x03, reference & 0xFF, total, number))


def split_udh(data: bytes) -> tuple[dict | None, bytes]:
    """``(concat, text octets)`` of a short_message with a UDH (esm_class 0x40). ``concat``
    is ``{"ref", "total", "seq"}`` for IE 0x00 (8-bit) or 0x08 (16-bit), else None."""
    if not data:
        return None, data
    header_length = data[0]
    if header_length + 1 > len(data):
        raise PduError("the user data header is longer than the message", ESME_RINVMSGLEN)
    header, rest = data[1:header_length + 1], data[header_length + 1:]
    concat, i = None, 0
    while i + 2 <= len(header):
        ie, size = header[i], header[i + 1]
        value = header[i + 2:i + 2 + size]
        if ie == 0x00 and size == 3 and len(value) == 3:
            concat = {"ref": value[0], "total": value[1], "seq": value[2]}
        elif ie == 0x08 and size == 4 and len(value) == 4:
            concat = {"ref": int.from_bytes(value[:2], "big"), "total": value[2], "seq": value[3]}
        i += 2 + size
    return concat, rest
