"""File events → debounced rebuild requests. The only watchdog importer."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

# Reading a file (as every build does) raises opened/closed_no_write events: those must never
# trigger a rebuild, or a build would trigger itself.
CHANGES = {"created", "deleted", "modified", "moved", "closed"}
BURST = 2000  # more changed paths than this in one window: rescan the folder instead of each path
OVERFLOW_LOGGER = "watchdog.observers.inotify_c"  # watchdog only *logs* a kernel queue overflow


class _OverflowSignal(logging.Handler):
    """Turns watchdog's overflow log line into a callback: events were lost, so rescan everything."""

    def __init__(self, callback: Callable[[], None]) -> None:
        super().__init__(logging.WARNING)
        self.callback = callback

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.callback()


class _Handler(FileSystemEventHandler):
    def __init__(self, notify: Callable[[str, set[str]], None], kind: str, only: Path | None = None) -> None:
        self.notify, self.kind, self.only = notify, kind, only

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in CHANGES or (event.is_directory and event.event_type == "modified"):
            return
        paths = {str(event.src_path)} | ({str(event.dest_path)} if getattr(event, "dest_path", "") else set())
        if self.only is not None and str(self.only) not in paths:
            return
        self.notify(self.kind, paths)


class Watcher:
    """Watches the articles folder (recursively) and the config file.

    Bursts of events are coalesced: `on_change(kinds, paths)` runs once the folder has been quiet for
    `debounce` seconds (or at the latest after `max_delay`), with the kinds seen ("articles", "config")
    and the changed paths, or None when events were lost (queue overflow) or too many to list: then the
    caller compares the whole folder with what it knows.
    """

    def __init__(self, articles: Path, config_file: Path | None,
                 on_change: Callable[[set[str], set[str] | None], None],
                 debounce: float = 0.05, max_delay: float = 2.0) -> None:
        self.articles, self.config_file = articles, config_file
        self.on_change, self.debounce, self.max_delay = on_change, debounce, max_delay
        self._observer = Observer()
        self._pending: set[str] = set()
        self._paths: set[str] | None = set()
        self._overflow = _OverflowSignal(self._lost_events)
        self._event = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="feedd-debounce", daemon=True)

    def start(self) -> None:
        self._watch = self._observer.schedule(_Handler(self._notify, "articles"), str(self.articles), recursive=True)
        # inotify's watch dies with the folder: see it re-created from its parent, then watch it again
        self._observer.schedule(_Handler(self._rewatch, "articles", self.articles), str(self.articles.parent),
                                recursive=False)
        if self.config_file is not None:
            config = self.config_file.resolve()
            self._observer.schedule(_Handler(self._notify, "config", config), str(config.parent), recursive=False)
        logging.getLogger(OVERFLOW_LOGGER).addHandler(self._overflow)
        self._observer.start()
        self._thread.start()

    def _notify(self, kind: str, paths: set[str]) -> None:
        with self._lock:
            self._pending.add(kind)
            if kind == "articles" and self._paths is not None:
                self._paths |= paths
                if len(self._paths) > BURST:
                    self._paths = None
        self._event.set()

    def _rewatch(self, kind: str, paths: set[str]) -> None:
        """The articles folder itself was deleted, moved or (re-)created: watch the new one, rescan it all."""
        if self.articles.is_dir():
            with contextlib.suppress(KeyError):
                self._observer.unschedule(self._watch)  # runs on the observer thread, whose lock is re-entrant
            self._watch = self._observer.schedule(_Handler(self._notify, "articles"), str(self.articles),
                                                  recursive=True)
        self._lost_events()

    def _lost_events(self) -> None:
        with self._lock:
            self._pending.add("articles")
            self._paths = None
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
                paths, self._paths = self._paths, set()
            if kinds and not self._stopped.is_set():
                self.on_change(kinds, paths)

    def stop(self) -> None:
        logging.getLogger(OVERFLOW_LOGGER).removeHandler(self._overflow)
        self._stopped.set()
        self._event.set()
        self._observer.stop()
        self._observer.join(timeout=2)
