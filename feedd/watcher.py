"""File events → debounced rebuild requests. The only watchdog importer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

# Reading a file (as every build does) raises opened/closed_no_write events: those must never
# trigger a rebuild, or a build would trigger itself.
CHANGES = {"created", "deleted", "modified", "moved", "closed"}


class _Handler(FileSystemEventHandler):
    def __init__(self, notify: Callable[[str], None], kind: str, only: Path | None = None) -> None:
        self.notify, self.kind, self.only = notify, kind, only

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in CHANGES or (event.is_directory and event.event_type == "modified"):
            return
        if self.only is not None:
            paths = {Path(str(event.src_path)), Path(str(getattr(event, "dest_path", "") or ""))}
            if self.only not in paths:
                return
        self.notify(self.kind)


class Watcher:
    """Watches the articles folder (recursively) and the config file.

    Bursts of events are coalesced: `on_change(kinds)` runs once the folder has been quiet for `debounce`
    seconds (or at the latest after `max_delay`), with the set of kinds seen ("articles", "config").
    """

    def __init__(self, articles: Path, config_file: Path | None, on_change: Callable[[set[str]], None],
                 debounce: float = 0.5, max_delay: float = 5.0) -> None:
        self.articles, self.config_file = articles, config_file
        self.on_change, self.debounce, self.max_delay = on_change, debounce, max_delay
        self._observer = Observer()
        self._pending: set[str] = set()
        self._event = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="feedd-debounce", daemon=True)

    def start(self) -> None:
        self._observer.schedule(_Handler(self._notify, "articles"), str(self.articles), recursive=True)
        if self.config_file is not None:
            config = self.config_file.resolve()
            self._observer.schedule(_Handler(self._notify, "config", config), str(config.parent), recursive=False)
        self._observer.start()
        self._thread.start()

    def _notify(self, kind: str) -> None:
        with self._lock:
            self._pending.add(kind)
        self._event.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._event.wait()
            first = time.monotonic()
            while not self._stopped.is_set():
                self._event.clear()
                if not self._event.wait(self.debounce) or time.monotonic() - first > self.max_delay:
                    break
            with self._lock:
                kinds, self._pending = self._pending, set()
            if kinds and not self._stopped.is_set():
                self.on_change(kinds)

    def stop(self) -> None:
        self._stopped.set()
        self._event.set()
        self._observer.stop()
        self._observer.join(timeout=2)
