"""The garbage collector during a batch: the loaded trials frozen, young collections rarer.

Screening builds hundreds of short-lived objects per patient and trial, none of
them in reference cycles (the cyclic collector finds nothing to free once the
trials are compiled).  With CPython's default thresholds it still runs a young
collection every 700 allocations, and the objects alive at that moment (the
results being built) are promoted, so that full collections come often and walk
every compiled trial, catalog and patient index: a third of a worker's time with
the five seed trials, more with a hundred (``bench/run_workers.py``).

* In a worker process (ours): :func:`tune_worker` freezes what the worker has
  loaded (``gc.freeze()``: the trials, catalogs and modules are never walked
  again) and turns the collector off, once; :func:`between_chunks` collects
  before each chunk, so that a reference cycle lives at most one chunk.
* In the caller's process, where ``screen_many(workers=1)`` screens, where the
  records of the workers' chunks are made and while it waits for a worker's chunk
  (the pool's thread unpickles it meanwhile): :func:`batch_gc` freezes what is
  loaded and raises the thresholds (:data:`BATCH_THRESHOLDS`) for the span of a
  block of patients, and puts everything back as it was (the thresholds, and the
  frozen objects back in the oldest generation, with the record just made: it is
  alive when it is returned, and a young collection right after would only walk it
  to promote it) before control returns to the caller.  It leaves the collector
  alone when it is disabled, and freezes nothing when the caller has frozen objects
  of its own (asked once per batch: counting the frozen objects walks them, which per
  record made a batch three times slower in a process that had frozen what it loaded).
  Nested and concurrent uses (threads) share one setting; the last one out restores it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["BATCH_THRESHOLDS", "batch_gc", "between_chunks", "may_freeze", "tune_worker"]

#: Young collections every 1,000,000 allocations instead of 700: none while the records of a block of patients
#: are made (a 100-trial record keeps some 30,000 objects, all alive until it is returned, and each young
#: collection inside a block only walked them to promote them: at 100,000, until 2026-12-07, that was 3 % of the
#: caller's time with two workers and 100 trials); the older generations as rarely in proportion.
BATCH_THRESHOLDS = (1_000_000, 50, 100)

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] | None = None
_froze = False


def tune_worker() -> None:
    """In a worker process, once everything it keeps is loaded: freeze it, and turn the collector off
    (:func:`between_chunks` collects instead).

    Even with the thresholds raised as :func:`batch_gc` raises them, a worker screening 100 trials spent
    10–20 % of its time in collections that freed nothing: each young collection walks the records of the
    chunk being screened, all alive until the chunk is sent."""
    gc.collect()
    gc.freeze()
    gc.disable()


def between_chunks() -> None:
    """In a worker process, before each chunk: collect the reference cycles the last chunk left, if any (the
    collector is off: :func:`tune_worker`).  This walks only what is not frozen, which is what the worker
    kept since it started (the last chunk's records are freed as soon as they are sent): milliseconds."""
    gc.collect()


def may_freeze() -> bool:
    """Whether :func:`batch_gc` may freeze: nothing is frozen in this process.  It walks the frozen
    objects (``gc.get_freeze_count()`` counts them one by one: milliseconds for a server that froze what
    it loaded), so a batch asks once and passes the answer to each :func:`batch_gc`."""
    return gc.get_freeze_count() == 0


@contextmanager
def batch_gc(freeze: bool | None = None) -> Iterator[None]:
    """The collector tuned for a batch in the caller's process, restored on exit.

    ``freeze``: whether nothing of the caller's is frozen (:func:`may_freeze`, asked once per batch);
    None asks now.
    """
    global _depth, _saved, _froze
    with _lock:
        if _depth == 0 and gc.isenabled():
            _saved = gc.get_threshold()
            gc.set_threshold(*(max(a, b) for a, b in zip(_saved, BATCH_THRESHOLDS)))
            _froze = may_freeze() if freeze is None else freeze
            if _froze:
                gc.freeze()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                if _froze:  # the record made meanwhile goes with the rest to the oldest generation, unscanned
                    gc.freeze()
                    gc.unfreeze()
                _saved, _froze = None, False
