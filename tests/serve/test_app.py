"""SERVE: what a feed reader (or a person with curl) sees from the Flask app over a real built output folder."""

from __future__ import annotations

import gzip
import json
import os
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.http import parse_date
from werkzeug.test import EnvironBuilder, run_wsgi_app

from feedd.config import Server
from feedd.pipeline import build
from feedd.serve.app import create_app
from feedd.serve.metrics import CONTENT_TYPE as METRICS_TYPE
from feedd.serve.metrics import Metrics
from tests.helpers import NOW, make_config

SECRET = "TOP-SECRET-do-not-serve-4f1c"
RSS = "/feeds/all.rss"

TYPES = {
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".json": "application/feed+json",
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


@pytest.fixture
def output(seeds_dir: Path, tmp_path: Path) -> Path:
    """A real output folder built from the seeds, with a secret file right next to it."""
    folder = tmp_path / "public"
    report = build(make_config(seeds_dir, folder), now=NOW)
    assert report.ok
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    return folder


@pytest.fixture
def client(output: Path):
    return create_app(output).test_client()


def published(output: Path) -> list[str]:
    """Every output file a reader may fetch (the .gz siblings are an encoding, not a resource)."""
    return sorted(p.relative_to(output).as_posix() for p in output.rglob("*")
                  if p.is_file() and not p.name.endswith(".gz"))


def replace(path: Path, data: bytes, mtime_ns: int | None = None) -> None:
    """Publish new bytes the way feedd does: a new file renamed over the old one."""
    temp = path.with_name("." + path.name + ".test-tmp")
    temp.write_bytes(data)
    if mtime_ns is not None:
        os.utime(temp, ns=(mtime_ns, mtime_ns))
    os.replace(temp, path)


def age(path: Path, seconds: int) -> None:
    """Move a file's mtime into the past."""
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns - seconds * 10**9))


def raw(app, path_info: str, method: str = "GET", **headers):
    """Call the WSGI app with PATH_INFO exactly as given: no client-side quoting or normalisation."""
    environ = EnvironBuilder(path="/", method=method, headers=headers).get_environ()
    environ["PATH_INFO"] = path_info
    environ["RAW_URI"] = environ["REQUEST_URI"] = path_info
    app_iter, status, response_headers = run_wsgi_app(app.wsgi_app, environ, buffered=True)
    body = b"".join(app_iter)
    return int(status.split()[0]), response_headers, body


# --- every file at its URL, with the right headers --------------------------------------------------


def test_every_output_file_is_served_at_its_url_with_its_bytes(output, client):
    files = published(output)
    assert "index.html" in files and "feeds.opml" in files and "feeds/all.rss" in files
    for rel in files:
        response = client.get("/" + rel)
        assert response.status_code == 200, rel
        assert response.data == (output / rel).read_bytes(), rel
        assert "Content-Encoding" not in response.headers


def test_root_serves_the_index_page(output, client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.data == (output / "index.html").read_bytes()
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["ETag"] == client.get("/index.html").headers["ETag"]


def test_index_html_is_served_at_its_own_url_not_redirected(output, client):
    response = client.get("/index.html")
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert response.data == (output / "index.html").read_bytes()
    assert client.head("/index.html").status_code == 200


def test_content_types_are_exact(output, client):
    seen = set()
    for rel in published(output):
        suffix = Path(rel).suffix
        response = client.get("/" + rel)
        assert response.headers["Content-Type"] == TYPES[suffix], rel
        seen.add(suffix)
    assert seen == set(TYPES)


def test_nosniff_and_default_cache_control_on_files(output, client):
    for rel in published(output):
        response = client.get("/" + rel)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "max-age=300"


def test_nosniff_on_errors_and_endpoints(client):
    for path in ("/nope.rss", "/healthz", "/metrics"):
        assert client.get(path).headers["X-Content-Type-Options"] == "nosniff", path
    assert client.post(RSS).headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("max_age", [0, 60, 86400])
def test_cache_max_age_is_honoured(output, max_age):
    client = create_app(output, Server(cache_max_age=max_age)).test_client()
    etag = client.get(RSS).headers["ETag"]
    for response in (client.get(RSS), client.head(RSS), client.get(RSS, headers={"If-None-Match": etag}),
                     client.get(RSS, headers={"Accept-Encoding": "gzip"})):
        assert response.headers["Cache-Control"] == f"max-age={max_age}"


# --- validators -------------------------------------------------------------------------------------


def test_etag_is_strong_and_quoted(output, client):
    for rel in published(output):
        etag = client.get("/" + rel).headers["ETag"]
        assert not etag.startswith("W/")
        assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
        assert '"' not in etag[1:-1]


def test_etag_is_equal_for_equal_bytes_and_differs_otherwise(output, client):
    etags = {rel: client.get("/" + rel).headers["ETag"] for rel in published(output)}
    assert client.get(RSS).headers["ETag"] == etags["feeds/all.rss"]  # stable across requests
    by_bytes: dict[bytes, set[str]] = {}
    for rel, etag in etags.items():
        by_bytes.setdefault((output / rel).read_bytes(), set()).add(etag)
    assert all(len(tags) == 1 for tags in by_bytes.values())  # equal bytes, equal ETag
    assert len(set(etags.values())) == len(by_bytes)  # different bytes, different ETag

    copy = output / "feeds" / "copy-of-all.rss"
    copy.write_bytes((output / "feeds/all.rss").read_bytes())
    assert client.get("/feeds/copy-of-all.rss").headers["ETag"] == etags["feeds/all.rss"]


def test_etag_changes_when_the_bytes_change(output, client):
    before = client.get(RSS).headers["ETag"]
    replace(output / "feeds/all.rss", (output / "feeds/all.rss").read_bytes() + b"\n")
    assert client.get(RSS).headers["ETag"] != before


def test_validators_on_200_304_and_head(client):
    ok = client.get(RSS)
    assert ok.status_code == 200
    etag, modified = ok.headers["ETag"], ok.headers["Last-Modified"]
    assert parse_date(modified) is not None
    not_modified = client.get(RSS, headers={"If-None-Match": etag})
    head = client.head(RSS)
    assert not_modified.status_code == 304 and head.status_code == 200
    for response in (not_modified, head):
        assert response.headers["ETag"] == etag
        assert response.headers["Last-Modified"] == modified


def test_last_modified_follows_the_file(output, client):
    path = output / "feeds/all.rss"
    os.utime(path, (NOW.timestamp(), NOW.timestamp()))
    replace(path, path.read_bytes() + b"\n", mtime_ns=int(NOW.timestamp()) * 10**9)
    assert client.get(RSS).headers["Last-Modified"] == format_datetime(NOW, usegmt=True)


# --- conditional requests ---------------------------------------------------------------------------


def conditional(client, **headers):
    response = client.get(RSS, headers=headers)
    return response.status_code, response


def test_if_none_match_with_the_etag_is_304_with_an_empty_body(client):
    etag = client.get(RSS).headers["ETag"]
    status, response = conditional(client, **{"If-None-Match": etag})
    assert status == 304
    assert response.data == b""
    assert "Content-Length" not in response.headers or response.headers["Content-Length"] == "0"


def test_if_none_match_uses_weak_comparison(client):
    etag = client.get(RSS).headers["ETag"]
    assert conditional(client, **{"If-None-Match": "W/" + etag})[0] == 304


def test_if_none_match_star_is_304(client):
    assert conditional(client, **{"If-None-Match": "*"})[0] == 304


def test_if_none_match_list_containing_the_etag_is_304(client):
    etag = client.get(RSS).headers["ETag"]
    assert conditional(client, **{"If-None-Match": f'"nope", W/"other", {etag}, "last"'})[0] == 304
    assert conditional(client, **{"If-None-Match": '"nope", W/"other"'})[0] == 200


def test_if_none_match_of_another_file_is_200(client):
    other = client.get("/feeds/all.atom").headers["ETag"]
    status, response = conditional(client, **{"If-None-Match": other})
    assert status == 200 and response.data


def test_if_none_match_takes_precedence_over_if_modified_since(client):
    modified = client.get(RSS).headers["Last-Modified"]
    status, response = conditional(client, **{"If-None-Match": '"stale"', "If-Modified-Since": modified})
    assert status == 200
    assert response.data


def test_if_modified_since_equal_or_later_is_304(client):
    modified = client.get(RSS).headers["Last-Modified"]
    later = format_datetime(parse_date(modified) + timedelta(hours=1), usegmt=True)
    for since in (modified, later):
        status, response = conditional(client, **{"If-Modified-Since": since})
        assert status == 304, since
        assert response.data == b""


def test_if_modified_since_earlier_is_200(client):
    modified = client.get(RSS).headers["Last-Modified"]
    earlier = format_datetime(parse_date(modified) - timedelta(seconds=1), usegmt=True)
    status, response = conditional(client, **{"If-Modified-Since": earlier})
    assert status == 200 and response.data


@pytest.mark.parametrize("since", ["not a date", "", "2026-11-22", "Sun, 99 Nov 2026 99:99:99 GMT"])
def test_invalid_if_modified_since_is_ignored(client, since):
    status, response = conditional(client, **{"If-Modified-Since": since})
    assert status == 200 and response.data


# --- gzip -------------------------------------------------------------------------------------------


def test_gzip_when_accepted(output, client):
    identity = client.get(RSS)
    compressed = client.get(RSS, headers={"Accept-Encoding": "gzip"})
    assert compressed.status_code == 200
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert compressed.headers["Content-Type"] == identity.headers["Content-Type"]
    assert gzip.decompress(compressed.data) == identity.data == (output / "feeds/all.rss").read_bytes()
    assert compressed.headers["ETag"] != identity.headers["ETag"]
    assert not compressed.headers["ETag"].startswith("W/")
    assert int(compressed.headers["Content-Length"]) == len(compressed.data)


def test_gzip_for_every_compressible_file(output, client):
    for rel in published(output):
        response = client.get("/" + rel, headers={"Accept-Encoding": "br, gzip;q=0.8, deflate"})
        assert response.headers.get("Content-Encoding") == "gzip", rel
        assert gzip.decompress(response.data) == (output / rel).read_bytes(), rel


@pytest.mark.parametrize("accept", [None, "gzip;q=0", "identity", "br", "deflate"])
def test_no_gzip_unless_accepted(output, client, accept):
    headers = {"Accept-Encoding": accept} if accept is not None else {}
    response = client.get(RSS, headers=headers)
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.data == (output / "feeds/all.rss").read_bytes()
    assert response.headers["Vary"] == "Accept-Encoding"


def test_vary_on_every_response_of_a_compressible_resource(client):
    gz = {"Accept-Encoding": "gzip"}
    identity_etag = client.get(RSS).headers["ETag"]
    gzip_etag = client.get(RSS, headers=gz).headers["ETag"]
    responses = {
        "200 identity": client.get(RSS),
        "200 gzip": client.get(RSS, headers=gz),
        "304 identity": client.get(RSS, headers={"If-None-Match": identity_etag}),
        "304 gzip": client.get(RSS, headers={**gz, "If-None-Match": gzip_etag}),
        "HEAD identity": client.head(RSS),
        "HEAD gzip": client.head(RSS, headers=gz),
    }
    assert responses["304 identity"].status_code == responses["304 gzip"].status_code == 304
    for name, response in responses.items():
        assert response.headers.get("Vary") == "Accept-Encoding", name


def test_gzip_etag_gives_304_only_when_gzip_is_accepted(client):
    gzip_etag = client.get(RSS, headers={"Accept-Encoding": "gzip"}).headers["ETag"]
    identity_etag = client.get(RSS).headers["ETag"]
    assert client.get(RSS, headers={"Accept-Encoding": "gzip", "If-None-Match": gzip_etag}).status_code == 304
    plain = client.get(RSS, headers={"If-None-Match": gzip_etag})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers and plain.data
    refused = client.get(RSS, headers={"Accept-Encoding": "gzip;q=0", "If-None-Match": gzip_etag})
    assert refused.status_code == 200 and "Content-Encoding" not in refused.headers
    # and the identity ETag does not validate the gzip representation
    zipped = client.get(RSS, headers={"Accept-Encoding": "gzip", "If-None-Match": identity_etag})
    assert zipped.status_code == 200 and zipped.headers["Content-Encoding"] == "gzip"


def test_stale_gz_sibling_is_not_served(output, client):
    path = output / "feeds/all.rss"
    assert client.get(RSS, headers={"Accept-Encoding": "gzip"}).headers["Content-Encoding"] == "gzip"
    new = path.read_bytes().replace(b"</channel>", b"<!-- new --></channel>")
    replace(path, new)
    age(output / "feeds/all.rss.gz", 60)  # the sibling now predates the file
    response = client.get(RSS, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.data == new


def test_stale_gz_sibling_is_not_served_by_a_fresh_app(output):
    path = output / "feeds/all.rss"
    old_gz = (output / "feeds/all.rss.gz").read_bytes()
    new = path.read_bytes() + b"\n<!-- rebuilt -->\n"
    replace(path, new)
    age(output / "feeds/all.rss.gz", 60)
    response = create_app(output).test_client().get(RSS, headers={"Accept-Encoding": "gzip"})
    assert response.data == new and response.data != old_gz
    assert "Content-Encoding" not in response.headers


def test_a_file_without_a_gz_sibling_has_no_vary(output, client):
    (output / "feeds/extra.rss").write_bytes(b"<rss version='2.0'/>\n")
    response = client.get("/feeds/extra.rss", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers and "Vary" not in response.headers
    assert response.data == b"<rss version='2.0'/>\n"


# --- HEAD ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Accept-Encoding": "gzip"}], ids=["identity", "gzip"])
def test_head_is_get_without_the_body(output, client, headers):
    for rel in ("", "index.html", "feeds/all.rss", "feeds/all.atom", "feeds/all.json", "feeds.opml"):
        get, head = client.get("/" + rel, headers=headers), client.head("/" + rel, headers=headers)
        assert head.status_code == get.status_code == 200
        assert head.data == b""
        for name in ("Content-Length", "ETag", "Content-Type", "Last-Modified", "Cache-Control", "Vary",
                     "Content-Encoding", "X-Content-Type-Options"):
            assert head.headers.get(name) == get.headers.get(name), (rel, name)
        assert int(head.headers["Content-Length"]) == len(get.data)


def test_head_conditional_and_missing(client):
    etag = client.get(RSS).headers["ETag"]
    head = client.head(RSS, headers={"If-None-Match": etag})
    assert head.status_code == 304 and head.data == b"" and head.headers["ETag"] == etag
    assert client.head("/nope.rss").status_code == 404


# --- methods ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
@pytest.mark.parametrize("path", ["/", RSS, "/index.html", "/healthz", "/metrics"])
def test_other_methods_are_405_with_allow(output, client, method, path):
    before = (output / "feeds/all.rss").read_bytes()
    response = client.open(path, method=method, data=b"overwrite")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"
    assert b"Traceback" not in response.data and len(response.data) < 200
    assert (output / "feeds/all.rss").read_bytes() == before


# --- 404s and confinement -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/nope.rss", "/feeds/nope.rss", "/feeds", "/feeds/", "/feeds/topics",
                                  "/index.html/", "/feeds/all.rss/", "/feeds/all.rss/x", "/feeds/topics/ai.rss/"])
def test_unknown_paths_are_404_with_a_short_body(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert 0 < len(response.data) < 100
    assert b"Traceback" not in response.data


TRAVERSALS = [
    "/../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/feeds/..%2f..%2fsecret.txt",
    "/feeds/%2e%2e/%2e%2e/secret.txt",
    "/feeds/topics/../../../secret.txt",
    "/feeds/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "//etc/passwd",
    "/%2fetc%2fpasswd",
    "///etc/passwd",
    "/..\\secret.txt",
    "/%5c..%5csecret.txt",
    "/..%5csecret.txt",
    "/feeds\\..\\..\\secret.txt",
    "/%00",
    "/feeds/all.rss%00.html",
    "/secret.txt%00",
    "/..%00/secret.txt",
    "/%252e%252e/secret.txt",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_through_the_client_is_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert SECRET.encode() not in response.data
    assert b"root:" not in response.data


# Decoded spellings, handed to the app as PATH_INFO with nothing in between.
RAW_TRAVERSALS = [
    "/../secret.txt",
    "/feeds/../../secret.txt",
    "/feeds/topics/../../../secret.txt",
    "/./../secret.txt",
    "/..",
    "/../",
    "//etc/passwd",
    "/etc/passwd",
    "/..\\secret.txt",
    "\\..\\secret.txt",
    "/feeds\\..\\..\\secret.txt",
    "/\\..\\secret.txt",
    "/\x00",
    "/feeds/all.rss\x00.html",
    "/../secret.txt\x00",
    "/" + "../" * 30 + "etc/passwd",
    "/feeds/" + "..%2f" * 3 + "secret.txt",
]


@pytest.mark.parametrize("path_info", RAW_TRAVERSALS)
def test_traversal_in_raw_path_info_is_404(output, path_info):
    app = create_app(output)
    for method in ("GET", "HEAD"):
        status, _, body = raw(app, path_info, method)
        assert status == 404, (path_info, method)
        assert SECRET.encode() not in body and b"root:" not in body


def test_secret_never_leaks_in_any_response(output):
    """Belt and braces: every spelling, both ways, with and without gzip; no body has the secret."""
    app = create_app(output)
    client = app.test_client()
    bodies = []
    for path in TRAVERSALS:
        for headers in ({}, {"Accept-Encoding": "gzip"}):
            bodies.append(client.get(path, headers=headers).data)
    for path_info in RAW_TRAVERSALS:
        bodies.append(raw(app, path_info, **{"Accept-Encoding": "gzip"})[2])
    for body in bodies:
        assert SECRET.encode() not in body
        assert SECRET.encode() not in _gunzip_or_self(body)


def _gunzip_or_self(data: bytes) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError):
        return data


def test_raw_path_info_serves_a_real_file(output):
    """The raw helper is not 404ing everything: a legitimate PATH_INFO is served."""
    status, headers, body = raw(create_app(output), "/feeds/all.rss")
    assert status == 200 and body == (output / "feeds/all.rss").read_bytes()


@pytest.mark.parametrize("rel", [".hidden", "feeds/.hidden", ".git/config", "feeds/.all.rss.abc123.feedd-tmp",
                                 ".index.html.x1y2.feedd-tmp", ".x.feedd-tmp"])
def test_dotfiles_and_temp_files_are_404(output, client, rel):
    path = output / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SECRET, encoding="utf-8")
    for spelling in ("/" + rel, "/" + rel.replace(".", "%2e")):
        response = client.get(spelling)
        assert response.status_code == 404, spelling
        assert SECRET.encode() not in response.data
    status, _, body = raw(create_app(output), "/" + rel)
    assert status == 404 and SECRET.encode() not in body


# --- no traceback -----------------------------------------------------------------------------------


def test_a_failing_health_check_is_a_short_500(output):
    def broken():
        raise RuntimeError("database password is hunter2")

    client = create_app(output, health=broken).test_client()
    response = client.get("/healthz")
    assert response.status_code == 500
    assert len(response.data) < 100
    assert b"Traceback" not in response.data
    assert b"hunter2" not in response.data and b"RuntimeError" not in response.data
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # the app keeps serving afterwards
    assert client.get(RSS).status_code == 200


# --- freshness: the in-memory cache ---------------------------------------------------------------


def test_a_replaced_file_is_served_fresh(output, client):
    path = output / "feeds/all.rss"
    first = client.get(RSS)
    new = first.data.replace(b"</channel>", b"<!-- second --></channel>")
    replace(path, new)
    second = client.get(RSS)
    assert second.data == new
    assert second.headers["ETag"] != first.headers["ETag"]
    # the old ETag no longer validates, the new one does
    assert client.get(RSS, headers={"If-None-Match": first.headers["ETag"]}).status_code == 200
    assert client.get(RSS, headers={"If-None-Match": second.headers["ETag"]}).status_code == 304


def test_a_replaced_file_with_the_same_size_and_mtime_is_served_fresh(output, client):
    """Only the inode differs: the cache must key on it too."""
    path = output / "feeds/all.rss"
    first = client.get(RSS)
    info = path.stat()
    new = first.data.replace(b"<rss", b"<RSS", 1).replace(b"</rss>", b"</RSS>")
    assert len(new) == len(first.data) and new != first.data
    replace(path, new, mtime_ns=info.st_mtime_ns)
    assert path.stat().st_mtime_ns == info.st_mtime_ns and path.stat().st_size == info.st_size
    second = client.get(RSS)
    assert second.data == new
    assert second.headers["ETag"] != first.headers["ETag"]


def test_a_file_rewritten_in_place_is_served_fresh(output, client):
    path = output / "feeds/all.rss"
    first = client.get(RSS)
    path.write_bytes(first.data + b"<!-- appended -->\n")
    second = client.get(RSS)
    assert second.data == first.data + b"<!-- appended -->\n"
    assert second.headers["ETag"] != first.headers["ETag"]


def test_a_new_file_is_served_without_a_new_app(output, client):
    assert client.get("/feeds/topics/new.rss").status_code == 404
    (output / "feeds/topics/new.rss").write_bytes(b"<rss version='2.0'><channel/></rss>\n")
    response = client.get("/feeds/topics/new.rss")
    assert response.status_code == 200
    assert response.data == b"<rss version='2.0'><channel/></rss>\n"
    assert response.headers["Content-Type"] == "application/rss+xml; charset=utf-8"


def test_a_deleted_file_is_404(output, client):
    assert client.get(RSS).status_code == 200
    (output / "feeds/all.rss").unlink()
    (output / "feeds/all.rss.gz").unlink()
    for headers in ({}, {"Accept-Encoding": "gzip"}):
        assert client.get(RSS, headers=headers).status_code == 404
    assert client.head(RSS).status_code == 404


def test_a_deleted_file_is_404_even_with_its_gz_left_behind(output, client):
    assert client.get(RSS, headers={"Accept-Encoding": "gzip"}).status_code == 200
    (output / "feeds/all.rss").unlink()
    assert client.get(RSS, headers={"Accept-Encoding": "gzip"}).status_code == 404


def test_a_rebuild_is_served_without_a_new_app(seeds_dir, output, client):
    """A real second build (one article dropped) is what a replica sees next."""
    before = client.get(RSS)
    for path in seeds_dir.iterdir():
        if path.suffix == ".md" and b"published: true" in path.read_bytes():
            path.unlink()
    build(make_config(seeds_dir, output), now=NOW)
    after = client.get(RSS)
    if after.data != before.data:
        assert after.headers["ETag"] != before.headers["ETag"]
    assert after.data == (output / "feeds/all.rss").read_bytes()
    zipped = client.get(RSS, headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(zipped.data) == after.data


# --- /healthz -----------------------------------------------------------------------------------------


def test_healthz_ok_when_the_index_exists(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.get_json()["status"] == "ok"
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_unavailable_on_an_empty_folder(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    response = create_app(empty).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


def test_healthz_unavailable_when_the_index_disappears(output, client):
    (output / "index.html").unlink()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


def test_healthz_with_a_custom_check(output):
    client = create_app(output, health=lambda: ({"x": 1}, False)).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    body = json.loads(response.data)
    assert body["status"] == "unavailable"
    assert body["x"] == 1


def test_healthz_custom_check_healthy_with_dates(output):
    client = create_app(output, health=lambda: ({"last_build": NOW}, True)).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "last_build": NOW.isoformat()}


def test_healthz_head(client):
    response = client.head("/healthz")
    assert response.status_code == 200 and response.data == b""


# --- /metrics -------------------------------------------------------------------------------------


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_parse_and_count_requests_by_status(output):
    client = create_app(output, metrics=Metrics()).test_client()
    etag = client.get(RSS).headers["ETag"]
    client.get("/")
    client.get(RSS, headers={"If-None-Match": etag})
    client.get("/nope.rss")
    client.get("/../secret.txt")
    client.post(RSS)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == METRICS_TYPE
    assert response.headers["Cache-Control"] == "no-store"
    counts = samples(response.get_data(as_text=True))
    requests = {labels[0][1]: value for (name, labels), value in counts.items()
                if name == "feedd_http_requests_total"}
    assert requests == {"200": 2, "304": 1, "404": 2, "405": 1}
    # the /metrics request itself is counted afterwards
    again = samples(client.get("/metrics").get_data(as_text=True))
    assert again[("feedd_http_requests_total", (("status", "200"),))] == 3


def test_metrics_of_separate_apps_are_separate(output):
    first = create_app(output).test_client()
    second = create_app(output).test_client()
    first.get(RSS)
    first.get(RSS)
    counts = samples(second.get("/metrics").get_data(as_text=True))
    assert counts.get(("feedd_http_requests_total", (("status", "200"),)), 0) == 0


def test_metrics_count_the_500(output):
    metrics = Metrics()

    def broken():
        raise RuntimeError("boom")

    client = create_app(output, metrics=metrics, health=broken).test_client()
    client.get("/healthz")
    counts = samples(client.get("/metrics").get_data(as_text=True))
    assert counts[("feedd_http_requests_total", (("status", "500"),))] == 1


def test_a_gz_sibling_written_after_the_file_is_picked_up(output, client):
    """publish writes the file, then its .gz: a request in between must not pin "no gzip" for good."""
    path, gz = output / "feeds/all.rss", output / "feeds/all.rss.gz"
    new = path.read_bytes() + b"<!-- rebuilt -->\n"
    gz.unlink()
    replace(path, new)
    between = client.get(RSS, headers={"Accept-Encoding": "gzip"})
    assert between.data == new and "Content-Encoding" not in between.headers
    gz.write_bytes(gzip.compress(new, mtime=0))
    after = client.get(RSS, headers={"Accept-Encoding": "gzip"})
    assert after.headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(after.data) == new
    assert after.headers["Vary"] == "Accept-Encoding"


def test_a_feed_removed_for_good_is_410_gone_and_its_marker_never_served(tmp_path, seeds_dir):
    out = tmp_path / "public"
    build(make_config(seeds_dir, out, feeds=[{"name": "old"}]), now=NOW)
    build(make_config(seeds_dir, out), now=NOW)  # removed from the config
    client = create_app(out).test_client()
    for path in ("/feeds/old.rss", "/feeds/old.json", "/feeds/old.html"):
        response = client.get(path)
        assert (response.status_code, response.data) == (410, b"Gone\n"), path
        assert client.head(path).status_code == 410
    assert client.get("/.gone/feeds/old.rss").status_code == 404
    assert client.get("/feeds/never.rss").status_code == 404
