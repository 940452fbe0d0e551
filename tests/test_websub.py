"""WebSub end to end: the real `feedd run` (and `feedd build`), a subscriber and a hub on loopback.

The subscriber (tests/push/peers.py) echoes the hub's challenge and records what is delivered to it; the
test hub records the publish pings. Together they check what issue 15 promises: a change reaches a
subscriber within a second, signed, with the bytes feedd serves; only feeds whose bytes changed are
announced, never a restart, an unchanged rebuild or a SIGHUP; subscriptions survive `kill -9`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedd.cli import main
from feedd.layout import FORMATS
from tests.push.peers import PingHub, Subscriber
from tests.running import Daemon, free_port, wait_for, write_config
from tests.serve.test_processes import helpers

pytestmark = pytest.mark.slow
SECRET = "a subscriber's secret"
SETTLE = 1.0  # seconds to be sure that nothing more arrives (pings and deliveries wait 0.2 s before going out)


def websub_config(tmp_path: Path, articles: Path, port: int, hub: PingHub) -> Path:
    return write_config(tmp_path / "feedd.yaml", articles, port, extra=(
        f"websub:\n  builtin: true\n  hubs: ['{hub.url('/hub')}']\n  allow_callbacks: ['127.0.0.0/8']\n"
        "  ping_delay: 0.2\n"))


def article(title: str) -> str:
    return (f"---\ntitle: {title!r}\nwebUrl: 'https://example.com/robots'\npublishedDateTime: 2021-02-01T10:00:00Z\n"
            "topics: [Robots]\nprovider: {name: Example, domain: example.com}\n---\n")


def post_form(daemon: Daemon, **fields: str) -> tuple[int, str]:
    body = urllib.parse.urlencode({k.replace("_", ".", 1): v for k, v in fields.items()}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(daemon.base + "/websub", data=body), timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def subscribe(daemon: Daemon, subscriber: Subscriber, topic: str, mode: str = "subscribe") -> None:
    before = len(subscriber.verifications())
    status, text = post_form(daemon, hub_mode=mode, hub_topic=daemon.base + topic,
                             hub_callback=subscriber.url("/inbox"), hub_secret=SECRET)
    assert status == 202, text
    assert subscriber.wait_for(lambda requests: len([r for r in requests if r.method == "GET"]) > before, 5)
    assert subscriber.verifications()[-1].query["hub.mode"] == mode


def feed_bytes(output: Path) -> dict[str, bytes]:
    """Every feed file (the WebSub topics) of the output folder, by its path."""
    return {p.relative_to(output).as_posix(): p.read_bytes() for fmt in FORMATS for p in output.rglob(f"*.{fmt}")}


def health(daemon: Daemon) -> dict:
    return json.loads(daemon.get("/healthz"))


@pytest.fixture
def peers() -> Iterator[tuple[PingHub, Subscriber]]:
    hub, subscriber = PingHub(), Subscriber()
    yield hub, subscriber
    hub.close()
    subscriber.close()


@pytest.fixture
def site(seeds_dir: Path, tmp_path: Path, peers) -> tuple[Path, int]:
    port = free_port()
    return websub_config(tmp_path, seeds_dir, port, peers[0]), port


@pytest.fixture
def daemon(site) -> Iterator[Daemon]:
    process = Daemon(*site)
    yield process
    process.stop()


def test_a_change_reaches_the_subscriber_within_a_second_signed_and_stops_after_unsubscribing(
        daemon: Daemon, peers, seeds_dir: Path):
    hub, subscriber = peers
    served = urllib.request.urlopen(daemon.base + "/feeds/all.rss", timeout=5)
    assert served.headers["Link"] == (f'<{hub.url("/hub")}>; rel="hub", <{daemon.base}/websub>; rel="hub", '
                                      f'<{daemon.base}/feeds/all.rss>; rel="self"')
    subscribe(daemon, subscriber, "/feeds/all.rss")
    assert wait_for(lambda: health(daemon)["websub"]["hub"]["subscriptions"] == 1, 2)

    edited = time.monotonic()
    (seeds_dir / "robots.md").write_text(article("Robots arrive"), encoding="utf-8")
    assert subscriber.wait_for(lambda requests: any(r.method == "POST" for r in requests), 5), daemon.log
    delivery = subscriber.deliveries()[0]
    assert delivery.at - edited < 1.0, f"delivered {delivery.at - edited:.2f} s after the edit"
    assert delivery.path == "/inbox"
    assert delivery.body == daemon.get("/feeds/all.rss") and b"Robots arrive" in delivery.body
    assert delivery.headers["content-type"] == "application/rss+xml; charset=utf-8"
    signature = hmac.new(SECRET.encode(), delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["x-hub-signature"] == f"sha256={signature}"
    assert f'<{daemon.base}/feeds/all.rss>; rel="self"' in delivery.headers["link"]
    time.sleep(SETTLE)
    assert len(subscriber.deliveries()) == 1  # once per change, and only the topic subscribed to

    subscribe(daemon, subscriber, "/feeds/all.rss", mode="unsubscribe")
    assert wait_for(lambda: health(daemon)["websub"]["hub"]["subscriptions"] == 0, 2)
    (seeds_dir / "robots.md").write_text(article("Robots leave"), encoding="utf-8")
    assert wait_for(lambda: "Robots leave" in daemon.titles(), 3)
    time.sleep(SETTLE)
    assert len(subscriber.deliveries()) == 1
    metrics = daemon.get("/metrics").decode()
    assert 'feedd_websub_deliveries_total{outcome="ok"} 1.0' in metrics
    assert 'feedd_websub_verifications_total{outcome="ok"} 2.0' in metrics


def test_one_ping_per_changed_feed_and_none_for_the_start_an_unchanged_build_or_sighup(
        daemon: Daemon, peers, seeds_dir: Path, tmp_path: Path):
    hub, _ = peers
    output = tmp_path / "public"
    time.sleep(SETTLE)
    assert hub.pings() == []  # the first build of a fresh folder: nobody could have seen it before

    before = feed_bytes(output)
    (seeds_dir / "robots.md").write_text(article("Robots arrive"), encoding="utf-8")
    assert wait_for(lambda: "Robots arrive" in daemon.titles(), 3), daemon.log
    time.sleep(SETTLE)
    after = feed_bytes(output)
    changed = {daemon.base + "/" + rel for rel, data in after.items() if before.get(rel) != data}
    assert {f"{daemon.base}/feeds/all.rss", f"{daemon.base}/feeds/topics/robots.atom"} <= changed
    pinged = [p["hub.url"] for p in hub.pings()]
    assert sorted(pinged) == sorted(changed)  # one each, and nothing that did not change
    assert all(p["hub.topic"] == p["hub.url"] and p["hub.mode"] == "publish" for p in hub.pings())

    def builds() -> int:
        return sum("build (" in line for line in daemon.log)

    done = builds()
    (seeds_dir / "robots.md").write_text(article("Robots arrive"), encoding="utf-8")  # same bytes, new mtime
    assert wait_for(lambda: builds() > done, 3), daemon.log
    done = builds()
    daemon.signal(signal.SIGHUP)  # reload: a new builder, a full comparison of the folder with the index
    assert wait_for(lambda: builds() > done, 5), daemon.log
    assert any("build (config reloaded)" in line for line in daemon.log)
    time.sleep(SETTLE)
    assert len(hub.pings()) == len(pinged)
    assert feed_bytes(output) == after
    assert health(daemon)["websub"]["pings"]["pending"] == 0


def test_subscriptions_survive_kill_9_and_a_restart_announces_nothing(site, peers, seeds_dir: Path,
                                                                     tmp_path: Path):
    hub, subscriber = peers
    config, port = site
    first = Daemon(config, port)
    try:
        subscribe(first, subscriber, "/feeds/all.atom")
        subscribe(first, subscriber, "/feeds/all.json")
        stored = tmp_path / "state" / "websub.json"
        assert wait_for(lambda: stored.exists() and len(json.loads(stored.read_text())["subscriptions"]) == 2, 3)
        first.proc.kill()  # no chance to write anything at exit
        first.proc.wait(5)
    finally:
        first.stop()

    second = Daemon(config, port)
    try:
        assert health(second)["websub"]["hub"]["subscriptions"] == 2
        time.sleep(SETTLE)
        assert subscriber.deliveries() == [] and hub.pings() == []  # the restart itself changed no feed
        (seeds_dir / "robots.md").write_text(article("Robots after the restart"), encoding="utf-8")
        assert subscriber.wait_for(lambda requests: len([r for r in requests if r.method == "POST"]) == 2, 5)
        time.sleep(SETTLE)
        by_type = {r.headers["content-type"]: r.body for r in subscriber.deliveries()}
        assert set(by_type) == {"application/atom+xml; charset=utf-8", "application/feed+json"}
        assert by_type["application/feed+json"] == second.get("/feeds/all.json")
        assert b"Robots after the restart" in by_type["application/atom+xml; charset=utf-8"]
    finally:
        second.stop()


def test_the_hub_refuses_what_it_must(daemon: Daemon, peers):
    """The hub's refusals, over HTTP (tests/push/test_hub.py has each one in detail)."""
    _, subscriber = peers
    cases = [
        ({"hub_topic": daemon.base + "/feeds/all.rss", "hub_callback": "javascript:alert(1)"}, 400),
        ({"hub_topic": "https://elsewhere.example/feed.rss", "hub_callback": subscriber.url("/")}, 400),
        ({"hub_topic": daemon.base + "/index.html", "hub_callback": subscriber.url("/")}, 400),
        ({"hub_topic": daemon.base + "/feeds/all.rss", "hub_callback": "http://169.254.169.254/latest/"}, 403),
    ]
    for fields, status in cases:
        assert post_form(daemon, hub_mode="subscribe", **fields)[0] == status, fields
    assert post_form(daemon, hub_mode="publish", hub_url=daemon.base + "/feeds/all.rss")[0] == 400
    status, _ = post_form(daemon, hub_mode="subscribe", hub_topic=daemon.base + "/feeds/all.rss",
                          hub_callback=subscriber.url("/"), hub_lease_seconds=str(10 * 365 * 86400))
    assert status == 202
    assert subscriber.wait_for(lambda requests: len(requests) == 1, 5)
    assert subscriber.verifications()[0].query["hub.lease_seconds"] == str(30 * 86400)  # cut to websub.lease_max


def test_feedd_build_pings_the_feeds_it_changed_and_nothing_else(seeds_dir: Path, tmp_path: Path, peers):
    hub, _ = peers
    config = websub_config(tmp_path, seeds_dir, free_port(), hub)
    runner = CliRunner()

    first = runner.invoke(main, ["build", "-c", str(config)])
    assert first.exit_code == 0, first.output
    assert hub.pings() == [] and "websub" not in first.output  # a fresh folder: nothing to announce

    before = feed_bytes(tmp_path / "public")
    (seeds_dir / "robots.md").write_text(article("Robots from cron"), encoding="utf-8")
    second = runner.invoke(main, ["build", "-c", str(config)])
    assert second.exit_code == 0, second.output
    after = feed_bytes(tmp_path / "public")
    changed = sorted(rel for rel, data in after.items() if before.get(rel) != data)
    assert sorted(p["hub.url"].split("/", 3)[3] for p in hub.pings()) == changed  # pinged before it exits
    assert f"websub: {len(changed)} changed feed(s) pinged at 1 hub(s): {len(changed)} ok" in second.output

    third = runner.invoke(main, ["build", "-c", str(config)])
    assert third.exit_code == 0 and "websub" not in third.output
    assert len(hub.pings()) == len(changed)


def test_helper_processes_send_the_link_header_and_relay_subscriptions(seeds_dir: Path, tmp_path: Path, peers):
    hub, subscriber = peers
    port = free_port()
    config = websub_config(tmp_path, seeds_dir, port, hub)
    config.write_text(config.read_text(encoding="utf-8") + "server:\n  processes: 2\n", encoding="utf-8")
    daemon = Daemon(config, port)
    try:
        link = (f'<{hub.url("/hub")}>; rel="hub", <{daemon.base}/websub>; rel="hub", '
                f'<{daemon.base}/feeds/all.rss>; rel="self"')
        assert wait_for(lambda: len(helpers(daemon.proc.pid)) == 1, 10), daemon.log
        daemon.signal(signal.SIGSTOP)  # only the helper accepts connections meanwhile
        try:
            with urllib.request.urlopen(daemon.base + "/feeds/all.rss", timeout=10) as reply:
                assert reply.headers["Link"] == link
            answer: list[tuple[int, str]] = []
            sending = threading.Thread(target=lambda: answer.append(post_form(
                daemon, hub_mode="subscribe", hub_topic=daemon.base + "/feeds/all.rss",
                hub_callback=subscriber.url("/inbox"))))
            sending.start()
            time.sleep(0.3)  # the helper has it, and waits for the main process to answer
        finally:
            daemon.signal(signal.SIGCONT)
        sending.join(10)
        assert answer and answer[0][0] == 202, answer
        assert subscriber.wait_for(lambda requests: len(requests) == 1, 5)
    finally:
        daemon.stop()
