"""SMS encoding and segments (spec §5.1, gap G3).

GSM 03.38 7-bit default alphabet: 160 characters in one SMS, 153 per part of a
concatenated one; a character of the extension table (``^{}\\[~]|€`` and form feed) takes
two septets. Any other character makes the whole message UCS-2: 70 in one SMS, 67 per
part. Counting is in UTF-16 code units for UCS-2 (an emoji outside the BMP takes two), as
the handset does.

``analyze(text)`` is the counter the UI shows (``7-bit extended (160) 103 characters / 1
SMS``); ``split(text)`` gives the parts a driver sends, never cutting an escape sequence or
a surrogate pair in two; ``encode_gsm7`` / ``decode_gsm7`` are the SMPP ``data_coding=0``
byte forms (one septet per octet, unpacked).
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = {"\x0c": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D,
                 "]": 0x3E, "|": 0x40, "€": 0x65}
_BASIC_CODE = {ch: i for i, ch in enumerate(GSM7_BASIC) if ch != "\x1b"}
_BASIC_CHAR = {i: ch for ch, i in _BASIC_CODE.items()}
_EXT_CHAR = {code: ch for ch, code in GSM7_EXTENDED.items()}
# Fast paths (str.translate / set operations run in C): same results as the loops below.
_GSM7_CHARS = frozenset(_BASIC_CODE) | frozenset(GSM7_EXTENDED)
_EXTENDED_CHARS = frozenset(GSM7_EXTENDED)
_ENCODE_TABLE = {ord(ch): chr(code) for ch, code in _BASIC_CODE.items()}
_ENCODE_TABLE.update({ord(ch): "\x1b" + chr(code) for ch, code in GSM7_EXTENDED.items()})
_DECODE_TABLE = {code: _BASIC_CHAR.get(code, "?") for code in range(256)}

GSM7, UCS2 = "gsm7", "ucs2"
LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}
LABELS = {GSM7: "7-bit extended", UCS2: "UCS-2"}


@dataclass(frozen=True)
class SmsInfo:
    encoding: str        # "gsm7" | "ucs2"
    characters: int      # septets (GSM-7) or UTF-16 units (UCS-2)
    segments: int
    limit: int           # characters in one part at this length (160/153 or 70/67)

    @property
    def label(self) -> str:
        """``7-bit extended (160) 103 characters / 1 SMS`` (spec §5.1)."""
        single = LIMITS[self.encoding][0]
        return f"{LABELS[self.encoding]} ({single}) {self.characters} characters / {self.segments} SMS"

    def as_dict(self) -> dict:
        return {"encoding": self.encoding, "characters": self.characters, "segments": self.segments,
                "limit": self.limit, "label": self.label}


def is_gsm7(text: str) -> bool:
    return _GSM7_CHARS.issuperset(text)


def _units(ch: str, encoding: str) -> int:
    if encoding == GSM7:
        return 2 if ch in GSM7_EXTENDED else 1
    return 2 if ord(ch) > 0xFFFF else 1


def _length(text: str, encoding: str) -> int:
    """Septets (GSM-7) or UTF-16 units (UCS-2): ``sum(_units(ch) for ch in text)``, in C."""
    if encoding == GSM7:
        if _EXTENDED_CHARS.isdisjoint(text):
            return len(text)
        return len(text) + sum(text.count(ch) for ch in GSM7_EXTENDED)
    return len(text.encode("utf-16-le")) // 2


def analyze(text: str) -> SmsInfo:
    encoding = GSM7 if is_gsm7(text) else UCS2
    characters = _length(text, encoding)
    single, multi = LIMITS[encoding]
    if characters <= single:
        return SmsInfo(encoding, characters, 1 if characters else 0, single)
    return SmsInfo(encoding, characters, -(-characters // multi), multi)


def split(text: str, encoding: str | None = None) -> list[str]:
    """The parts of a message, each within its part limit."""
    encoding = encoding or (GSM7 if is_gsm7(text) else UCS2)
    single, multi = LIMITS[encoding]
    if _length(text, encoding) <= single:
        return [text]
    parts, current, used = [], [], 0
    for ch in text:
        size = _units(ch, encoding)
        if used + size > multi:
            parts.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += size
    if current:
        parts.append("".join(current))
    return parts


def encode_gsm7(text: str) -> bytes:
    if _GSM7_CHARS.issuperset(text):
        return text.translate(_ENCODE_TABLE).encode("latin-1")
    out = bytearray()
    for ch in text:
        if ch in _BASIC_CODE:
            out.append(_BASIC_CODE[ch])
        elif ch in GSM7_EXTENDED:
            out += bytes((0x1B, GSM7_EXTENDED[ch]))
        else:
            out.append(_BASIC_CODE["?"])
    return bytes(out)


def decode_gsm7(data: bytes) -> str:
    if 0x1B not in data:
        return bytes(data).decode("latin-1").translate(_DECODE_TABLE)
    out, escape = [], False
    for byte in data:
        if escape:
            out.append(_EXT_CHAR.get(byte, " "))
            escape = False
        elif byte == 0x1B:
            escape = True
        else:
            out.append(_BASIC_CHAR.get(byte, "?"))
    return "".join(out)


def encode(text: str, encoding: str) -> bytes:
    return encode_gsm7(text) if encoding == GSM7 else text.encode("utf-16-be")


def decode(data: bytes, data_coding: int) -> str:
    """A received short message: GSM-7 (0), Latin-1 (3), UCS-2 (8); others as Latin-1."""
    if data_coding == 0:
        return decode_gsm7(data)
    if data_coding == 8:
        return data.decode("utf-16-be", errors="replace")
    return data.decode("latin-1")
