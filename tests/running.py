"""Start the real `feedd run` as a subprocess on a loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import feedparser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(path: Path, articles: Path, port: int, title: str = "Daemon test", extra: str = "") -> Path:
    path.write_text(
        f"site:\n  title: {title!r}\n  base_url: 'http://127.0.0.1:{port}/'\n"
        f"paths:\n  articles: {str(articles)!r}\n  output: {str(path.parent / 'public')!r}\n"
        f"  state: {str(path.parent / 'state')!r}\n"
        f"defaults:\n  content: full\n{extra}",
        encoding="utf-8",
    )
    return path


class Daemon:
    """`feedd run -c CONFIG --port PORT`, with its stderr collected for assertions."""

    def __init__(self, config: Path, port: int, *args: str, command: str = "run",
                 env: dict[str, str] | None = None) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "feedd", command, "-c", str(config), "--port", str(port), *args],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not wait_for(lambda: self.status("/healthz") == 200, timeout=15):
            self.stop()
            raise RuntimeError("feedd run did not start:\n" + "\n".join(self.log))

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line.rstrip("\n"))

    def status(self, path: str) -> int | None:
        try:
            with urllib.request.urlopen(self.base + path, timeout=2) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=2) as response:
            return response.read()

    def feed(self, path: str = "/feeds/all.rss") -> feedparser.FeedParserDict:
        try:
            return feedparser.parse(self.get(path))
        except urllib.error.HTTPError:
            return feedparser.FeedParserDict(entries=[], bozo=1, status=404)

    def titles(self, path: str = "/feeds/all.rss") -> list[str]:
        return [entry.title for entry in self.feed(path).entries]

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 5.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=2)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return self.proc.returncode


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll until condition() is true; False after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
