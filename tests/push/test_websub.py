"""feedd/push/websub.py and the websub config section: what the rest of feedd calls."""

from __future__ import annotations

from datetime import timedelta

import pytest

from feedd.config import validate_config
from feedd.errors import ConfigError
from feedd.push import Document, OutputFeeds, Push, discovery_links, feed_links, is_feed_url
from tests.push.peers import PingHub, Subscriber

BASE = "http://feeds.test/"
TYPES = {".rss": "application/rss+xml; charset=utf-8", ".atom": "application/atom+xml; charset=utf-8"}


# -- config ---------------------------------------------------------------------------------------------


def test_websub_is_off_by_default():
    config = validate_config({})
    assert config.websub.hubs == () and config.websub.builtin is False
    assert config.hub_urls == ()
    assert config.websub.lease_default == timedelta(days=10)


def test_the_advertised_hubs_are_the_configured_ones_then_feedds_own():
    config = validate_config({"site": {"base_url": "https://news.example/"},
                              "websub": {"hubs": ["https://hub.example/"], "builtin": True}})
    assert config.hub_urls == ("https://hub.example/", "https://news.example/websub")


@pytest.mark.parametrize("websub, message", [
    ({"hubs": ["hub.example"]}, "websub.hubs[0]: expected an absolute http(s) URL"),
    ({"allow_callbacks": ["10.0.0.1/8"]}, "websub.allow_callbacks[0]: expected a network such as 10.0.0.0/8"),
    ({"allow_callbacks": ["intranet"]}, "websub.allow_callbacks[0]: expected a network"),
    ({"lease_min": "20d"}, "websub: expected 1s <= lease_min <= lease_default <= lease_max"),
    ({"lease_max": "1h", "lease_default": "10d"}, "lease_min <= lease_default <= lease_max"),
    ({"give_up_after": "0s"}, "give_up_after: expected a positive duration"),
    ({"timeout": 0}, "websub.timeout"),
    ({"workers": 0}, "websub.workers"),
    ({"max_per_host": 0}, "websub.max_per_host"),
    ({"hub": []}, "websub.hub: unknown key"),
])
def test_bad_websub_settings_name_the_key(websub, message):
    with pytest.raises(ConfigError) as info:
        validate_config({"websub": websub})
    assert message in str(info.value)


def test_networks_are_normalised():
    config = validate_config({"websub": {"allow_callbacks": [" 10.0.0.0/8", "FD00::/8"]}})
    assert config.websub.allow_callbacks == ("10.0.0.0/8", "fd00::/8")


# -- discovery and topics --------------------------------------------------------------------------------


def test_discovery_links_name_every_hub_then_the_feed_itself():
    assert discovery_links([], BASE + "feeds/all.rss") is None
    assert discovery_links(["https://a.example/", BASE + "websub"], BASE + "feeds/all.rss") == \
        f'<https://a.example/>; rel="hub", <{BASE}websub>; rel="hub", <{BASE}feeds/all.rss>; rel="self"'


def test_feed_links_are_for_feed_files_only():
    links = feed_links(["https://hub.example/"], BASE)
    assert links("feeds/topics/ai.atom") == \
        f'<https://hub.example/>; rel="hub", <{BASE}feeds/topics/ai.atom>; rel="self"'
    assert links("feeds/all.html") is None and links("index.html") is None and links("feeds.opml") is None
    assert feed_links([], BASE)("feeds/all.rss") is None


@pytest.fixture
def output(tmp_path):
    folder = tmp_path / "public"
    (folder / "feeds" / "topics").mkdir(parents=True)
    for rel in ("feeds/all.rss", "feeds/all.json", "feeds/topics/ai.atom", "feeds/all.html", "index.html",
                "feeds/.all.rss.feedd-tmp"):
        (folder / rel).write_bytes(f"<{rel}>".encode())
    (tmp_path / "secret.rss").write_bytes(b"outside")
    return folder


@pytest.mark.parametrize("url, topic", [
    (BASE + "feeds/all.rss", True), (BASE + "feeds/all.json", True), (BASE + "feeds/topics/ai.atom", True),
    (BASE + "feeds/gone.rss", False),  # not published
    (BASE + "feeds/all.html", False), (BASE + "index.html", False),  # not feeds
    ("http://elsewhere.test/feeds/all.rss", False), ("https://feeds.test/feeds/all.rss", False),
    (BASE + "feeds/../../secret.rss", False), (BASE + "feeds/topics/../all.rss", False),
    (BASE + "feeds//all.rss", False), (BASE + "feeds/.all.rss.feedd-tmp", False),
    (BASE + "feeds/all.rss?x=1", False), (BASE + "feeds/all.rss#top", False),
])
def test_only_published_feed_urls_are_topics(output, url, topic):
    assert is_feed_url(BASE, output)(url) is topic


def test_output_feeds_read_only_the_feeds_looked_up(output):
    changes = OutputFeeds(BASE, output, ["feeds/all.rss", "feeds/all.html", "index.html", "feeds/topics/ai.atom"])
    assert list(changes) == [BASE + "feeds/all.rss", BASE + "feeds/topics/ai.atom"]  # feeds only
    assert changes[BASE + "feeds/topics/ai.atom"] == Document(b"<feeds/topics/ai.atom>", TYPES[".atom"])
    (output / "feeds" / "all.rss").unlink()
    with pytest.raises(KeyError):
        changes[BASE + "feeds/all.rss"]  # removed since: nothing to deliver


# -- the facade ------------------------------------------------------------------------------------------


def test_with_websub_off_push_does_nothing(tmp_path):
    push = Push(validate_config({"paths": {"state": str(tmp_path)}}), is_topic=lambda url: True)
    try:
        assert push.status() is None
        assert push.handle({"hub.mode": "subscribe"}) == (404, "Not Found")
        push.published({BASE + "feeds/all.rss": Document(b"x", "text/plain")})
    finally:
        push.close()
    assert list(tmp_path.iterdir()) == []  # no state file, no thread left


def test_push_pings_the_hubs_and_delivers_to_subscribers(tmp_path, output):
    pinged, subscriber = PingHub(), Subscriber()
    events: list[tuple[str, str]] = []
    config = validate_config({
        "site": {"base_url": BASE}, "paths": {"state": str(tmp_path / "state"), "output": str(output)},
        "websub": {"hubs": [pinged.url("/")], "builtin": True, "allow_callbacks": ["127.0.0.0/8"],
                   "ping_delay": 0, "delivery_delay": 0}})
    push = Push(config, is_topic=is_feed_url(BASE, output), record=lambda what, outcome: events.append((what, outcome)))
    try:
        topic = BASE + "feeds/all.rss"
        assert push.handle({"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": subscriber.url("/cb")})[0] \
            == 202
        assert subscriber.wait_for(lambda requests: len(requests) == 1)
        push.hub.outbox.wait_idle(2)
        push.published(OutputFeeds(BASE, output, ["feeds/all.rss", "index.html"]))
        assert subscriber.wait_for(lambda requests: any(r.method == "POST" for r in requests), timeout=1)
        assert pinged.wait_for(lambda requests: len(requests) == 1, timeout=1)
        delivery = subscriber.deliveries()[0]
        assert delivery.body == b"<feeds/all.rss>" and delivery.headers["content-type"] == TYPES[".rss"]
        assert pinged.pings() == [{"hub.mode": "publish", "hub.url": topic, "hub.topic": topic}]
        status = push.status()
        assert status["hub"]["subscriptions"] == 1 and status["pings"]["hubs"] == [pinged.url("/")]
    finally:
        push.close()
        pinged.close()
        subscriber.close()
    assert {("verifications", "ok"), ("deliveries", "ok"), ("pings", "ok")} <= set(events)
