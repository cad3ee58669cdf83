"""Python's cyclic garbage collector, kept quiet while a bulk job makes millions of objects."""

import contextlib
import gc
import threading
from collections.abc import Iterator

# Young objects between two collections of the youngest generation (Python's default: 700).
# A chunk of rows is tens of thousands of lists, tuples and dicts; none forms a cycle.
_YOUNG_THRESHOLD = 10_000

# The collector's settings are the process's: only the outermost block changes and
# restores them. A process forked inside the block (an import's read-ahead helper)
# inherits them as they are.
_lock = threading.Lock()
_depth = 0
_saved_threshold: tuple[int, ...] = ()


@contextlib.contextmanager
def gc_quiet() -> Iterator[None]:
    """Collect rarely, and never look at what existed before, until the block ends.

    An import makes a million rows that live for a chunk or two: each batch of them
    that survived into the oldest generation triggered a full collection, which walked
    every object Django had loaded as well. That was a third of an import's Python time
    (1 M rows: the reading and checking took 8.2 s of CPU, 4.8 s with this). Objects
    alive at the start are frozen (not looked at) until the end, then given back; the
    rows hold no cycles, so reference counting frees them as before and memory stays flat.
    """
    global _depth, _saved_threshold
    with _lock:
        _depth += 1
        if _depth == 1:
            _saved_threshold = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(_YOUNG_THRESHOLD, *_saved_threshold[1:])
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved_threshold)
                gc.unfreeze()
