"""feedd/push/store.py: subscriptions that survive restarts, kill -9 and garbage in the state file."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from feedd.push.store import FILENAME, Subscription, SubscriptionStore

NOW = 1_800_000_000.0


def sub(n: int, topic: str = "http://feeds.test/feeds/all.rss", expires: float = NOW + 3600,
        secret: str | None = "s3cret") -> Subscription:
    return Subscription(f"https://cb{n % 3}.test/cb/{n}", topic, secret, expires)


@pytest.fixture
def opened():
    stores: list[SubscriptionStore] = []

    def open_store(state: Path, now: float = NOW) -> SubscriptionStore:
        store = SubscriptionStore(state, now)
        stores.append(store)
        return store

    yield open_store
    for store in stores:
        store.close()


def test_subscriptions_survive_a_restart(tmp_path, opened):
    store = opened(tmp_path)
    for n in range(5):
        store.put(sub(n))
    store.put(sub(0, secret="renewed"))  # a renewal replaces, never duplicates
    store.remove(sub(4).callback, sub(4).topic)
    store.close()
    again = opened(tmp_path)
    assert again.count() == 4
    assert again.get(sub(0).callback, sub(0).topic).secret == "renewed"
    assert again.get(sub(4).callback, sub(4).topic) is None
    assert {s.callback for s in again.of_topic(sub(0).topic)} == {sub(n).callback for n in range(4)}
    assert again.count("cb1.test") == 1 and again.count("cb0.test") == 2


def test_the_file_is_written_without_a_close(tmp_path, opened):
    """kill -9 gives no close(): the writer thread writes each change at once."""
    store = opened(tmp_path)
    store.put(sub(1))
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and not (tmp_path / FILENAME).exists():
        time.sleep(0.01)
    time.sleep(0.05)
    data = json.loads((tmp_path / FILENAME).read_text())
    assert data["version"] == 1
    assert [s["callback"] for s in data["subscriptions"]] == [sub(1).callback]
    assert data["subscriptions"][0]["expires"].endswith("+00:00")  # a readable UTC time


def test_the_file_holds_secrets_so_only_its_owner_reads_it(tmp_path, opened):
    store = opened(tmp_path)
    store.put(sub(1))
    store.flush()
    assert stat.S_IMODE(os.stat(tmp_path / FILENAME).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [FILENAME]  # no temp file left behind


def test_expired_leases_are_dropped_on_load_and_on_purge(tmp_path, opened):
    store = opened(tmp_path)
    store.put(sub(1, expires=NOW - 1))
    store.put(sub(2, expires=NOW + 10))
    store.put(sub(3, expires=NOW + 100))
    store.close()
    again = opened(tmp_path)
    assert again.count() == 2
    assert again.purge(NOW + 50) == 1
    assert [s.callback for s in again.of_topic(sub(3).topic)] == [sub(3).callback]
    assert again.count("cb2.test") == 0


@pytest.mark.parametrize("garbage", [b"", b"{not json", b"[]", b'{"version": 99, "subscriptions": []}',
                                     b'{"version": 1, "subscriptions": 5}', b"\xff\xfe"])
def test_an_unreadable_file_is_moved_aside_and_the_hub_starts_empty(tmp_path, opened, garbage, caplog):
    (tmp_path / FILENAME).write_bytes(garbage)
    store = opened(tmp_path)
    assert store.count() == 0
    assert (tmp_path / (FILENAME + ".unreadable")).read_bytes() == garbage  # kept for the operator
    assert "cannot read the WebSub subscriptions" in caplog.text


def test_a_malformed_entry_is_skipped_and_the_rest_kept(tmp_path, opened, caplog):
    good = {"callback": "https://a.test/cb", "topic": "http://t/feeds/a.rss", "secret": None,
            "expires": "2099-01-01T00:00:00+00:00"}
    bad = [{"callback": 5, "topic": "t", "secret": None, "expires": "2099-01-01T00:00:00+00:00"},
           {"topic": "t"}, {"callback": "x", "topic": "t", "secret": None, "expires": "soon"}]
    (tmp_path / FILENAME).write_text(json.dumps({"version": 1, "subscriptions": [good, *bad]}))
    store = opened(tmp_path)
    assert store.count() == 1
    assert caplog.text.count("skipping a malformed subscription") == 3


def test_a_failed_write_is_reported_and_retried(tmp_path, opened):
    """A full disk or a read-only folder: subscriptions stay in memory, the write is tried again each second
    (a folder in the file's place stands for the failure here: root ignores permissions)."""
    store = opened(tmp_path)
    (tmp_path / FILENAME).mkdir()
    store.put(sub(1))
    deadline = time.monotonic() + 2
    while store.last_error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "cannot write" in (store.last_error or "")
    assert store.get(sub(1).callback, sub(1).topic) is not None
    (tmp_path / FILENAME).rmdir()
    deadline = time.monotonic() + 3
    while store.last_error is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.last_error is None
    assert json.loads((tmp_path / FILENAME).read_text())["subscriptions"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILENAME]  # the failed temp files removed


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from feedd.push.store import Subscription, SubscriptionStore
    store = SubscriptionStore(Path(sys.argv[1]), time.time())
    n = 0
    while True:
        store.put(Subscription(f"https://cb.test/{n}", "http://t/feeds/all.rss", "x" * 150, time.time() + 3600))
        if n % 7 == 0:
            store.remove(f"https://cb.test/{n - 3}", "http://t/feeds/all.rss")
        if n == 50:
            print("ready", flush=True)
        n += 1
        time.sleep(0.0005)
""")


@pytest.mark.parametrize("after", [0.05, 0.13, 0.31])
def test_kill_9_while_writing_leaves_a_readable_file(tmp_path, after):
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(after)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    data = json.loads((tmp_path / FILENAME).read_text())  # whole: never torn
    assert len(data["subscriptions"]) > 10
    store = SubscriptionStore(tmp_path, time.time())
    try:
        assert store.count() == len(data["subscriptions"])
    finally:
        store.close()
