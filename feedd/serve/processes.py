"""SERVE on more cores: helper processes that accept on the main process's listening socket.

One Python process answers only so many requests a second whatever its thread count: the GIL, and a
waitress loop that visits every open connection on each turn. With `server.processes: N`, N-1 helpers share
the socket (the kernel hands each new connection to one of them) and answer published files from their own
FileCache: the output folder is the shared state, and its files are replaced atomically, so every process
sees a new file at once. Anything else (/healthz, /metrics, 404, 405) is passed over a pipe to the main
process's app, so every process gives the same answers; helpers send their response counts along once a
second.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from io import BytesIO
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from feedd.config import Server
from feedd.workers import die_with_parent

log = logging.getLogger("feedd")
FLUSH_SECONDS = 1.0  # how stale a helper's response counts in /metrics may be
RESTART_DELAY = 1.0  # between a helper's death and its replacement, so a crash loop cannot spin


class Helpers:
    """Start, watch and stop the helper processes of one server (in the main process)."""

    def __init__(self, count: int, sock: socket.socket, app: Callable, metrics: Any, output: Path, server: Server,
                 logs: tuple[str, str], hubs: tuple[str, ...] = (), base_url: str = "") -> None:
        self.count, self.sock, self.app, self.metrics = count, sock, app, metrics
        self.args = (str(output), server, logs, hubs, base_url)  # hubs, base_url: feeds' Link headers (WebSub)
        self.stopping = threading.Event()
        self.processes: list[multiprocessing.process.BaseProcess | None] = [None] * count
        self._lock = threading.Lock()
        self._context = multiprocessing.get_context("spawn")  # the main process has threads: never fork it

    def start(self) -> None:
        for slot in range(self.count):
            threading.Thread(target=self._supervise, args=(slot,), name=f"feedd-helper-{slot}", daemon=True).start()

    def stop(self) -> None:
        """Ask every helper to finish its requests and exit (it has the same grace as the main process)."""
        self.stopping.set()
        with self._lock:
            for process in self.processes:
                if process is not None and process.pid and process.exitcode is None:
                    os.kill(process.pid, signal.SIGTERM)

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for process in self.processes:
            if process is not None:
                process.join(max(0.0, deadline - time.monotonic()))
                if process.exitcode is None:
                    process.kill()
                    process.join(1)

    def _supervise(self, slot: int) -> None:
        """Run one helper, answer its pipe, and replace it if it dies while the server runs."""
        while not self.stopping.is_set():
            ours, theirs = self._context.Pipe()
            process = self._context.Process(target=helper_main, name=f"feedd-http-{slot + 1}", daemon=True,
                                            args=(self.sock, theirs, os.getpid(), *self.args))
            with self._lock:
                if self.stopping.is_set():
                    return
                process.start()
                self.processes[slot] = process
            theirs.close()
            self._answer(ours)
            process.join()
            if not self.stopping.is_set():
                log.warning("server process %d (pid %s) exited with code %s; starting a new one",
                            slot + 1, process.pid, process.exitcode)
                self.stopping.wait(RESTART_DELAY)

    def _answer(self, conn: Connection) -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return
            if message[0] == "counts":
                for status, count in message[1].items():
                    self.metrics.record_request(status, count)
            elif message[0] == "call":
                try:
                    conn.send(call_app(self.app, message[1], message[2]))
                except (EOFError, OSError):
                    return


def call_app(app: Callable, environ: dict[str, Any], body: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI app on a relayed request: (status, headers, body)."""
    environ = {**environ, "wsgi.input": BytesIO(body), "wsgi.errors": sys.stderr}
    response: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
        response[:] = [status, headers]
        return lambda data: None

    chunks = app(environ, start_response)
    try:
        data = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return response[0], response[1], data


class Relay:
    """In a helper: the main process's app, over the pipe, and the tally of responses served here."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.counts: Counter[int] = Counter()
        self._lock = threading.Lock()

    def record_request(self, status: int, count: int = 1) -> None:
        with self._lock:
            self.counts[status] += count

    def flush(self) -> None:
        with self._lock:
            counts, self.counts = dict(self.counts), Counter()
            if counts:
                self.conn.send(("counts", counts))

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)  # waitress caps it (64 KB) and buffers the body
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        plain = {k: v for k, v in environ.items() if isinstance(v, str | bool | int | tuple) and k != "wsgi.input"}
        self.flush()
        with self._lock:
            self.conn.send(("call", plain, body))
            status, headers, data = self.conn.recv()
        start_response(status, headers)
        return [data]


def helper_main(sock: socket.socket, conn: Connection, parent: int, output: str, server: Server,
                logs: tuple[str, str], hubs: tuple[str, ...] = (), base_url: str = "") -> None:
    """A helper process: serve published files from memory, relay the rest, until SIGTERM or the main
    process goes away (it then dies with it, as render workers do)."""
    from feedd.logs import setup_logging
    from feedd.push.websub import feed_links
    from feedd.serve.static import FileCache, FileResponder
    from feedd.serve.wsgi import serve

    die_with_parent(parent)
    setup_logging(*logs)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the main one decides
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    relay = Relay(conn)

    def flush_counts() -> None:
        while not stop.wait(FLUSH_SECONDS):
            try:
                relay.flush()
            except OSError:  # the main process is gone
                stop.set()

    threading.Thread(target=flush_counts, daemon=True).start()
    app = FileResponder(relay, FileCache(Path(output)), server.cache_max_age, relay, links=feed_links(hubs, base_url))
    serve(app, "", 0, server.threads, stop, lambda host, port: None, sock=sock)
    try:
        relay.flush()
    except OSError:
        pass
