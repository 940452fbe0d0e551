"""feedd/push/client.py: outbound requests with a deadline, to checked addresses only, never redirected."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from feedd.push.callbacks import CallbackPolicy, parse_url
from feedd.push.client import Client
from feedd.push.errors import AddressRefused, TransportError
from tests.push.peers import Peer, closed_port

LOOPBACK = CallbackPolicy(["127.0.0.0/8"])


@pytest.fixture
def peer():
    server = Peer()
    yield server
    server.close()


def test_a_post_arrives_with_its_headers_and_body(peer):
    client = Client(timeout=2, policy=LOOPBACK)
    try:
        reply = client.request("POST", parse_url(peer.url("/cb?x=1")), [("Content-Type", "text/plain")], b"bytes")
    finally:
        client.close()
    assert reply.status == 204
    (request,) = peer.received()
    assert (request.method, request.path, request.query, request.body) == ("POST", "/cb", {"x": "1"}, b"bytes")
    assert request.headers["host"] == f"127.0.0.1:{peer.port}"
    assert request.headers["content-type"] == "text/plain"
    assert request.headers["content-length"] == "5"
    assert request.headers["user-agent"].startswith("feedd")


def test_a_redirect_is_an_answer_never_followed(peer):
    peer.answer = lambda request: (302, b"") if request.path == "/from" else (200, b"reached")
    client = Client(timeout=2, policy=LOOPBACK)
    try:
        assert client.request("GET", parse_url(peer.url("/from"))).status == 302
    finally:
        client.close()
    assert [r.path for r in peer.received()] == ["/from"]


def test_a_dripping_server_cannot_hold_a_worker_past_the_deadline():
    """One byte every 0.1 s keeps every read timeout happy; the overall deadline still ends it."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            while not stop.wait(0.1):
                try:
                    conn.sendall(b"x")
                except OSError:
                    return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    client = Client(timeout=0.5, policy=LOOPBACK)
    started = time.monotonic()
    try:
        with pytest.raises(TransportError, match="within 0.5 s"):
            client.request("GET", parse_url(f"http://127.0.0.1:{listener.getsockname()[1]}/"))
    finally:
        elapsed = time.monotonic() - started
        stop.set()
        client.close()
        thread.join(timeout=2)
        listener.close()
    assert elapsed < 1.0


def test_a_closed_port_is_a_transport_error():
    client = Client(timeout=1, policy=LOOPBACK)
    try:
        with pytest.raises(TransportError, match="ConnectError"):
            client.request("GET", parse_url(f"http://127.0.0.1:{closed_port()}/"))
    finally:
        client.close()


def test_dns_rebinding_gains_nothing(peer, monkeypatch):
    """The name passed the subscription check (no DNS then); at connect time it resolves to loopback."""
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k:
                        real("127.0.0.1" if host == "rebind.test" else host, port, *a, **k))
    strict = CallbackPolicy()
    target = strict.check_url(f"http://rebind.test:{peer.port}/cb")  # accepted: a name
    client = Client(timeout=1, policy=strict)
    try:
        with pytest.raises(AddressRefused, match="loopback") as info:
            client.request("POST", target, body=b"secret")
    finally:
        client.close()
    assert info.value.url == f"http://rebind.test:{peer.port}/cb"
    assert peer.received() == []  # no byte reached it


def test_a_name_that_does_not_resolve_is_a_transport_error_worth_a_retry(monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    client = Client(timeout=1, policy=CallbackPolicy())
    try:
        with pytest.raises(TransportError, match="cannot resolve nowhere.test: Name or service not known"):
            client.request("GET", parse_url("https://nowhere.test/cb"))
    finally:
        client.close()


def test_without_a_policy_any_address_is_reached(peer):
    """Pings go to hubs the operator configured, which may well be on the intranet."""
    client = Client(timeout=1)
    try:
        assert client.request("GET", parse_url(peer.url("/"))).status == 204
    finally:
        client.close()


def test_only_the_bytes_asked_for_are_read(peer):
    peer.answer = lambda request: (200, b"a" * 100_000)
    client = Client(timeout=2, policy=LOOPBACK)
    try:
        assert client.request("GET", parse_url(peer.url("/")), read=10).body == b"a" * 10
    finally:
        client.close()
