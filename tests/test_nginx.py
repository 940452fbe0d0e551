"""contrib/nginx.conf serves the output folder exactly as feedd's own server does.

Both servers run for real on loopback ports over the same seed output: nginx with the contrib config (only
`listen` and `root` replaced) and `feedd serve` (waitress). Every published file is fetched from both and
the responses compared. Skipped where nginx is not installed, except in CI (`CI` set), where it must run.
"""

from __future__ import annotations

import gzip
import http.client
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

from feedd.pipeline import build
from tests.helpers import NOW, ROOT, SEEDS, make_config
from tests.push.peers import Peer, Request
from tests.running import Daemon, free_port, write_config

pytestmark = pytest.mark.slow

CONFIG = ROOT / "contrib" / "nginx.conf"
TIMEOUT = 5.0
COMPARED = ("Content-Type", "Cache-Control", "X-Content-Type-Options", "Vary", "Content-Encoding", "Allow",
            "Accept-Ranges", "Content-Range", "Link")
EXAMPLE_SITE = "https://feeds.example.org"  # the config's public address, in its Link header
EXAMPLE_UPSTREAM = "http://127.0.0.1:8080"  # where it proxies /websub (`feedd run`)
HIDDEN = (".hidden", "feeds/.secret.rss", ".index.html.x1y2z3.feedd-tmp")


def _nginx_binary() -> str:
    path = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    problem = None
    if path is None:
        problem = "nginx is not installed"
    else:
        version = subprocess.run([path, "-V"], capture_output=True, text=True, timeout=10)
        if "--with-http_gzip_static_module" not in version.stderr + version.stdout:
            problem = f"{path} was built without ngx_http_gzip_static_module"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem}; CI must run this test (.ci/run installs nginx)")
        pytest.skip(problem)
    return path


class HubStandIn(Peer):
    def answer(self, request: Request) -> tuple[int, bytes]:
        return 202, b"subscribe request accepted\n"


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class Server:
    def __init__(self, name: str, port: int) -> None:
        self.name, self.port = name, port

    def request(self, path: str, method: str = "GET", _body: str | None = None, **headers: str) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name.replace("_", "-"), value)
            conn.endheaders(_body.encode() if _body is not None else None)
            response = conn.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            conn.close()

    def raw(self, data: bytes) -> bytes:
        """Send bytes as they are (e.g. an HTTP/1.0 request) and read until the server closes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT) as sock:
            sock.sendall(data)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


def render_config(port: int, root: Path, work: Path, site: str = EXAMPLE_SITE, upstream: str = EXAMPLE_UPSTREAM
                  ) -> Path:
    """contrib/nginx.conf inside a main config that runs unprivileged, in the foreground, under `work`, with
    `site` as the public address its Link headers name and `upstream` where it proxies the WebSub hub."""
    server = CONFIG.read_text(encoding="utf-8")
    assert EXAMPLE_SITE in server and f"proxy_pass {EXAMPLE_UPSTREAM};" in server
    server = server.replace(EXAMPLE_SITE, site).replace(f"proxy_pass {EXAMPLE_UPSTREAM};", f"proxy_pass {upstream};")
    server, listens = re.subn(r"^(\s*)listen\s+[^;]+;", rf"\g<1>listen 127.0.0.1:{port};", server, flags=re.M)
    server, roots = re.subn(r"^(\s*)root\s+[^;]+;", lambda m: f'{m.group(1)}root "{root}";', server, flags=re.M)
    assert (listens, roots) == (1, 1), "contrib/nginx.conf must have exactly one listen and one root line"
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / name).mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    path = work / "nginx.conf"
    path.write_text(
        f"{user}daemon off;\nmaster_process off;\nworker_processes 1;\npid \"{work}/nginx.pid\";\n"
        f"error_log \"{work}/error.log\" warn;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n    access_log \"{work}/access.log\";\n"
        + "".join(f'    {name}_temp_path "{work}/{name}";\n' for name in ("fastcgi", "uwsgi", "scgi"))
        + f'    client_body_temp_path "{work}/body";\n    proxy_temp_path "{work}/proxy";\n'
        f"{server}}}\n",
        encoding="utf-8",
    )
    return path


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def nginx_binary() -> str:
    return _nginx_binary()


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory, nginx_binary: str) -> Path:
    """The seed build, plus hidden files neither server may serve."""
    base = tmp_path_factory.mktemp("nginx")
    articles = base / "articles"
    shutil.copytree(SEEDS, articles)
    public = base / "public"
    build(make_config(articles, public, feeds=[{"name": "old"}]), now=NOW)
    build(make_config(articles, public), now=NOW)  # `old` removed from the config: Gone
    for name in HIDDEN:
        (public / name).write_text("secret\n", encoding="utf-8")
    return public


@pytest.fixture(scope="module")
def upstream() -> Iterator[Peer]:
    """What nginx proxies POST /websub to: a recorder standing in for `feedd run`'s hub."""
    peer = HubStandIn()
    yield peer
    peer.close()


@pytest.fixture(scope="module")
def nginx(output: Path, nginx_binary: str, feedd: Server, upstream: Peer) -> Iterator[Server]:
    work = output.parent / "nginx"
    work.mkdir()
    for _attempt in range(3):  # free_port() can race with another process: retry on a new port
        port = free_port()
        config = render_config(port, output, work, site=f"http://127.0.0.1:{feedd.port}",
                               upstream=f"http://127.0.0.1:{upstream.port}")
        with open(work / "stderr.log", "wb") as stderr:
            proc = subprocess.Popen([nginx_binary, "-p", str(work), "-c", str(config), "-e", str(work / "error.log")],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 10
        while proc.poll() is None and not _listening(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is None and _listening(port):
            break
        proc.kill()
        proc.wait(timeout=10)
        log = (work / "error.log").read_text(errors="replace") if (work / "error.log").exists() else ""
        if "Address already in use" not in log:
            pytest.fail(f"nginx did not start:\n{log}{(work / 'stderr.log').read_text(errors='replace')}")
    else:
        pytest.fail("nginx could not bind a free port")
    try:
        yield Server("nginx", port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def feedd(output: Path) -> Iterator[Server]:
    """The real `feedd serve` (waitress) over the same folder, advertising the built-in hub as nginx does."""
    port = free_port()
    config = write_config(output.parent / "feedd.yaml", output.parent / "articles", port,
                          extra="websub:\n  builtin: true\n")
    daemon = Daemon(config, port, command="serve")
    try:
        yield Server("feedd", port)
    finally:
        daemon.stop()


@pytest.fixture(scope="module")
def servers(nginx: Server, feedd: Server) -> tuple[Server, Server]:
    return nginx, feedd


def published(output: Path) -> list[str]:
    """Every published file's URL path: no .gz siblings, nothing hidden."""
    return sorted(
        "/" + path.relative_to(output).as_posix() for path in output.rglob("*")
        if path.is_file() and path.suffix != ".gz"
        and not any(part.startswith(".") for part in path.relative_to(output).parts)
    )


def compare(servers: tuple[Server, Server], path: str, method: str = "GET", **headers: str) -> dict[str, Reply]:
    """The same request to both; asserts equal status, body and the headers feed readers rely on."""
    replies = {server.name: server.request(path, method, **headers) for server in servers}
    ours, theirs = replies["nginx"], replies["feedd"]
    where = f"{method} {path} {headers}"
    assert ours.status == theirs.status, where
    assert ours.body == theirs.body, where
    for name in COMPARED:
        assert ours.header(name) == theirs.header(name), f"{where}: {name}"
    return replies


def test_the_example_config_is_valid_as_shipped(nginx_binary: str, tmp_path: Path) -> None:
    """contrib/nginx.conf itself (with its example root) passes `nginx -t` inside an http block."""
    work = tmp_path / "work"
    work.mkdir()
    config = render_config(free_port(), tmp_path, work)
    result = subprocess.run([nginx_binary, "-t", "-p", str(work), "-c", str(config), "-e", str(work / "error.log")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_every_published_file_is_identical(servers, output: Path) -> None:
    paths = published(output)
    assert "/index.html" in paths and "/feeds.opml" in paths and len(paths) > 20
    for path in paths:
        data = (output / path[1:]).read_bytes()
        gz = output / (path[1:] + ".gz")
        replies = compare(servers, path)
        for reply in replies.values():
            assert reply.status == 200 and reply.body == data, path
            assert reply.header("Content-Encoding") is None, path
            assert reply.header("Vary") == ("Accept-Encoding" if gz.exists() else None), path
            assert reply.header("X-Content-Type-Options") == "nosniff"
            assert reply.header("Cache-Control") == "max-age=300"
            is_feed = path.startswith("/feeds/") and path.endswith((".rss", ".atom", ".json"))
            assert (reply.header("Link") is not None) == is_feed, path
        for server in servers:  # HEAD: the same headers, no body
            head = server.request(path, "HEAD")
            assert (head.status, head.body) == (200, b""), (server.name, path)
            assert head.header("Content-Type") == replies[server.name].header("Content-Type")
            assert head.header("ETag") == replies[server.name].header("ETag")
            assert head.header("Link") == replies[server.name].header("Link")


def test_content_types_are_feedd_s_byte_for_byte(servers) -> None:
    expected = {
        "/feeds/all.rss": "application/rss+xml; charset=utf-8",
        "/feeds/all.atom": "application/atom+xml; charset=utf-8",
        "/feeds/all.json": "application/feed+json",
        "/feeds.opml": "text/x-opml; charset=utf-8",
        "/feeds/all.html": "text/html; charset=utf-8",
        "/index.html": "text/html; charset=utf-8",
        "/": "text/html; charset=utf-8",
    }
    for path, content_type in expected.items():
        for reply in compare(servers, path).values():
            assert reply.header("Content-Type") == content_type, path


def test_gzip_siblings_are_served_identically(servers, output: Path) -> None:
    compressed = [path for path in published(output) if (output / (path[1:] + ".gz")).exists()]
    assert "/index.html" in compressed and "/feeds/all.rss" in compressed
    for path in compressed:
        data = (output / (path[1:] + ".gz")).read_bytes()
        for accept in ("gzip", "gzip, deflate, br", "deflate, gzip;q=0.5", "GZIP"):
            for reply in compare(servers, path, Accept_Encoding=accept).values():
                assert reply.header("Content-Encoding") == "gzip", (path, accept)
                assert reply.header("Vary") == "Accept-Encoding", path
                assert reply.body == data and gzip.decompress(reply.body) == (output / path[1:]).read_bytes()
        for accept in ("gzip;q=0", "identity", "deflate, br", "x-gzip"):
            for reply in compare(servers, path, Accept_Encoding=accept).values():
                assert reply.header("Content-Encoding") is None and reply.header("Vary") == "Accept-Encoding"


def test_gzip_behind_a_proxy_and_over_http_1_0(servers) -> None:
    """nginx's defaults refuse gzip to requests with Via or over HTTP/1.0; feedd does not, nor does the config."""
    compare(servers, "/feeds/all.rss", Accept_Encoding="gzip", Via="1.1 cache")
    for server in servers:
        assert server.request("/feeds/all.rss", Accept_Encoding="gzip", Via="1.1 cache") \
            .header("Content-Encoding") == "gzip"
        raw = server.raw(b"GET /feeds/all.rss HTTP/1.0\r\nHost: localhost\r\nAccept-Encoding: gzip\r\n\r\n")
        head = raw.split(b"\r\n\r\n", 1)[0].lower()
        assert b" 200 " in head.split(b"\r\n")[0] and b"content-encoding: gzip" in head, server.name


def test_a_gz_sibling_asked_for_by_name_is_an_octet_stream_on_both(servers, output: Path) -> None:
    for path in ("/feeds/all.rss.gz", "/index.html.gz"):
        for reply in compare(servers, path, Accept_Encoding="gzip").values():
            assert reply.status == 200 and reply.body == (output / path[1:]).read_bytes()
            assert reply.header("Content-Type") == "application/octet-stream"
            assert reply.header("Content-Encoding") is None and reply.header("Vary") is None


def test_range_is_ignored_by_both(servers, output: Path) -> None:
    for reply in compare(servers, "/feeds/all.rss", Range="bytes=0-9").values():
        assert reply.status == 200 and reply.body == (output / "feeds/all.rss").read_bytes()
        assert reply.header("Accept-Ranges") is None


def test_conditional_get_with_each_server_s_own_etag_is_304(servers, output: Path) -> None:
    for path in published(output):
        for server in servers:
            for extra in ({}, {"Accept_Encoding": "gzip"}):
                first = server.request(path, **extra)
                etag = first.header("ETag")
                assert etag and etag.startswith('"') and etag.endswith('"'), (server.name, path, etag)  # strong
                again = server.request(path, If_None_Match=etag, **extra)
                assert (again.status, again.body) == (304, b""), (server.name, path, extra)
                assert again.header("ETag") == etag and again.header("Cache-Control") == "max-age=300"
                assert again.header("Vary") == first.header("Vary")
                assert again.header("Link") == first.header("Link")
                for tag in (f"W/{etag}", f'"other", {etag}', "*"):  # weak comparison, lists, *
                    assert server.request(path, If_None_Match=tag, **extra).status == 304, (server.name, tag)
                assert server.request(path, If_None_Match='"other"', **extra).status == 200
                last_modified = first.header("Last-Modified")
                assert server.request(path, If_Modified_Since=last_modified, **extra).status == 304
                assert server.request(path, If_Modified_Since="Mon, 01 Jan 2035 00:00:00 GMT", **extra).status == 304
                assert server.request(path, If_Modified_Since="Mon, 01 Jan 2001 00:00:00 GMT", **extra).status == 200
                assert server.request(path, If_Modified_Since="not a date", **extra).status == 200


def test_the_gzip_etag_matches_only_the_gzip_variant(servers) -> None:
    for server in servers:
        etag = server.request("/feeds/all.rss", Accept_Encoding="gzip").header("ETag")
        assert server.request("/feeds/all.rss", If_None_Match=etag).status == 200, server.name
        assert server.request("/feeds/all.rss", If_None_Match=etag, Accept_Encoding="gzip").status == 304


@pytest.mark.parametrize("path", [
    "/nope", "/feeds/nope.rss", "/feeds", "/feeds/", "/feeds/topics/", "/index.html/", "/feeds//all.rss",
    "/feeds/../index.html", "/feeds/%2e%2e/index.html", "/feeds/%2E%2E/feeds.opml", "/./index.html",
    "/feeds/./all.rss", "/feeds\\all.rss", "/feeds%5Call.rss",
    "/.hidden", "/%2ehidden", "/feeds/.secret.rss", "/.index.html.x1y2z3.feedd-tmp", "/feeds/.", "/healthz/x",
    "/.gone/feeds/old.rss", "/feeds/old.rss.gz", "/feeds/old.rss/",
])
def test_missing_hidden_and_traversal_paths_are_404_on_both(servers, path: str) -> None:
    for reply in compare(servers, path).values():
        assert reply.status == 404, path
        assert reply.body == b"Not Found\n" and reply.header("Content-Type") == "text/plain; charset=utf-8"
        assert reply.header("X-Content-Type-Options") == "nosniff"
        assert b"secret" not in reply.body


@pytest.mark.parametrize("path", ["/feeds/old.rss", "/feeds/old.atom", "/feeds/old.json", "/feeds/old.html"])
def test_a_feed_removed_for_good_is_410_gone_on_both(servers, path: str) -> None:
    for method in ("GET", "HEAD"):
        for reply in compare(servers, path, method).values():
            assert reply.status == 410, (method, path)
            assert reply.header("Content-Type") == "text/plain; charset=utf-8"
            assert reply.header("X-Content-Type-Options") == "nosniff"
            assert reply.body == (b"Gone\n" if method == "GET" else b"")


def test_extra_leading_slashes_are_merged_by_both(servers, output: Path) -> None:
    for reply in compare(servers, "//feeds/all.rss").values():
        assert reply.status == 200 and reply.body == (output / "feeds/all.rss").read_bytes()


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
@pytest.mark.parametrize("path", ["/feeds/all.rss", "/", "/nope", "/.hidden"])
def test_other_methods_are_405_with_allow_on_both(servers, method: str, path: str) -> None:
    for reply in compare(servers, path, method).values():
        assert reply.status == 405 and reply.header("Allow") == "GET, HEAD"
        assert reply.body == b"Method Not Allowed\n"


def test_feeds_name_the_hub_and_themselves_in_link_headers(servers, feedd: Server) -> None:
    base = f"http://127.0.0.1:{feedd.port}"
    for path in ("/feeds/all.rss", "/feeds/topics/ai-hardware.json"):
        for reply in compare(servers, path, Accept_Encoding="gzip").values():
            assert reply.header("Link") == f'<{base}/websub>; rel="hub", <{base}{path}>; rel="self"'


def test_post_websub_is_proxied_to_feedd_s_hub(nginx: Server, upstream: Peer) -> None:
    form = "hub.mode=subscribe&hub.topic=x&hub.callback=https%3A%2F%2Freader.example%2Fcb"
    reply = nginx.request("/websub", "POST", Content_Type="application/x-www-form-urlencoded",
                          Content_Length=str(len(form)), _body=form)
    assert reply.status == 202 and reply.body == b"subscribe request accepted\n"
    assert reply.headers.get_all("X-Content-Type-Options") == ["nosniff"]
    request = upstream.received()[-1]
    assert (request.method, request.path, request.body) == ("POST", "/websub", form.encode())
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    too_big = "hub.secret=" + "x" * 70_000
    assert nginx.request("/websub", "POST", Content_Length=str(len(too_big)), _body=too_big).status == 413


@pytest.mark.parametrize("method, path", [("PUT", "/websub"), ("POST", "/websub/"), ("POST", "/feeds/websub"),
                                          ("POST", "/index.html")])
def test_only_post_to_websub_itself_is_let_through(servers, method: str, path: str) -> None:
    for reply in compare(servers, path, method).values():
        assert reply.status == 405 and reply.header("Allow") == "GET, HEAD"


# Documented differences (README, "Serving with nginx"): pinned so that the README stays true.

@pytest.mark.parametrize("path", ["/../etc/passwd", "/feeds/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                                  "/index.html%00"])
def test_a_path_climbing_above_the_root_or_with_nul_is_400_from_nginx_404_from_feedd(servers, path: str) -> None:
    nginx, feedd = servers
    assert nginx.request(path).status == 400
    assert feedd.request(path).status == 404


def test_etags_differ_in_form_but_both_are_strong(servers) -> None:
    nginx, feedd = servers
    assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', nginx.request("/feeds/all.rss").header("ETag"))
    assert re.fullmatch(r'"[0-9a-f]{32}"', feedd.request("/feeds/all.rss").header("ETag"))


def test_if_none_match_and_if_modified_since_together(servers) -> None:
    """RFC 9110 §13.1.3: If-Modified-Since is ignored when If-None-Match is present. feedd does; nginx needs
    both to match, so it answers 200 where feedd answers 304 (a full response, never a stale one)."""
    nginx, feedd = servers
    for server, expected in ((nginx, 200), (feedd, 304)):
        etag = server.request("/feeds/all.rss").header("ETag")
        reply = server.request("/feeds/all.rss", If_None_Match=etag, If_Modified_Since="Mon, 01 Jan 2001 00:00:00 GMT")
        assert reply.status == expected, server.name


def test_accept_encoding_star(servers) -> None:
    """`Accept-Encoding: *` gets gzip from feedd and identity from nginx; both are allowed."""
    nginx, feedd = servers
    assert nginx.request("/feeds/all.rss", Accept_Encoding="*").header("Content-Encoding") is None
    assert feedd.request("/feeds/all.rss", Accept_Encoding="*").header("Content-Encoding") == "gzip"


def test_operator_endpoints_are_feedd_s_alone(servers) -> None:
    nginx, feedd = servers
    for path in ("/healthz", "/metrics"):
        assert nginx.request(path).status == 404
        assert feedd.request(path).status == 200
