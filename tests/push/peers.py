"""Real HTTP peers on loopback for the push tests: a WebSub subscriber and an external hub taking pings."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query
    query: dict[str, str]
    headers: dict[str, str]  # lowercase names; repeated headers joined with ", "
    body: bytes
    at: float  # time.monotonic() when it arrived


class Peer:
    """A threaded HTTP/1.1 server (keep-alive) that records every request and answers with `answer`."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._connections: set[socket.socket] = set()
        self._changed = threading.Condition()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()  # headers and body go out in two writes: without this, Nagle's delay is 40 ms
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with peer._changed:
                    peer._connections.add(self.connection)

            def finish(self) -> None:
                with peer._changed:
                    peer._connections.discard(self.connection)
                super().finish()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                headers: dict[str, str] = {}
                for name, value in self.headers.items():
                    name = name.lower()
                    headers[name] = f"{headers[name]}, {value}" if name in headers else value
                request = Request(self.command, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                                  headers, body, time.monotonic())
                status, reply = peer.answer(request)
                with peer._changed:
                    peer.requests.append(request)
                    peer._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = _serve

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, request: Request) -> tuple[int, bytes]:
        return 204, b""

    def received(self, method: str | None = None) -> list[Request]:
        with self._changed:
            return [r for r in self.requests if method is None or r.method == method]

    def wait_for(self, done: Callable[[list[Request]], bool], timeout: float = 5.0) -> bool:
        """Wait until `done(requests)` holds; False after `timeout` seconds."""
        end = time.monotonic() + timeout
        with self._changed:
            while not done(self.requests):
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def close(self) -> None:
        """Stop listening and drop open keep-alive connections: the peer is down, not just deaf."""
        self.server.shutdown()
        self.server.server_close()
        with self._changed:
            for connection in self._connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class Subscriber(Peer):
    """Confirms every intent verification (echoes hub.challenge) unless told to refuse; records deliveries.
    `delivery_status` is what it answers to deliveries (200, or 500 / 410 to act broken or gone)."""

    def __init__(self) -> None:
        self.confirm = True
        self.echo: Callable[[str], bytes] = lambda challenge: challenge.encode()
        self.delivery_status = 200
        super().__init__()

    def answer(self, request: Request) -> tuple[int, bytes]:
        if request.method == "GET":
            if self.confirm and "hub.challenge" in request.query:
                return 200, self.echo(request.query["hub.challenge"])
            return 404, b"no such subscription"
        return self.delivery_status, b""

    def verifications(self) -> list[Request]:
        return self.received("GET")

    def deliveries(self, path: str | None = None) -> list[Request]:
        return [r for r in self.received("POST") if path is None or r.path == path]


class PingHub(Peer):
    """An external hub taking publish pings; `statuses` are answered in turn, then 202."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        super().__init__()

    def answer(self, request: Request) -> tuple[int, bytes]:
        return (self.statuses.pop(0) if self.statuses else 202), b"noted"

    def pings(self) -> list[dict[str, str]]:
        """The form of each ping received (the accepted and the refused)."""
        return [dict(parse_qsl(r.body.decode())) for r in self.received("POST")]


def closed_port() -> int:
    """A loopback port nobody listens on: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
