"""Worker processes for the CPU-bound stages (parsing, rendering): both cores, where it pays."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None) -> None:
    """A worker must not outlive a killed feedd: a forked one would hold the state lock (and its memory)
    for ever, and the restart would refuse to start. Linux kills it when its parent (feedd, or the
    forkserver, which exits with feedd) dies."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent is not None and os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def process_pool(workers: int) -> ProcessPoolExecutor:
    """fork while the process has one thread (cheap, nothing to re-import); forkserver once the watcher,
    scheduler or server threads run, because forking a threaded process can copy a held lock."""
    method = "fork" if threading.active_count() == 1 else "forkserver"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["feedd.pipeline"])
    parent = os.getpid() if method == "fork" else None
    return ProcessPoolExecutor(workers, mp_context=context, initializer=die_with_parent, initargs=(parent,))
