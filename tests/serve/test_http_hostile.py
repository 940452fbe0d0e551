"""Hostile HTTP against the production server (waitress under `feedd run`, or feedd.serve.wsgi.serve), over raw sockets.

Traversal in every spelling, huge URLs and headers, garbage validators, odd methods and bodies, slow and idle
clients, garbage request lines: each gets a short 4xx, a 304/200 that is right, or a closed connection, never
a 5xx or a file from outside the output folder, and the server goes on serving everyone else.
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedd.serve.app import create_app
from feedd.serve.wsgi import serve
from tests.helpers import SEEDS
from tests.running import Daemon, free_port, write_config

SECRET = b"TOP-SECRET-hostile-http-7d2e"
RSS = "/feeds/all.rss"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, Path]]:
    """`feedd run` over the sample articles, with a secret file right beside its output folder."""
    root = tmp_path_factory.mktemp("hostile")
    shutil.copytree(SEEDS, root / "articles")
    (root / "secret.txt").write_bytes(SECRET)
    port = free_port()
    daemon = Daemon(write_config(root / "feedd.yaml", root / "articles", port), port)
    try:
        yield daemon, root
    finally:
        daemon.stop()


@pytest.fixture(scope="module")
def port(site) -> int:
    return site[0].port


@pytest.fixture(scope="module")
def output(site) -> Path:
    return site[1] / "public"


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (a reset counts as a close)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes, return every byte of the answer; a server that neither answers nor closes fails."""
    with connect(port, timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-way: what was answered is still readable
        try:
            return read_all(sock)
        except TimeoutError:
            raise AssertionError(f"no answer and no close within {timeout}s for {data[:80]!r}") from None


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body) of one response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def get(port: int, target: str | bytes, *headers: bytes, method: bytes = b"GET") -> tuple[int, dict, bytes]:
    target = target.encode("latin-1") if isinstance(target, str) else target
    request = method + b" " + target + b" HTTP/1.1\r\nHost: localhost\r\n" + b"".join(
        h + b"\r\n" for h in headers) + b"Connection: close\r\n\r\n"
    return parse(exchange(port, request))


def assert_serving(port: int, output: Path, within: float = 1.0) -> None:
    """Another client is served, whole and quickly."""
    start = time.monotonic()
    status, _, body = get(port, RSS)
    assert status == 200 and body == (output / "feeds/all.rss").read_bytes()
    assert time.monotonic() - start < within


def test_the_harness_sees_real_files(port, output):
    status, headers, body = get(port, RSS)
    assert status == 200 and body == (output / "feeds/all.rss").read_bytes()
    assert headers["server"] == "feedd"


# --- traversal ----------------------------------------------------------------------------------------------

TRAVERSALS = [
    "/../secret.txt",
    "/./../secret.txt",
    "/feeds/../../secret.txt",
    "/.%2e/secret.txt",
    "/%2e%2e/secret.txt",
    "/%2e%2e%2fsecret.txt",
    "/%2E%2E%2Fsecret.txt",
    "/feeds/..%2f..%2fsecret.txt",
    "/feeds/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/..\\secret.txt",
    "/..%5csecret.txt",
    "/%5c..%5csecret.txt",
    "/feeds\\..\\..\\secret.txt",
    "/..;/secret.txt",
    "/%c0%ae%c0%ae/secret.txt",  # overlong UTF-8 "."
    "/%c0%ae%c0%ae%c0%afsecret.txt",  # overlong "./"
    "/%e0%80%ae%e0%80%ae/secret.txt",  # three-byte overlong "."
    "/%c1%9c..%c1%9csecret.txt",  # overlong "\"
    "/%u002e%u002e/secret.txt",  # IIS spelling
    "/%252e%252e/secret.txt",  # double encoding
    "/%00",
    "/%00/../secret.txt",
    "/secret.txt%00",
    "/feeds/all.rss%00.html",
    "/feeds/all.rss%00/../../secret.txt",
    "/" + "../" * 30 + "etc/passwd",
    "/" + "%2e%2e%2f" * 30 + "etc/passwd",
    "//etc/passwd",
    "/%2fetc%2fpasswd",
    "http://localhost/../secret.txt",  # absolute-form
    "http://localhost/%2e%2e/secret.txt",
    "http://localhost//etc/passwd",
]


def absolute_targets(root: Path) -> list[str]:
    secret = str(root / "secret.txt")
    return [secret, "/" + secret, secret.replace("/", "%2f"), "/%2f" + secret.lstrip("/"), "file://" + secret]


@pytest.mark.parametrize("target", TRAVERSALS)
@pytest.mark.parametrize("method", [b"GET", b"HEAD"])
def test_traversal_is_refused_and_leaks_nothing(port, output, target, method):
    for extra in ((), (b"Accept-Encoding: gzip",)):
        status, _, body = get(port, target, *extra, method=method)
        assert status in (400, 404), (target, status)
        assert SECRET not in body and b"root:" not in body
        assert len(body) < 200


def test_absolute_paths_are_refused_and_leak_nothing(site, port):
    _, root = site
    for target in absolute_targets(root):
        status, _, body = get(port, target)
        assert status in (400, 404), (target, status)
        assert SECRET not in body


def test_a_secret_beside_the_output_is_really_there(site):
    """The traversal tests are not vacuous: the file they aim at exists, one level above the output."""
    _, root = site
    assert (root / "public" / ".." / "secret.txt").read_bytes() == SECRET


# --- big URLs and headers -----------------------------------------------------------------------------------


def test_a_10kb_url_is_a_404(port, output):
    status, _, body = get(port, "/" + "a" * 10_000)
    assert status == 404 and len(body) < 100
    assert_serving(port, output)


def test_a_10kb_query_string_is_ignored(port, output):
    status, _, body = get(port, RSS + "?" + "x=" + "a" * 10_000)
    assert status == 200 and body == (output / "feeds/all.rss").read_bytes()


def test_a_10kb_header_is_served(port, output):
    status, _, body = get(port, RSS, b"X-Padding: " + b"a" * 10_000)
    assert status == 200 and body == (output / "feeds/all.rss").read_bytes()


def test_many_headers_are_served(port, output):
    status, _, body = get(port, RSS, *(b"X-H%d: %s" % (i, b"v" * 100) for i in range(200)))
    assert status == 200 and body == (output / "feeds/all.rss").read_bytes()


def test_headers_over_64kb_are_431(port, output):
    """waitress's own cap is 256 KB; feedd sets 64 KB (memory per connection, times 1000 connections)."""
    status, _, body = get(port, RSS, b"X-Padding: " + b"a" * 100_000)
    assert status == 431 and SECRET not in body
    assert_serving(port, output)


@pytest.mark.parametrize("shape", ["one header", "many headers", "request line"])
def test_a_megabyte_of_headers_is_refused_quickly(port, output, shape):
    megabyte = b"a" * 1_000_000
    request = {
        "one header": b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + megabyte + b"\r\n\r\n",
        "many headers": b"GET / HTTP/1.1\r\n" + b"X-Pad: 0123456789abcdef\r\n" * 40_000 + b"\r\n",
        "request line": b"GET /" + megabyte + b" HTTP/1.1\r\n\r\n",
    }[shape]
    start = time.monotonic()
    answer = exchange(port, request)
    assert time.monotonic() - start < 3
    if answer:  # refused with a status, or closed (reset) before the answer could be read
        assert parse(answer)[0] in (400, 414, 431)
    assert_serving(port, output)


# --- validators and ranges ----------------------------------------------------------------------------------

GARBAGE = [b"garbage", b"\xff\xfe\xfd\x80", "\u00e9t\u00e9 \u2603".encode(), b"a" * 10_000, b'"', b"W/", b",,,,",
           b'W/"unterminated', b"\x01\x02\x7f", b"*garbage", b"-1", b"9" * 400]
BAD_DATES = [b"Sun, 99 Foo 99999 99:99:99 GMT", b"Sat, 01 Jan 99999 00:00:00 GMT", b"Mon, 01 Jan 0000 00:00:00 GMT",
             b"99999999999999999999", b"Thu, 01 Jan 1970 00:00:00 +9999", b"yesterday"]
BAD_RANGES = [b"bytes=0-10", b"bytes=-1", b"bytes=10-5", b"bytes=99999999999999999999-", b"bytes=" + b"0-0," * 2000,
              b"lines=1-2", b"bytes=\xff-\xfe"]


@pytest.mark.parametrize("name", [b"If-None-Match", b"If-Modified-Since", b"Range", b"If-Range", b"If-Match",
                                  b"If-Unmodified-Since", b"Accept-Encoding"])
@pytest.mark.parametrize("value", GARBAGE + BAD_DATES + BAD_RANGES)
def test_garbage_validators_and_ranges_get_the_whole_file(port, output, name, value):
    """Garbage is ignored: a full 200 (no byte ranges, as nginx with max_ranges 0), never a 5xx or a 304.

    Control characters make the header invalid: waitress answers 400."""
    status, headers, body = get(port, RSS, name + b": " + value)
    if name == b"If-None-Match" and value.startswith(b"*"):  # read as "*", which matches any representation
        assert status in (200, 304)
        return
    if any(byte < 0x20 or byte == 0x7F for byte in value):  # a control character: not a valid field value
        assert status == 400
        return
    assert status == 200, (name, value, status)
    assert "content-range" not in headers
    expected = output / ("feeds/all.rss.gz" if headers.get("content-encoding") == "gzip" else "feeds/all.rss")
    assert body == expected.read_bytes()


def test_far_future_if_modified_since_is_304(port):
    status, headers, body = get(port, RSS, b"If-Modified-Since: Fri, 31 Dec 9999 23:59:59 GMT")
    assert status == 304 and body == b"" and headers["etag"]


def test_current_etag_among_garbage_is_304(port):
    etag = get(port, RSS)[1]["etag"].encode()
    status, headers, body = get(port, RSS, b'If-None-Match: \xff\xfe, "x", ' + etag + b", W/")
    assert status == 304 and body == b"" and headers["etag"].encode() == etag


# --- methods and bodies -------------------------------------------------------------------------------------

METHODS = [b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"TRACE", b"PROPFIND", b"MKCOL", b"FOO", b"X-Y!"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("target", ["/", RSS, "/nope", "/healthz", "*"])
def test_other_methods_are_405_with_allow(port, output, method, target):
    before = (output / "feeds/all.rss").read_bytes()
    for body in (b"", b"overwrite"):
        extra = (b"Content-Length: %d" % len(body), b"X-Secret: echo-me") if body else (b"X-Secret: echo-me",)
        request = (method + b" " + target.encode() + b" HTTP/1.1\r\nHost: x\r\n" + b"".join(h + b"\r\n" for h in extra)
                   + b"Connection: close\r\n\r\n" + body)
        status, headers, answer = parse(exchange(port, request))
        assert status == 405, (method, target, status)
        assert headers["allow"] == "GET, HEAD"
        assert b"echo-me" not in answer and len(answer) < 100  # TRACE echoes nothing
    assert (output / "feeds/all.rss").read_bytes() == before


def test_connect_is_405(port):
    status, headers, _ = parse(exchange(port, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
                                              b"Connection: close\r\n\r\n"))
    assert status == 405 and headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("method", [b"get", b"Get", b"head", b"post"])
def test_lowercase_methods_are_400(port, method):
    assert get(port, RSS, method=method)[0] == 400


def test_a_post_body_is_read_and_the_connection_stays_in_step(port, output):
    """A small body is consumed: the GET pipelined after it is answered, not read as part of the body."""
    with connect(port) as sock:
        sock.sendall(b"POST /feeds/all.rss HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                     b"GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = read_all(sock)
    first, _, rest = answer.partition(b"Method Not Allowed\n")
    assert first.startswith(b"HTTP/1.1 405")
    status, _, body = parse(rest)
    assert status == 200 and body == (output / "feeds/all.rss").read_bytes()


def test_a_large_declared_body_is_413_without_waiting_for_it(port, output):
    """waitress would otherwise wait for (and buffer to disk) up to 1 GB; feedd takes no body at all."""
    start = time.monotonic()
    answer = exchange(port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n", timeout=3)
    assert parse(answer)[0] == 413
    assert time.monotonic() - start < 2
    assert_serving(port, output)


@pytest.mark.slow
def test_a_large_body_announced_with_expect_100_continue_is_cut(embedded, output):
    """waitress answers `Expect: 100-continue` before it checks the length, then neither reads nor answers:
    the request deadline closes the connection (10 s in production)."""
    port = embedded(request_timeout=1.5)
    with connect(port) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\nExpect: 100-continue\r\n\r\n")
        sock.settimeout(5)
        start, answer = time.monotonic(), read_all(sock)
    assert answer in (b"HTTP/1.1 100 Continue\r\n\r\n", b"") or parse(answer)[0] == 413
    assert time.monotonic() - start < 3.5
    assert_serving(port, output)


def test_a_large_chunked_body_is_413(port, output):
    chunk = b"%x\r\n%s\r\n" % (16_384, b"a" * 16_384)
    answer = exchange(port, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 8)
    assert parse(answer)[0] == 413
    assert_serving(port, output)


def test_an_unknown_transfer_coding_is_501(port):
    answer = exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n")
    assert parse(answer)[0] == 501


# --- malformed requests -------------------------------------------------------------------------------------

MALFORMED = [
    b"GARBAGE\r\n\r\n",
    b"GET\r\n\r\n",
    b" / HTTP/1.1\r\n\r\n",
    b"GET  /  HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1 extra\r\n\r\n",
    b"GET / HTTP/1.1\rHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
    b"GET / HTTP/1.1\r\n: empty name\r\n\r\n",
    b"GET / HTTP/1.1\r\nHo st: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    b"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    b"GET /\x00 HTTP/1.1\r\nConnection: close\r\n\r\n",
    b"\x00" * 100 + b"\r\n\r\n",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(256)) + b"\r\n\r\n",  # a TLS ClientHello
    bytes(range(256)) * 4 + b"\r\n\r\n",
    b"\xff\xfe\xfd GET / HTTP/1.1\r\n\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",  # HTTP/2 prior knowledge
]


@pytest.mark.parametrize("request_bytes", MALFORMED)
def test_malformed_requests_are_400_or_closed(port, output, request_bytes):
    answer = exchange(port, request_bytes)
    if answer:
        status, _, body = parse(answer)
        assert status in (400, 404, 405), status  # 404: a NUL in the path; 405: "PRI *", an unknown method
        assert b"Traceback" not in body and len(body) < 200
    assert_serving(port, output)


@pytest.mark.parametrize("request_bytes", [b"GET /\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET / HTTP/0.9\r\n\r\n"])
def test_other_http_versions_get_an_http_1_0_answer(port, output, request_bytes):
    """waitress answers HTTP/0.9 and unknown versions as HTTP/1.0, then closes: no leak, nothing stalls."""
    answer = exchange(port, request_bytes)
    assert answer.startswith(b"HTTP/1.0 200 OK\r\n")
    assert parse(answer)[2] == (output / "index.html").read_bytes()
    assert_serving(port, output)


def test_garbage_after_a_good_request_on_the_same_connection(port, output):
    with connect(port) as sock:
        sock.sendall(b"GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\n\r\n\x16\x03\x01garbage\r\n\r\n")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200 OK") and b"HTTP/1.0 400 Bad Request" in answer
    assert_serving(port, output)


# --- slow and idle clients ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_slow_clients_sending_a_byte_a_second_do_not_stall_others(port, output):
    """50 clients dribble their headers a byte a second for 4 s; meanwhile every other request is quick."""
    request = b"GET /feeds/all.rss HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slow\r\n\r\n"
    slow = [connect(port) for _ in range(50)]
    stop = threading.Event()

    def dribble() -> None:
        for i in range(len(request)):
            for sock in slow:
                try:
                    sock.sendall(request[i:i + 1])
                except OSError:
                    pass
            if stop.wait(1.0):
                return

    sender = threading.Thread(target=dribble)
    sender.start()
    try:
        latencies = []
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            start = time.monotonic()
            assert_serving(port, output, within=1.0)
            latencies.append(time.monotonic() - start)
            time.sleep(0.1)
        assert len(latencies) >= 20 and max(latencies) < 0.5, latencies
    finally:
        stop.set()
        sender.join()
        for sock in slow:
            sock.close()


@pytest.mark.slow
def test_500_idle_connections_do_not_stop_new_clients(port, output):
    idle: list[socket.socket] = []
    try:
        for _ in range(500):
            idle.append(connect(port))
        idle[0].sendall(b"GET /feeds/all.rss HTTP/1.1\r\n")  # and one half-sent request
        time.sleep(0.2)
        for _ in range(10):
            assert_serving(port, output, within=1.0)
        # the idle connections are still usable: keep-alive, not dropped
        idle[-1].sendall(b"GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert parse(read_all(idle[-1]))[0] == 200
    finally:
        for sock in idle:
            sock.close()
    assert_serving(port, output)


@pytest.fixture
def embedded(output: Path) -> Iterator:
    """feedd.serve.wsgi.serve in a thread, with short timeouts: start(**kwargs) → port; stopped in teardown."""
    stops: list[tuple[threading.Event, threading.Thread]] = []

    def start(**kwargs) -> int:
        stop, ready, bound = threading.Event(), threading.Event(), []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                serve(create_app(output), "127.0.0.1", 0, 4, stop,
                      lambda host, real: (bound.append(real), ready.set()), grace=0.5, **kwargs)
            except BaseException as exc:  # reported by the test
                errors.append(exc)
                ready.set()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        stops.append((stop, thread))
        assert ready.wait(5) and bound, errors
        start.errors = errors
        return bound[0]

    yield start
    for stop, thread in stops:
        stop.set()
        thread.join(timeout=5)


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed this connection, or None if it still had not after `seconds`."""
    sock.settimeout(seconds)
    start = time.monotonic()
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - start


@pytest.mark.slow
def test_a_request_that_takes_too_long_to_arrive_is_dropped(embedded, output):
    """Slowloris: a byte a second keeps a connection active forever unless the whole request has a deadline."""
    port = embedded(request_timeout=1.5, channel_timeout=30)
    with connect(port) as slow, connect(port) as idle_keepalive:
        idle_keepalive.sendall(b"GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        request = b"GET /feeds/all.rss HTTP/1.1\r\nHost: localhost\r\nX-Slow: 1\r\n\r\n"
        start, closed = time.monotonic(), False
        for i in range(len(request)):
            try:
                slow.sendall(request[i:i + 1])
            except OSError:
                closed = True
                break
            if closed_within(slow, 0.5) is not None:
                closed = True
                break
        assert closed, "a request dribbled a byte every 0.5 s for its whole length was never cut"
        assert time.monotonic() - start < 4
        idle_keepalive.settimeout(0.5)  # a connection between requests is not "a slow request"
        assert idle_keepalive.recv(65536).startswith(b"HTTP/1.1 200 OK")
        assert closed_within(idle_keepalive, 1) is None
        assert_serving(port, output)


def test_an_idle_keepalive_connection_is_closed_after_the_channel_timeout(embedded, output):
    port = embedded(channel_timeout=1)
    with connect(port) as idle:
        elapsed = closed_within(idle, 5)
    assert elapsed is not None and elapsed < 3.5
    assert_serving(port, output)


def test_the_server_survives_file_descriptors_above_1024(embedded, output):
    """select() cannot watch a descriptor >= FD_SETSIZE (1024): with 1000 connections plus feedd's own files,
    the event loop would raise and serving would stop. feedd's loop uses poll()."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048:
        if hard != resource.RLIM_INFINITY and hard < 2048:
            pytest.skip(f"the file descriptor limit ({hard}) is below 2048")
        resource.setrlimit(resource.RLIMIT_NOFILE, (2048, hard))
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        port = embedded()
        for _ in range(3):
            assert_serving(port, output, within=2)
        assert not embedded.errors
    finally:
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
