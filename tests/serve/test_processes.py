"""`server.processes`: helper processes share the port, serve feeds themselves and relay everything else.

A stopped (SIGSTOP) main process cannot accept connections, so whatever answers then is a helper.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import pytest

from tests.running import Daemon, free_port, wait_for, write_config

pytestmark = pytest.mark.slow
SEED_TITLE = "This Chinese Lab Is Aiming for Big AI Breakthroughs"


def helpers(pid: int) -> set[int]:
    """The helper server processes among pid's children."""
    found = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split():
            try:
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.add(int(child))
            except OSError:  # exited meanwhile
                pass
    return found


def request(url: str, method: str = "GET") -> tuple[int, Message, bytes]:
    """One request on a new connection (urllib never reuses one)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, exc.read()


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.fixture
def daemon(seeds_dir: Path, tmp_path: Path):
    port = free_port()
    config = write_config(tmp_path / "feedd.yaml", seeds_dir, port, extra="server:\n  processes: 3\n")
    process = Daemon(config, port)
    assert wait_for(lambda: len(helpers(process.proc.pid)) == 2, timeout=10), process.log
    yield process
    process.stop()


class Stopped:
    """The main process frozen: only the helpers accept connections meanwhile."""

    def __init__(self, daemon: Daemon) -> None:
        self.pid = daemon.proc.pid

    def __enter__(self) -> Stopped:
        os.kill(self.pid, signal.SIGSTOP)
        return self

    def __exit__(self, *exc: object) -> None:
        os.kill(self.pid, signal.SIGCONT)


def test_helpers_serve_the_feeds_on_their_own(daemon: Daemon):
    status, headers, body = request(daemon.base + "/feeds/all.rss")
    assert status == 200 and SEED_TITLE.encode() in body
    with Stopped(daemon):
        answers = [request(daemon.base + "/feeds/all.rss") for _ in range(20)]
        etag = {"If-None-Match": headers["ETag"]}
        not_modified = urllib.request.Request(daemon.base + "/feeds/all.rss", headers=etag)
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(not_modified, timeout=10)
    assert {(s, h["ETag"], b) for s, h, b in answers} == {(200, headers["ETag"], body)}
    caught.value.close()
    assert caught.value.code == 304
    # the helpers' responses are counted in /metrics, whichever process answers it (sent once a second);
    # the 304 is the only one, and a helper gave it
    def not_modified_count() -> str:
        text = request(daemon.base + "/metrics")[2].decode()
        return next((line.split()[-1] for line in text.splitlines()
                     if line.startswith('feedd_http_requests_total{status="304"}')), "none")
    assert wait_for(lambda: not_modified_count() == "1.0", timeout=5)


def test_helpers_relay_health_errors_and_metrics_to_the_main_process(daemon: Daemon):
    results: dict[str, tuple[int, Message, bytes]] = {}
    asks = {"health": ("/healthz", "GET"), "missing": ("/nope.rss", "GET"), "post": ("/feeds/all.rss", "POST"),
            "metrics": ("/metrics", "GET")}
    with Stopped(daemon):
        threads = [threading.Thread(target=lambda k=k, p=p, m=m: results.__setitem__(k, request(daemon.base + p, m)))
                   for k, (p, m) in asks.items()]
        for thread in threads:
            thread.start()
        threading.Event().wait(0.5)  # accepted by a helper, waiting for the frozen main process
        assert not results
    for thread in threads:
        thread.join(10)
    health = json.loads(results["health"][2])
    assert results["health"][0] == 200 and health["status"] == "ok"
    assert health["last_build"]["articles"]["published"] >= 1  # the builder's own state, not a helper's guess
    assert results["missing"][0] == 404
    assert results["post"][0] == 405 and results["post"][1]["Allow"] == "GET, HEAD"
    assert b"feedd_builds_total" in results["metrics"][2]


def test_an_edit_reaches_every_process(daemon: Daemon, seeds_dir: Path):
    path = next(p for p in sorted(seeds_dir.iterdir())
                if p.read_text(encoding="utf-8", errors="replace").startswith("---") and SEED_TITLE in p.read_text())
    path.write_text(path.read_text(encoding="utf-8").replace(SEED_TITLE, "Edited for every process"), "utf-8")
    assert wait_for(lambda: "Edited for every process" in daemon.titles(), timeout=5), daemon.log
    with Stopped(daemon):
        bodies = {request(daemon.base + "/feeds/all.rss")[2] for _ in range(10)}
    assert len(bodies) == 1 and b"Edited for every process" in bodies.pop()


def test_a_killed_helper_is_replaced_and_serving_goes_on(daemon: Daemon):
    victim = min(helpers(daemon.proc.pid))
    os.kill(victim, signal.SIGKILL)
    assert all(request(daemon.base + "/feeds/all.rss")[0] == 200 for _ in range(10))
    assert wait_for(lambda: len(helpers(daemon.proc.pid) - {victim}) == 2, timeout=10), daemon.log
    assert any(f"(pid {victim}) exited with code -9" in line for line in daemon.log)
    with Stopped(daemon):
        assert request(daemon.base + "/feeds/all.rss")[0] == 200


def test_sigterm_stops_every_process(daemon: Daemon):
    children = helpers(daemon.proc.pid)
    assert daemon.stop(timeout=10) == 0
    assert wait_for(lambda: not any(alive(pid) for pid in children), timeout=2)


def test_helpers_die_with_a_killed_main_process(daemon: Daemon):
    children = helpers(daemon.proc.pid)
    daemon.proc.kill()
    daemon.proc.wait()
    assert wait_for(lambda: not any(alive(pid) for pid in children), timeout=5)
