"""feedd/push/pings.py: publish pings to external hubs, against a test hub on loopback."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from feedd.config import validate_config
from feedd.push.pings import Pinger, ping_now
from tests.push.peers import PingHub, closed_port

ALL = "http://feeds.test/feeds/all.rss"
AI = "http://feeds.test/feeds/topics/ai.atom"


@pytest.fixture
def hub():
    peer = PingHub()
    yield peer
    peer.close()


@pytest.fixture
def make():
    made: list[Pinger] = []
    events: Counter[tuple[str, str]] = Counter()

    def factory(*hubs: str, **websub) -> Pinger:
        settings = validate_config({"websub": {"hubs": list(hubs), "ping_delay": 0, "give_up_after": "0.6s",
                                               "timeout": 2} | websub}).websub
        pinger = Pinger(settings, record=lambda what, outcome: events.update([(what, outcome)]),
                        backoff=(0.05, 0.2))
        made.append(pinger)
        return pinger

    factory.events = events
    yield factory
    for pinger in made:
        pinger.close()


def test_one_ping_per_changed_feed_as_a_publish_form(hub, make):
    pinger = make(hub.url("/hub"))
    started = time.monotonic()
    pinger.publish([ALL, AI])
    assert time.monotonic() - started < 0.2  # never waits for the hub
    assert pinger.outbox.wait_idle(2)
    assert sorted(p["hub.url"] for p in hub.pings()) == sorted([ALL, AI])
    # hub.url for Google's and Superfeedr's hubs, hub.topic (the same URL) for those that read that
    assert all(p == {"hub.mode": "publish", "hub.url": p["hub.url"], "hub.topic": p["hub.url"]} for p in hub.pings())
    assert {r.headers["content-type"] for r in hub.received()} == {"application/x-www-form-urlencoded"}
    assert {r.path for r in hub.received()} == {"/hub"}
    assert make.events[("pings", "ok")] == 2


def test_every_configured_hub_is_pinged(make):
    first, second = PingHub(), PingHub()
    try:
        pinger = make(first.url("/"), second.url("/"))
        pinger.publish([ALL])
        assert pinger.outbox.wait_idle(2)
        assert [p["hub.url"] for p in first.pings()] == [ALL] == [p["hub.url"] for p in second.pings()]
    finally:
        first.close()
        second.close()


def test_nothing_changed_nothing_pinged(hub, make):
    pinger = make(hub.url("/"))
    pinger.publish([])
    assert pinger.outbox.wait_idle(1)
    time.sleep(0.1)
    assert hub.received() == []


def test_a_feed_that_changed_three_times_in_a_second_is_pinged_once(hub, make):
    pinger = make(hub.url("/"), ping_delay=1.0)
    for _ in range(3):
        pinger.publish([ALL])
        time.sleep(0.3)
    assert pinger.outbox.wait_idle(3)
    assert [p["hub.url"] for p in hub.pings()] == [ALL]


def test_5xx_and_429_are_retried_until_the_hub_takes_it(make):
    hub = PingHub(statuses=[503, 429, 500])
    try:
        pinger = make(hub.url("/"))
        pinger.publish([ALL])
        assert pinger.outbox.wait_idle(3)
        assert len(hub.pings()) == 4
        assert make.events[("pings", "retry")] == 3 and make.events[("pings", "ok")] == 1
    finally:
        hub.close()


def test_a_refusal_is_not_retried_and_says_what_the_hub_said(make, caplog):
    hub = PingHub(statuses=[400])
    try:
        pinger = make(hub.url("/"))
        pinger.publish([ALL])
        assert pinger.outbox.wait_idle(2)
        assert len(hub.pings()) == 1
        assert make.events[("pings", "failed")] == 1
        assert "answered 400: noted" in pinger.status()["last_error"]
        assert "is websub.hubs right?" in caplog.text
    finally:
        hub.close()


def test_a_hub_that_is_down_is_retried_then_given_up(make):
    pinger = make(f"http://127.0.0.1:{closed_port()}/")
    started = time.monotonic()
    pinger.publish([ALL])
    assert time.monotonic() - started < 0.2
    assert pinger.outbox.wait_idle(3)
    assert time.monotonic() - started < 1.5
    assert make.events[("pings", "retry")] >= 2 and make.events[("pings", "given_up")] == 1
    status = pinger.status()
    assert status["pending"] == 0
    assert "gave up" in status["last_error"] or "ConnectError" in status["last_error"]


def test_a_redirecting_hub_is_not_followed(make):
    hub = PingHub(statuses=[301])
    try:
        pinger = make(hub.url("/old"))
        pinger.publish([ALL])
        assert pinger.outbox.wait_idle(2)
        assert [r.path for r in hub.received()] == ["/old"]
        assert "answered 301" in pinger.status()["last_error"]
    finally:
        hub.close()


# -- ping_now: `feedd build` ------------------------------------------------------------------------------


def settings_for(*hubs: str, **websub):
    return validate_config({"websub": {"hubs": list(hubs), "timeout": 2} | websub}).websub


def test_ping_now_sends_at_once_and_counts_the_outcomes(hub):
    started = time.monotonic()
    outcomes = ping_now(settings_for(hub.url("/"), ping_delay=5), [ALL, AI], wait=3)
    assert time.monotonic() - started < 1  # no coalescing delay for a one-shot build
    assert outcomes == Counter(ok=2)
    assert sorted(p["hub.url"] for p in hub.pings()) == sorted([ALL, AI])


def test_ping_now_retries_within_its_wait():
    hub = PingHub(statuses=[503])
    try:
        assert ping_now(settings_for(hub.url("/")), [ALL], wait=3) == Counter(ok=1)
        assert len(hub.pings()) == 2
    finally:
        hub.close()


def test_ping_now_gives_a_dead_hub_a_bounded_wait(caplog):
    started = time.monotonic()
    outcomes = ping_now(settings_for(f"http://127.0.0.1:{closed_port()}/"), [ALL, AI], wait=0.5)
    assert time.monotonic() - started < 3
    assert outcomes["ok"] == 0 and outcomes["unsent"] >= 1
    assert "dropped at shutdown" in caplog.text
