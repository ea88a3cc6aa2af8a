"""The cyclic garbage collector around Herald's bulk work.

CPython runs its cycle collector after every ~700 net allocations. Young collections are
cheap, but the objects a batch keeps alive for a while (an import chunk's rows, a
broadcast batch's plans and messages, a dispatch batch) survive into the older
generations, and the full collections they trigger walk *every* object of the process —
a Django process holds several hundred thousand (modules, models, URL patterns,
translations). Measured in session 6 (docs/benchmarks.md): automatic collection took
~35 % of the Python time of a broadcast's resolution and of its dispatch, and ~20 % of an
import's row preparation; none of that work makes reference cycles worth collecting.

* :func:`freeze` — called once a process has set Django up (web, ASGI and Celery worker
  processes, the import's helpers): what was allocated so far lives as long as the process
  and moves to the permanent generation, which no collection walks.
* :func:`paused` — automatic collection off for one batch. The batch's objects are freed by
  reference counting as usual; a cycle it made is collected by the first automatic
  collection after it. Blocks nest and may run in several threads: collection comes back
  when the last paused block of the process ends, and only if it was on before the first.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


def freeze() -> None:
    """Move every object allocated so far to the permanent generation (collect first, so
    that no garbage is kept for the life of the process)."""
    gc.collect()
    gc.freeze()


@contextmanager
def paused():
    """No automatic garbage collection inside the block (see the module docstring)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
