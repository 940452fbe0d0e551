"""One feedd per state folder: a second `feedd run` or `feedd build` on the same state refuses to start."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from feedd.errors import StateLocked


@contextlib.contextmanager
def state_lock(state: Path) -> Iterator[None]:
    """Hold an exclusive lock on state/feedd.lock for the life of the block (released by the kernel on exit,
    even after kill -9, so a crash never leaves a stale lock behind)."""
    state.mkdir(parents=True, exist_ok=True)
    path = state / "feedd.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise StateLocked(f"{state}: state folder is in use by feedd pid {holder}; "
                              "stop it first, or give this one its own --state") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
