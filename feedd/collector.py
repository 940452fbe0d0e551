"""Building many long-lived objects at once (loading the index, a full build) without the cycle collector.

Python's cycle collector runs after every few hundred new container objects, and each full collection walks
every object alive. Loading the index of a large folder makes millions of objects, so those collections
would be a large part of a warm restart, and they find no garbage (records, articles and their tuples hold
no cycles). Frozen afterwards, those objects are never walked again: no later build pauses for them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cycle collector for the block; then collect what cycles it left, and freeze what is alive
    (gc.freeze: later collections skip those objects; reference counting still frees them when unused)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:  # a block inside another leaves this to the outer one
            gc.collect()
            gc.freeze()
            gc.enable()


@contextmanager
def collector_off() -> Iterator[None]:
    """For a command that exits after the block (`feedd build`, `feedd check`): the collector stays off
    throughout, and neither a collection nor a freeze follows. collector_paused's would only delay the exit
    (a quarter of a second after loading a large index)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
