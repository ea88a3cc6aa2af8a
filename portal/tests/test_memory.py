"""``portal.memory``: automatic garbage collection is off inside bulk batches and back on
after them — never left off by a batch, never turned on when it was off before."""

import gc
import threading

import pytest

from portal import memory


@pytest.fixture(autouse=True)
def _collection_on():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_collection_is_off_inside_and_back_on_after():
    with memory.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_in_the_batch_still_turns_collection_back_on():
    with pytest.raises(ZeroDivisionError), memory.paused():
        1 / 0  # noqa: B018
    assert gc.isenabled()


def test_nested_blocks_turn_it_back_on_only_at_the_outermost_end():
    with memory.paused():
        with memory.paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collection_that_was_off_stays_off():
    gc.disable()
    with memory.paused():
        pass
    assert not gc.isenabled()


def test_as_a_decorator():
    @memory.paused()
    def batch():
        return gc.isenabled()

    assert batch() is False
    assert gc.isenabled()


def test_two_threads_collection_comes_back_when_the_last_block_ends():
    inside, release = threading.Event(), threading.Event()

    def other():
        with memory.paused():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    inside.wait(5)
    with memory.paused():
        pass
    assert not gc.isenabled()  # the other thread's batch is still running
    release.set()
    thread.join(5)
    assert gc.isenabled()


def test_freeze_keeps_what_exists_out_of_collections():
    before = gc.get_freeze_count()
    kept = [object() for _ in range(10)]  # noqa: F841 - alive during the freeze
    try:
        memory.freeze()
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
