"""A bounded load test: 200 keep-alive clients for 60 s against `feedd run` while an article changes every second.

Every answer must be a 200 whose bytes are whole, parse, and hash to their ETag, or a 304 for a validator that
is current; no 5xx, no connection error. FEEDD_LOAD_SECONDS and FEEDD_LOAD_CLIENTS shorten it for development.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import random
import shutil
import threading
import time
from collections import Counter
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from lxml import etree, html

from tests.helpers import SEEDS
from tests.running import Daemon, free_port, wait_for, write_config

pytestmark = pytest.mark.slow
SECONDS = float(os.environ.get("FEEDD_LOAD_SECONDS", "60"))
CLIENTS = int(os.environ.get("FEEDD_LOAD_CLIENTS", "200"))
FEEDS = ["/feeds/all.rss", "/feeds/all.atom", "/feeds/all.json", "/feeds/topics/load.rss", "/feeds/topics/load.atom",
         "/feeds/topics/load.json", "/feeds/categories/news.rss", "/index.html"]
CONDITIONS = ["none", "etag", "date", "both"]


def article(revision: int) -> str:
    return (f"---\ntitle: 'Load test, revision {revision}'\nexcerpt: 'Excerpt number {revision}: "
            f"{'lorem ipsum ' * (revision % 7)}'\nwebUrl: 'https://example.com/load'\n"
            f"publishedDateTime: 2026-11-20T10:00:00Z\npublished: true\ntopics: [Load]\nheat: 500\n"
            f"provider: {{name: Example, domain: example.com}}\n---\n")


def etag_of(body: bytes) -> str:
    """feedd's ETag: the first 32 hex digits of the SHA-256 of the bytes sent (server.Variant.of)."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.errors: list[str] = []
        self.bytes_by_etag: dict[str, str] = {}  # ETag -> sha256 of the body
        self.valid: set[str] = set()  # sha256 of bodies already parsed
        self.etags_by_feed: dict[str, set[str]] = {}
        self.gzip = 0

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


def check_body(results: Results, url: str, body: bytes, encoding: str | None) -> str | None:
    """Why this 200 body is wrong, or None."""
    digest = hashlib.sha256(body).hexdigest()
    with results.lock:
        if digest in results.valid:
            return None
    try:
        text = gzip.decompress(body) if encoding == "gzip" else body
        if url.endswith(".json"):
            feed = json.loads(text)
            assert feed["version"].startswith("https://jsonfeed.org/version/") and feed["items"]
        elif url.endswith(".html"):
            assert text.rstrip().endswith(b"</html>")
            html.document_fromstring(text)
        else:
            root = etree.fromstring(text)
            assert root.tag in ("rss", "{http://www.w3.org/2005/Atom}feed")
    except Exception as exc:  # any failure to parse is a torn or invalid body
        return f"{url} ({encoding}): invalid body ({len(body)} bytes): {exc!r}"
    with results.lock:
        results.valid.add(digest)
    return None


def client(port: int, deadline: float, results: Results, seed: int) -> None:
    """One feed reader on a keep-alive connection, with its own cache of validators."""
    rng = random.Random(seed)
    cache: dict[tuple[str, bool], tuple[str, str]] = {}  # (url, gzip) -> (ETag, Last-Modified)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        while time.monotonic() < deadline:
            url, gz, condition = rng.choice(FEEDS), rng.random() < 0.5, rng.choice(CONDITIONS)
            headers = {"Accept-Encoding": "gzip"} if gz else {}
            known = cache.get((url, gz))
            if known and condition in ("etag", "both"):
                headers["If-None-Match"] = known[0]
            if known and condition in ("date", "both"):
                headers["If-Modified-Since"] = known[1]
            try:
                conn.request("GET", url, headers=headers)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                results.error(f"{url}: {exc!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            problem = check(results, url, gz, headers, response, body)
            if problem:
                results.error(problem)
            elif response.status == 200:
                cache[(url, gz)] = (response.headers["ETag"], response.headers["Last-Modified"])
            time.sleep(rng.uniform(0, 0.02))  # a breath, so 200 clients do not starve the server of the CPU
    finally:
        conn.close()


def check(results: Results, url: str, gz: bool, sent: dict[str, str], response: http.client.HTTPResponse,
          body: bytes) -> str | None:
    status, etag = response.status, response.headers.get("ETag", "")
    encoding = response.headers.get("Content-Encoding")
    with results.lock:
        results.statuses[status] += 1
    if status not in (200, 304):
        return f"{url}: {status} {body[:200]!r}"
    if encoding not in (None, "gzip") or (encoding == "gzip" and not gz):
        return f"{url}: Content-Encoding {encoding!r} for Accept-Encoding {sent.get('Accept-Encoding')!r}"
    if status == 304:
        if body:
            return f"{url}: 304 with a body"
        if "If-None-Match" in sent:
            return None if etag == sent["If-None-Match"] else f"{url}: 304 for {sent['If-None-Match']}, now {etag}"
        since = parsedate_to_datetime(sent["If-Modified-Since"])
        modified = parsedate_to_datetime(response.headers["Last-Modified"])
        return None if modified <= since else f"{url}: 304 for If-Modified-Since {since}, modified {modified}"
    if etag != etag_of(body):
        return f"{url}: ETag {etag} is not the hash of the {len(body)} bytes sent"
    digest = hashlib.sha256(body).hexdigest()
    with results.lock:
        if results.bytes_by_etag.setdefault(etag, digest) != digest:
            return f"{url}: two different bodies with ETag {etag}"
        results.etags_by_feed.setdefault(url, set()).add(etag)
        results.gzip += encoding == "gzip"
    return check_body(results, url, body, encoding)


def test_200_clients_while_an_article_changes_every_second(tmp_path: Path, capsys):
    shutil.copytree(SEEDS, tmp_path / "articles")
    source = tmp_path / "articles" / "load.md"
    source.write_text(article(0), encoding="utf-8")
    port = free_port()
    daemon = Daemon(write_config(tmp_path / "feedd.yaml", tmp_path / "articles", port), port)
    results, stop, revisions = Results(), threading.Event(), [0]

    def edit() -> None:
        while not stop.wait(1.0):
            revisions[0] += 1
            temp = source.with_name(".load.md.tmp")
            temp.write_text(article(revisions[0]), encoding="utf-8")
            os.replace(temp, source)

    try:
        assert wait_for(lambda: "Load test, revision 0" in daemon.titles(), timeout=5), daemon.log
        editor = threading.Thread(target=edit)
        editor.start()
        start = time.monotonic()
        deadline = start + SECONDS
        clients = [threading.Thread(target=client, args=(port, deadline, results, seed)) for seed in range(CLIENTS)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(timeout=SECONDS + 30)
        elapsed = time.monotonic() - start
        stop.set()
        editor.join()
        assert not any(thread.is_alive() for thread in clients)
        assert wait_for(lambda: f"Load test, revision {revisions[0]}" in daemon.titles(), timeout=5), daemon.log
    finally:
        stop.set()
        daemon.stop()
    total = sum(results.statuses.values())
    with capsys.disabled():
        print(f"\nload: {CLIENTS} clients, {elapsed:.1f}s, {total} requests ({total / elapsed:.0f}/s), "
              f"{dict(results.statuses)}, {results.gzip} gzip bodies, {len(results.valid)} distinct bodies, "
              f"{revisions[0]} revisions, {len(results.errors)} errors")
    assert results.errors == [], results.errors[:20]
    assert results.statuses[200] > 0 and results.statuses[304] > 0
    assert total >= CLIENTS * 5  # every client got well past its first request
    for url in FEEDS[:3]:  # the changing article is in every "all" feed: readers saw it change
        assert len(results.etags_by_feed.get(url, ())) >= min(3, revisions[0]), (url, revisions[0])
    assert "Traceback" not in "\n".join(daemon.log)
