"""Message ids: UUIDv7, time-ordered (docs/messaging.md §1)."""

import time
import uuid

import pytest

from messaging import ids as ids_module
from messaging.ids import timestamp_of, uuid7, uuid7_floor

PAST_MS = 1_700_000_000_000  # 2023-11-14: a millisecond no id of this process used


@pytest.fixture(autouse=True)
def _fresh_generator(monkeypatch):
    """Start each test from an empty generator state (another test may have travelled in
    time, which moves the generator's last millisecond); restored afterwards."""
    monkeypatch.setattr(ids_module, "_last_ms", 0)
    monkeypatch.setattr(ids_module, "_counter", 0)


def test_uuid7_is_an_rfc_version_7_uuid():
    value = uuid7()
    assert isinstance(value, uuid.UUID)
    assert value.version == 7
    assert value.variant == uuid.RFC_4122


def test_ten_thousand_ids_in_a_row_are_strictly_increasing_and_unique():
    ids = [uuid7() for _ in range(10_000)]
    assert all(a < b for a, b in zip(ids, ids[1:], strict=False))
    assert len(set(ids)) == 10_000
    # and they sort the same way as text (what an index on a uuid column or a string sees)
    assert sorted(str(i) for i in ids) == [str(i) for i in ids]


def test_ids_of_one_millisecond_stay_ordered_and_an_overflow_borrows_the_next_millisecond():
    at = PAST_MS
    ids = [uuid7(at_ms=at) for _ in range(5000)]  # more than the 4,096 of the 12-bit counter
    assert all(a < b for a, b in zip(ids, ids[1:], strict=False))
    assert timestamp_of(ids[0]) == at / 1000
    assert timestamp_of(ids[-1]) == (at + 1) / 1000
    # an id asked for an earlier moment afterwards never goes backwards
    assert uuid7(at_ms=at - 10) > ids[-1]


def test_timestamp_of_gives_the_creation_time():
    before = time.time()
    value = uuid7()
    after = time.time()
    assert before - 0.002 <= timestamp_of(value) <= after + 0.002


def test_uuid7_floor_sorts_below_every_id_of_that_millisecond_and_above_older_ones():
    at_ms = PAST_MS
    older = uuid7(at_ms=at_ms - 1)
    same = [uuid7(at_ms=at_ms) for _ in range(3)]
    floor = uuid7_floor(at_ms / 1000)
    assert floor.version == 7
    assert older < floor
    assert all(floor <= value for value in same)
    assert timestamp_of(floor) == at_ms / 1000
