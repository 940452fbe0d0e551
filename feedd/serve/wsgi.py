"""The production WSGI server (waitress: one process, threads, fits a background scheduler).

Stops gracefully: on stop, the listening socket closes at once, in-flight requests get up to `grace`
seconds to finish, then the process may exit.

Hostile clients: requests are read by the event loop, not by the worker threads, so a slow client holds a
connection, never a thread. A request (line, headers and body) must arrive whole within `request_timeout`
seconds of its first byte, an idle keep-alive connection is closed after `channel_timeout` seconds, headers
are capped at 64 KB (431) and bodies at 64 KB (413: feedd takes none). Beyond `connection_limit` open
connections new clients wait in the listen backlog: put nginx in front for slowloris at scale.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from waitress.server import create_server
from waitress.wasyncore import close_all, loop

from feedd.errors import ConfigError

CHANNEL_TIMEOUT = 15  # seconds an idle keep-alive connection stays open (closed within 15-20 s)
REQUEST_TIMEOUT = 10  # seconds for a whole request to arrive once its first byte has (slowloris)
LIMITS = {"connection_limit": 1000, "max_request_header_size": 64 * 1024, "max_request_body_size": 64 * 1024}


def listen(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """The listening socket, bound before anything else runs: a busy port or a bad address is a one-line error
    at start, never a traceback after a long first build."""
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(None, f"cannot listen on {shown}: {_reason(exc)}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise ConfigError(None, f"cannot listen on {shown}: {_reason(exc)}") from None
    return sock


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text[:1].lower() + text[1:]


def serve(app: Callable, host: str, port: int, threads: int, stop: threading.Event,
          on_listen: Callable[[str, int], None], grace: float = 4.0, *,
          channel_timeout: int = CHANNEL_TIMEOUT, request_timeout: float = REQUEST_TIMEOUT,
          sock: socket.socket | None = None, on_socket: Callable[[socket.socket], None] | None = None) -> None:
    """Serve until `stop` is set: on host:port, or on `sock`, a listening socket bound by another process
    (`feedd.serve.processes`). `on_socket` receives the listening socket, to share it."""
    where: dict[str, Any] = {"sockets": [sock]} if sock is not None else {"host": host, "port": port}
    server = create_server(app, threads=threads, ident="feedd", channel_timeout=channel_timeout,
                           cleanup_interval=min(5, channel_timeout), **where, **LIMITS)
    on_listen(str(server.effective_host), int(server.effective_port))
    if on_socket is not None:
        on_socket(server.socket)
    socket_map = server._map
    started: dict[int, tuple[Any, float]] = {}
    next_check = 0.0
    while not stop.is_set():
        loop(timeout=0.2, map=socket_map, count=1, use_poll=True)  # select() fails on a descriptor >= 1024
        now = time.monotonic()
        if now >= next_check:
            next_check = now + 0.5
            _close_slow_requests(server.active_channels, started, now, request_timeout)
    server.del_channel()  # stop accepting; open connections keep being served
    server.socket.close()
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(
            channel.requests or channel.total_outbufs_len for channel in list(server.active_channels.values())):
        loop(timeout=0.05, map=socket_map, count=1, use_poll=True)
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
    close_all(socket_map)


def _close_slow_requests(channels: dict[int, Any], started: dict[int, tuple[Any, float]], now: float,
                         limit: float) -> None:
    """Close each connection whose current request has been arriving for more than `limit` seconds.

    `channel.request` is waitress's parser of the request being received (None between requests); `started`
    remembers when each one was first seen.
    """
    for fileno, channel in list(channels.items()):
        partial = channel.request
        if partial is None:
            started.pop(fileno, None)
        elif fileno not in started or started[fileno][0] is not partial:
            started[fileno] = (partial, now)
        elif now - started[fileno][1] > limit:
            channel.will_close = True  # the loop closes it on its next turn
    for fileno in started.keys() - channels.keys():
        del started[fileno]
