"""Worker processes for the CPU-bound stages (parsing, rendering): both cores, where it pays."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor


def process_pool(workers: int) -> ProcessPoolExecutor:
    """fork while the process has one thread (cheap, nothing to re-import); forkserver once the watcher,
    scheduler or server threads run, because forking a threaded process can copy a held lock."""
    method = "fork" if threading.active_count() == 1 else "forkserver"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["feedd.build"])
    return ProcessPoolExecutor(workers, mp_context=context)
