#!/usr/bin/env python3
"""WebSub fan-out (issue 15): N subscribers of one feed on the built-in hub, time from an edit to the last delivery.

    .venv/bin/python benchmarks/websub_fanout.py [--subscribers 1000] [--edits 5] [--articles DIR]

Runs the real `feedd run` on a loopback port over a copy of the articles (the sample articles/ by default),
with `websub.builtin: true`, 127.0.0.0/8 allowed as callbacks and `max_per_host` raised to N (every callback
is on 127.0.0.1 here). One threaded HTTP server plays all N subscribers (one callback path each, each with
its own secret): it echoes the challenge and records each delivery's arrival time, checking its HMAC and
that its bytes are the feed's. Each edit rewrites one article's title (temp file + rename, as editors do);
the figure is the time from the rename to the N-th delivery, and every subscriber must get exactly one
delivery per edit. Loopback only; every wait is bounded. Prints one line per edit and a summary.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Subscribers:
    """N WebSub subscribers behind one loopback server: /s/<i> is subscriber i."""

    def __init__(self, count: int) -> None:
        self.secrets = [f"secret-{i}-{os.urandom(4).hex()}" for i in range(count)]
        self.deliveries: list[list[float]] = [[] for _ in range(count)]
        self.bodies: list[set[str]] = [set() for _ in range(count)]  # sha256 of what each one got
        self.bad: list[str] = []
        self.lock = threading.Condition()
        subscribers = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _reply(self, status: int, body: bytes = b"") -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # intent verification: echo the challenge
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                self._reply(200, query.get("hub.challenge", "").encode())

            def do_POST(self) -> None:  # a delivery
                at = time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                i = int(self.path.rsplit("/", 1)[1])
                digest = hmac.new(subscribers.secrets[i].encode(), body, hashlib.sha256).hexdigest()
                with subscribers.lock:
                    if self.headers.get("X-Hub-Signature") != f"sha256={digest}":
                        subscribers.bad.append(f"subscriber {i}: bad signature")
                    subscribers.deliveries[i].append(at)
                    subscribers.bodies[i].add(hashlib.sha256(body).hexdigest())
                    subscribers.lock.notify_all()
                self._reply(204)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 128
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivered(self, each: int) -> int:
        with self.lock:
            return sum(len(d) >= each for d in self.deliveries)

    def wait(self, each: int, timeout: float) -> bool:
        end = time.monotonic() + timeout
        with self.lock:
            while sum(len(d) >= each for d in self.deliveries) < len(self.deliveries):
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(left)
        return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as reply:
        return reply.read()


def wait_until(condition, timeout: float, interval: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if condition():
                return True
        except OSError:
            pass
        time.sleep(interval)
    return False


def measure(n: int, edits: int, source: Path) -> dict:
    """Fan-out of `edits` edits to `n` subscribers of all.rss over a copy of `source`: the times from each edit
    to its last delivery, the feed's size and how long subscribing took. Raises SystemExit on any failure."""
    work = Path(tempfile.mkdtemp(prefix="feedd-websub-bench-"))
    articles = work / "articles"
    shutil.copytree(source, articles)
    edited = articles / "websub-bench.md"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = work / "feedd.yaml"
    config.write_text(
        f"site: {{base_url: '{base}/'}}\n"
        f"paths: {{articles: '{articles}', output: '{work / 'public'}', state: '{work / 'state'}'}}\n"
        "defaults: {content: full}\n"
        f"websub: {{builtin: true, allow_callbacks: ['127.0.0.0/8'], max_per_host: {n}, "
        f"max_subscriptions: {n}}}\n", encoding="utf-8")

    def article(title: str) -> str:
        when = datetime.now(UTC).replace(microsecond=0).isoformat()  # the newest article: first in the feed
        return f"---\ntitle: {title!r}\nwebUrl: 'https://example.com/websub-bench'\npublishedDateTime: {when}\n---\n"

    def edit(title: str) -> float:
        temp = edited.with_name(".websub-bench.tmp")
        temp.write_text(article(title), encoding="utf-8")
        os.replace(temp, edited)
        return time.monotonic()

    edited.write_text(article("WebSub bench 0"), encoding="utf-8")
    subscribers = Subscribers(n)
    log = open(work / "feedd.log", "w")  # noqa: SIM115
    feedd = subprocess.Popen([sys.executable, "-m", "feedd", "run", "-c", str(config), "--port", str(port)],
                             stdout=subprocess.DEVNULL, stderr=log)
    try:
        if not wait_until(lambda: get(base + "/healthz") is not None, 30):
            raise SystemExit("feedd run did not start; see " + str(log.name))
        topic = base + "/feeds/all.rss"
        started = time.monotonic()
        for i in range(n):
            form = urllib.parse.urlencode({"hub.mode": "subscribe", "hub.topic": topic,
                                           "hub.callback": f"http://127.0.0.1:{subscribers.port}/s/{i}",
                                           "hub.secret": subscribers.secrets[i]}).encode()
            with urllib.request.urlopen(urllib.request.Request(base + "/websub", data=form), timeout=10) as reply:
                assert reply.status == 202, reply.status

        def subscribed() -> bool:
            return json.loads(get(base + "/healthz"))["websub"]["hub"]["subscriptions"] == n

        if not wait_until(subscribed, 120, 0.2):
            raise SystemExit("the subscriptions were not all verified within 120 s")
        verified = time.monotonic() - started
        print(f"{n} subscriptions requested and verified in {verified:.1f} s", flush=True)

        times = []
        for k in range(1, edits + 1):
            title = f"WebSub bench {k}"
            at = edit(title)
            if not wait_until(lambda t=title: t.encode() in get(topic), 10, 0.005):
                raise SystemExit(f"edit {k} was not served within 10 s")
            served = time.monotonic() - at
            if not subscribers.wait(k, 60):
                raise SystemExit(f"edit {k}: only {subscribers.delivered(k)} of {n} subscribers got it within 60 s")
            time.sleep(0.5)  # any duplicate would have arrived by now
            current = hashlib.sha256(get(topic)).hexdigest()
            with subscribers.lock:
                if any(current not in bodies for bodies in subscribers.bodies):
                    subscribers.bad.append("a subscriber did not get the feed's current bytes")
                counts = {len(d) for d in subscribers.deliveries}
                first = min(d[k - 1] for d in subscribers.deliveries)
                last = max(d[k - 1] for d in subscribers.deliveries)
            if counts != {k} or subscribers.bad:
                raise SystemExit(f"edit {k}: deliveries per subscriber {sorted(counts)}; {subscribers.bad[:3]}")
            times.append(last - at)
            print(f"edit {k}: served {served * 1000:.0f} ms, first delivery {(first - at) * 1000:.0f} ms, "
                  f"last ({n}th) {(last - at) * 1000:.0f} ms after the edit", flush=True)
            time.sleep(1)
        return {"subscribers": n, "bytes": len(get(topic)), "times": times, "verified": verified}
    finally:
        feedd.terminate()
        try:
            feedd.wait(15)
        except subprocess.TimeoutExpired:
            feedd.kill()
        log.close()
        subscribers.server.shutdown()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--edits", type=int, default=5)
    ap.add_argument("--articles", type=Path, default=ROOT / "articles")
    args = ap.parse_args()
    result = measure(args.subscribers, args.edits, args.articles)
    times = result["times"]
    print(f"summary: {result['subscribers']} subscribers of a {result['bytes'] / 1024:.0f} KB feed, edit to last "
          f"delivery: median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f}) over "
          f"{len(times)} edits; each subscriber got each change exactly once, signed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
