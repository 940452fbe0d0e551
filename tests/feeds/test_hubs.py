"""WebSub discovery in the feeds themselves (§4): rel=hub links in RSS and Atom, `hubs` in JSON Feed.

A feed reader finds the hub in the document it already polls, beside the rel=self link; with no hub
configured the bytes are exactly what they were before WebSub existed (nothing to re-publish).
"""

from __future__ import annotations

import json

import feedparser
from lxml import etree

from feedd.config import validate_config
from feedd.feeds.render import render_feed, render_formats, site_info
from feedd.models import FeedPlan
from feedd.publish.published import feed_fingerprint
from tests.feeds.test_render import NS, article, site, spec

HUBS = ("https://hub.example/", "https://news.example.org/site/websub")


def hub_links(data: bytes, fmt: str) -> list[tuple[str, str]]:
    """(rel, href) of the feed-level links, in document order."""
    root = etree.fromstring(data)
    parent = root.find("channel") if fmt == "rss" else root
    return [(link.get("rel"), link.get("href")) for link in parent.findall("atom:link", NS)]


def test_rss_and_atom_carry_a_hub_link_per_hub_right_after_self():
    files = render_formats(site(hubs=HUBS), spec(), [article(1), article(2)])
    rss = hub_links(files["rss"][0], "rss")
    assert rss == [("self", "https://news.example.org/site/feeds/topics/ai.rss"), *(("hub", h) for h in HUBS)]
    atom = hub_links(files["atom"][0], "atom")
    assert atom[0] == ("self", "https://news.example.org/site/feeds/topics/ai.atom")
    assert [link for link in atom if link[0] == "hub"] == [("hub", h) for h in HUBS]


def test_readers_see_the_hubs_and_the_channel_link_is_still_the_preview():
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(render_feed(site(hubs=HUBS), spec(), [article(1)], fmt)[0])
        assert not parsed.bozo, fmt
        assert [link.href for link in parsed.feed.links if link.rel == "hub"] == list(HUBS), fmt
        assert parsed.feed.link == "https://news.example.org/site/feeds/topics/ai.html", fmt


def test_json_feed_lists_hubs_as_websub():
    data = json.loads(render_feed(site(hubs=HUBS), spec(), [article(1)], "json")[0])
    assert data["hubs"] == [{"type": "WebSub", "url": h} for h in HUBS]


def test_without_hubs_nothing_changes():
    for fmt in ("rss", "atom", "json"):
        data = render_feed(site(), spec(), [article(1)], fmt)[0]
        assert b'"hub"' not in data and b"hubs" not in data, fmt


def test_the_site_advertises_the_configured_hubs_then_its_own():
    config = validate_config({"site": {"base_url": "https://news.example.org/site/"},
                              "websub": {"hubs": ["https://hub.example/"], "builtin": True}})
    assert site_info(config, [], {}).hubs == HUBS


def test_changing_the_hubs_changes_every_feed_s_fingerprint():
    """So that a build after a change of websub.hubs re-renders (and re-publishes) each feed once."""
    plan = FeedPlan(spec(), (article(1),))
    digest = lambda a: a.id  # noqa: E731
    assert feed_fingerprint(site(), plan, digest) != feed_fingerprint(site(hubs=HUBS), plan, digest)
    assert feed_fingerprint(site(hubs=HUBS), plan, digest) == feed_fingerprint(site(hubs=HUBS), plan, digest)
