"""The built-in hub's subscriptions, kept in `<paths.state>/websub.json`. The only reader and writer of it.

The file is replaced atomically (a temp file beside it, fsynced, renamed, the folder fsynced), so after
`kill -9` or a power cut it holds the subscriptions before or after the last change, never a torn file.
Writes happen on a thread of their own as soon as something changed; changes that arrive meanwhile go out
in the next write, so a thousand verifications in a second cost a few writes, not a thousand. Expired
leases are dropped on load and whenever `purge` is called. The file holds the subscribers' secrets: it is
created readable by feedd's user only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from feedd.push.callbacks import host_of
from feedd.push.errors import StateError

log = logging.getLogger("feedd")
FILENAME = "websub.json"
VERSION = 1
RETRY_WRITE = 1.0  # seconds before a failed write (a full disk) is tried again


@dataclass(frozen=True)
class Subscription:
    callback: str
    topic: str
    secret: str | None
    expires: float  # Unix time: leases outlive the process, so they are wall-clock times

    @property
    def host(self) -> str:
        return host_of(self.callback)

    def active(self, now: float) -> bool:
        return self.expires > now


def _to_json(sub: Subscription) -> dict:
    data = asdict(sub)
    data["expires"] = datetime.fromtimestamp(sub.expires, UTC).isoformat()
    return data


def _from_json(data: dict) -> Subscription:
    secret = data.get("secret")
    if not isinstance(data["callback"], str) or not isinstance(data["topic"], str) or \
            not isinstance(secret, str | None):
        raise TypeError("callback and topic must be strings, secret a string or null")
    return Subscription(data["callback"], data["topic"], secret, datetime.fromisoformat(data["expires"]).timestamp())


class SubscriptionStore:
    """Subscriptions by (callback, topic), indexed by topic and counted by callback host; thread-safe."""

    def __init__(self, state: Path, now: float) -> None:
        self.path = state / FILENAME
        self.last_error: str | None = None
        self._subs: dict[tuple[str, str], Subscription] = {}
        self._by_topic: dict[str, dict[str, Subscription]] = {}
        self._hosts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._dirty = threading.Event()
        self._stop = threading.Event()
        for sub in self._load():
            if sub.active(now):
                self._add(sub)
        self._writer = threading.Thread(target=self._write_loop, name="feedd-websub-store", daemon=True)
        self._writer.start()

    # -- reading -----------------------------------------------------------------------------------------
    def _load(self) -> Iterator[Subscription]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            entries = data["subscriptions"] if data.get("version") == VERSION else None
            if not isinstance(entries, list):
                raise ValueError(f"expected version {VERSION} with a list of subscriptions")
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
            aside = self.path.with_name(FILENAME + ".unreadable")
            with contextlib.suppress(OSError):
                os.replace(self.path, aside)
            log.error("%s: cannot read the WebSub subscriptions (%s); moved aside to %s, starting with none",
                      self.path, exc, aside.name)
            return
        for entry in entries:
            try:
                yield _from_json(entry)
            except (KeyError, TypeError, ValueError, OverflowError) as exc:
                log.warning("%s: skipping a malformed subscription (%s): %r", self.path, exc, entry)

    def get(self, callback: str, topic: str) -> Subscription | None:
        with self._lock:
            return self._subs.get((callback, topic))

    def of_topic(self, topic: str) -> list[Subscription]:
        with self._lock:
            return list(self._by_topic.get(topic, {}).values())

    def count(self, host: str | None = None) -> int:
        """Subscriptions in all, or of one callback host."""
        with self._lock:
            return len(self._subs) if host is None else self._hosts[host]

    # -- changing ----------------------------------------------------------------------------------------
    def _add(self, sub: Subscription) -> None:
        key = (sub.callback, sub.topic)
        if key not in self._subs:
            self._hosts[sub.host] += 1
        self._subs[key] = sub
        self._by_topic.setdefault(sub.topic, {})[sub.callback] = sub

    def _drop(self, callback: str, topic: str) -> bool:
        sub = self._subs.pop((callback, topic), None)
        if sub is None:
            return False
        self._hosts[sub.host] -= 1
        if not self._hosts[sub.host]:
            del self._hosts[sub.host]
        subscribers = self._by_topic[topic]
        del subscribers[callback]
        if not subscribers:
            del self._by_topic[topic]
        return True

    def put(self, sub: Subscription) -> None:
        """Add or renew (replacing secret and lease) a subscription."""
        with self._lock:
            self._add(sub)
        self._dirty.set()

    def remove(self, callback: str, topic: str) -> bool:
        with self._lock:
            removed = self._drop(callback, topic)
        if removed:
            self._dirty.set()
        return removed

    def purge(self, now: float) -> int:
        """Drop expired leases; returns how many."""
        with self._lock:
            expired = [key for key, sub in self._subs.items() if not sub.active(now)]
            for callback, topic in expired:
                self._drop(callback, topic)
        if expired:
            self._dirty.set()
        return len(expired)

    # -- writing -----------------------------------------------------------------------------------------
    def _write_loop(self) -> None:
        while not self._stop.is_set():
            self._dirty.wait()
            if self._stop.is_set():
                return
            self._dirty.clear()
            try:
                self.flush()
            except StateError as exc:
                log.error("%s; retrying in %.0f s", exc, RETRY_WRITE)
                self._dirty.set()
                self._stop.wait(RETRY_WRITE)

    def flush(self) -> None:
        """Write the file now (atomically): StateError when it cannot be written."""
        with self._lock:
            entries = [_to_json(sub) for sub in self._subs.values()]
        text = json.dumps({"version": VERSION, "subscriptions": entries}, indent=1, ensure_ascii=False)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{FILENAME}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600, the secrets' owner only
                    handle.write(text + "\n")
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
            folder = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)  # the rename itself survives a power cut
            finally:
                os.close(folder)
        except OSError as exc:
            self.last_error = f"cannot write {self.path}: {exc}"
            raise StateError(str(self.path), f"cannot write the WebSub subscriptions: {exc}") from None
        self.last_error = None

    def close(self) -> None:
        """Stop the writer, writing any change it had not written yet."""
        self._stop.set()
        pending = self._dirty.is_set()
        self._dirty.set()
        self._writer.join(timeout=5)
        if pending:
            try:
                self.flush()
            except StateError as exc:
                log.error("%s; the last subscription changes are lost", exc)
