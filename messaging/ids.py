"""Time-ordered message ids (UUID version 7, RFC 9562).

A message id sorts by creation time, so the primary-key index is append-only (no random
page splits at 10,000 inserts a second) and "newest first" is an index scan on the key.
Python 3.11 has no ``uuid.uuid7``; this is the RFC layout: 48 bits of Unix milliseconds,
the version, 12 bits of sub-millisecond counter, the variant and 62 random bits.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7(at_ms: int | None = None) -> uuid.UUID:
    """A new UUIDv7. Ids made in one process are strictly increasing (a 12-bit counter
    orders ids within the same millisecond)."""
    global _last_ms, _counter
    with _lock:
        ms = at_ms if at_ms is not None else time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:  # 4,096 ids in one millisecond: borrow the next one
                ms += 1
                _counter = 0
        else:
            _counter = 0
        _last_ms = ms
        counter = _counter
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
    return uuid.UUID(int=value)


def uuid7_floor(at_seconds: float) -> uuid.UUID:
    """The smallest UUIDv7 of a moment: ``id >= uuid7_floor(t)`` selects rows created
    from ``t`` on, using the primary key index."""
    ms = int(at_seconds * 1000)
    return uuid.UUID(int=(ms << 80) | 0x7 << 76 | 0b10 << 62)


def timestamp_of(value: uuid.UUID) -> float:
    """Seconds since the epoch at which a UUIDv7 was made."""
    return (value.int >> 80) / 1000
