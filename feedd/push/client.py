"""Outbound HTTP for pings, verifications and deliveries. The only httpcore importer.

httpcore (the engine under httpx) because its network backend is public API: the guard sits exactly where
the TCP connection is made, so the address connected to is the address the policy checked (no window for
DNS rebinding), while TLS still sends the host name (SNI) and verifies the certificate against it. It never
follows a redirect, which WebSub wants anyway (§5.3.1, §7: a 3xx from a callback is a failure), so no
redirect can lead to a refused address. It reads no proxy settings from the environment.

Every request has one overall deadline (`websub.timeout`), not only per-read timeouts: a server that
drips one byte every few seconds cannot hold a worker for longer than that.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, NamedTuple

import httpcore

from feedd.push.callbacks import CallbackPolicy, Target
from feedd.push.errors import CallbackRefused, TransportError

USER_AGENT = "feedd (WebSub)"
READ_LIMIT = 64 * 1024  # bytes of a response body kept; the rest is never read
_deadline = threading.local()  # the current request's deadline, per worker thread


class Reply(NamedTuple):
    status: int
    body: bytes  # at most the `read` bytes asked for


def _remaining(timeout: float | None, kind: type[Exception]) -> float | None:
    """The smaller of httpcore's per-step timeout and what is left of the request's deadline."""
    deadline = getattr(_deadline, "value", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise kind("the request took longer than websub.timeout")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    """A connection whose reads and writes end at the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _remaining(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _remaining(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        tls = self.inner.start_tls(ssl_context, server_hostname, _remaining(timeout, httpcore.ConnectTimeout))
        return _Stream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    """Opens TCP connections only to addresses the policy accepts (any address without a policy)."""

    def __init__(self, policy: CallbackPolicy | None) -> None:
        self.policy = policy
        self.inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        addresses = [host] if self.policy is None else self.policy.resolve(host, port)
        failure: Exception | None = None
        for address in addresses:  # each one checked: the connection goes to one of these, never a new lookup
            try:
                stream = self.inner.connect_tcp(address, port, _remaining(timeout, httpcore.ConnectTimeout),
                                                local_address, socket_options)
                return _Stream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class Client:
    """A pool of HTTP/1.1 connections with a deadline on every request; thread-safe.

    With a policy (the built-in hub's callbacks) every connection is checked by it; without one (pings to
    hubs the operator configured) any address is reached.
    """

    def __init__(self, *, timeout: float, policy: CallbackPolicy | None = None, connections: int = 8) -> None:
        self.timeout = timeout
        self._pool = httpcore.ConnectionPool(network_backend=_Backend(policy), max_connections=connections,
                                             max_keepalive_connections=connections, keepalive_expiry=30.0,
                                             http1=True, http2=False, retries=0)

    def request(self, method: str, to: Target, headers: list[tuple[str, str]] | None = None, body: bytes = b"",
                read: int = READ_LIMIT) -> Reply:
        """Send one request; TransportError when no HTTP answer came, CallbackRefused when the policy says no."""
        url = httpcore.URL(scheme=to.scheme, host=to.host, port=to.port, target=to.target)
        sent = [("Host", to.host_header), ("User-Agent", USER_AGENT), *(headers or [])]
        timeouts = {"connect": self.timeout, "read": self.timeout, "write": self.timeout, "pool": self.timeout}
        _deadline.value = time.monotonic() + self.timeout
        try:
            with self._pool.stream(method, url, headers=sent, content=body if method != "GET" else None,
                                   extensions={"timeout": timeouts}) as response:
                data = b""
                if read:
                    for chunk in response.iter_stream():
                        data += chunk
                        if len(data) >= read:  # the rest is never read: the connection is closed, not reused
                            break
                return Reply(response.status, data[:read])
        except CallbackRefused as exc:  # raised at connect time, naming the host: name the URL
            raise type(exc)(to.url, exc.reason) from None
        except httpcore.TimeoutException as exc:
            raise TransportError(to.url, f"no complete answer within {self.timeout:g} s ({exc})") from None
        except socket.gaierror as exc:  # from the policy's lookup: perhaps temporary, so retried
            raise TransportError(to.url, f"cannot resolve {to.host}: {exc.strerror or exc}") from None
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, OSError) as exc:
            raise TransportError(to.url, f"{type(exc).__name__}: {exc}") from None
        finally:
            _deadline.value = None

    def close(self) -> None:
        self._pool.close()
