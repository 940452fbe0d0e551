"""RENDER: RSS 2.0, Atom 1.0 and JSON Feed 1.1 as a feed reader sees them (parsed, never string-matched)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import feedgen.entry
import feedgen.feed
import feedparser
import pytest
from lxml import etree

from feedd.config import FeedSettings
from feedd.feeds.render import JSON_FEED_VERSION, SiteInfo, entry_id, render_feed, render_formats
from feedd.models import Article, Family, FeedSpec, Image, Provider, Related

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "media": "http://search.yahoo.com/mrss/",
}
BASE = "https://news.example.org/site/"
WIRED_FEED = BASE + "feeds/providers/wired-com.rss"


def site(**overrides) -> SiteInfo:
    values = {"title": "Digest", "base_url": BASE, "description": "All the news", "language": "en",
              "author": "Digest Team", "provider_feeds": {"wired.com": WIRED_FEED}}
    values.update(overrides)
    return SiteInfo(**values)


def spec(**overrides) -> FeedSpec:
    """A topic feed's spec; overrides of FeedSpec's fields or of its settings (content=, max_bytes=, ...)."""
    values = {"family": Family.TOPICS, "slug": "ai", "title": "Digest: AI", "description": "Articles about AI"}
    settings = {k: overrides.pop(k) for k in list(overrides) if k in FeedSettings.model_fields}
    values.update(overrides)
    return FeedSpec(**values, settings=FeedSettings(**settings))


def article(n: int, **overrides) -> Article:
    values = {
        "id": f"urn:uuid:00000000-0000-0000-0000-{n:012d}",
        "source": f"{n:03d}.txt",
        "title": f"Story number {n}",
        "link": f"https://www.wired.com/story/{n}/",
        "published_at": datetime(2021, 1, 1, tzinfo=UTC) + timedelta(days=n),
    }
    values.update(overrides)
    return Article(**values)


def rich(n: int = 1, **overrides) -> Article:
    """An article with every optional field set."""
    values = {
        "excerpt": "China produces as many AI researchers as the US.",
        "heat": 115.0,
        "quality": 95.0,
        "category": "news",
        "type": "article",
        "provider": Provider("Wired", "wired.com"),
        "topics": ("AI Hardware", "AI", "Facebook AI"),
        "images": (Image("https://media.wired.com/photos/1/pass.jpg", 2400, 1352),),
        "related": (Related("US leads world on AI", "https://www.scmp.com/news/3119115"),
                    Related("US leading race in AI", "https://www.dhakatribune.com/world/2021/01/25/x")),
        "body": "First paragraph of the text.\n\nSecond paragraph, with 5 < 6 & more.",
    }
    values.update(overrides)
    return article(n, **values)


def rss(items, spec_=None, site_=None) -> etree._Element:
    """As a build renders it: with the Atom feed, from one generator."""
    data, _ = render_formats(site_ or site(), spec_ or spec(), items)["rss"]
    return etree.fromstring(data)


def atom(items, spec_=None, site_=None) -> etree._Element:
    data, _ = render_formats(site_ or site(), spec_ or spec(), items)["atom"]
    return etree.fromstring(data)


def jsonfeed(items, spec_=None, site_=None) -> dict:
    data, _ = render_feed(site_ or site(), spec_ or spec(), items, "json")
    return json.loads(data)


def parsed(items, fmt: str, spec_=None):
    data, _ = render_feed(site(), spec_ or spec(), items, fmt)
    feed = feedparser.parse(data)
    assert feed.bozo == 0, feed.get("bozo_exception")
    return feed


def is_absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def json_feed_problems(feed: object) -> list[str]:
    """The required parts of JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/)."""
    problems = []
    if not isinstance(feed, dict):
        return ["top level is not an object"]
    if feed.get("version") != JSON_FEED_VERSION:
        problems.append(f"version is {feed.get('version')!r}")
    if not isinstance(feed.get("title"), str) or not feed["title"]:
        problems.append("title missing")
    for key in ("home_page_url", "feed_url", "icon", "favicon"):
        if key in feed and not (isinstance(feed[key], str) and is_absolute(feed[key])):
            problems.append(f"{key} is not an absolute URL")
    items = feed.get("items")
    if not isinstance(items, list):
        return [*problems, "items missing"]
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"items[{i}] is not an object")
            continue
        if not isinstance(item.get("id"), str) or not item["id"]:
            problems.append(f"items[{i}].id is not a string")
        if not any(isinstance(item.get(k), str) for k in ("content_html", "content_text")):
            problems.append(f"items[{i}] has neither content_html nor content_text")
        for key in ("url", "external_url", "image", "banner_image"):
            if key in item and not is_absolute(item[key]):
                problems.append(f"items[{i}].{key} is not an absolute URL")
        for key in ("date_published", "date_modified"):
            if key in item:
                try:
                    datetime.fromisoformat(item[key])
                except (TypeError, ValueError):
                    problems.append(f"items[{i}].{key} is not RFC 3339")
        if "tags" in item and not all(isinstance(t, str) for t in item["tags"]):
            problems.append(f"items[{i}].tags are not strings")
        if "authors" in item and not all(isinstance(a, dict) and a.get("name") for a in item["authors"]):
            problems.append(f"items[{i}].authors lack a name")
    return problems


def test_json_feed_checker_rejects_what_the_spec_forbids():
    good = {"version": JSON_FEED_VERSION, "title": "t", "items": [{"id": "1", "content_text": "x"}]}
    assert json_feed_problems(good) == []
    assert json_feed_problems({**good, "version": "1"})
    assert json_feed_problems({"version": JSON_FEED_VERSION, "items": []})
    assert json_feed_problems({**good, "items": [{"id": 1, "content_text": "x"}]})
    assert json_feed_problems({**good, "items": [{"id": "1"}]})
    assert json_feed_problems({**good, "items": [{"id": "1", "content_text": "x", "url": "/a"}]})


# --- RSS 2.0 -------------------------------------------------------------------------------------


def test_rss_channel_links_to_itself_and_to_its_preview_page():
    channel = rss([rich()]).find("channel")
    self_links = channel.findall("atom:link[@rel='self']", NS)
    assert [link.get("href") for link in self_links] == [BASE + "feeds/topics/ai.rss"]
    assert self_links[0].get("type") == "application/rss+xml"
    assert channel.findtext("link") == BASE + "feeds/topics/ai.html"
    assert channel.findtext("title") == "Digest: AI"
    assert channel.findtext("description") == "Articles about AI"


def test_rss_last_build_date_is_the_newest_items_date():
    items = [article(3), article(9), article(5)]
    channel = rss(items).find("channel")
    pub_dates = [parsedate_to_datetime(i.findtext("pubDate")) for i in channel.findall("item")]
    assert parsedate_to_datetime(channel.findtext("lastBuildDate")) == max(pub_dates) == items[1].published_at


class _ClockType(type):
    def __instancecheck__(cls, obj):  # feedgen checks isinstance(value, datetime) with the patched name
        return isinstance(obj, datetime)


class _Clock(datetime, metaclass=_ClockType):
    """A datetime whose now() is whatever the test says: feedgen's clock, controlled."""

    moment = datetime(2030, 1, 1, tzinfo=UTC)

    @classmethod
    def now(cls, tz=None):
        return cls.moment if tz is None else cls.moment.astimezone(tz)


@pytest.mark.parametrize("formats", [("rss", "atom", "json"), ("json", "atom", "rss"), ("atom",)])
def test_formats_rendered_together_equal_each_rendered_alone(formats):
    """RSS and Atom share one feedgen generator in a build: neither may keep anything of the other."""
    items = [rich(2), rich(3, provider=Provider("Wired", "wired.com", "https://wired.com/logo.png")), article(1)]
    spec_ = spec(formats=formats, logo="https://news.example.org/logo.png")
    together = render_formats(site(), spec_, items)
    assert list(together) == list(formats)
    for fmt in formats:
        assert together[fmt] == render_feed(site(), spec_, items, fmt)
    for fmt in set(formats) & {"rss", "atom"}:
        assert f'href="{BASE}feeds/topics/ai.{fmt}" rel="self"'.encode() in together[fmt][0] or \
            f'rel="self" href="{BASE}feeds/topics/ai.{fmt}"'.encode() in together[fmt][0]


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_output_does_not_depend_on_the_clock(monkeypatch, fmt):
    monkeypatch.setattr(feedgen.feed, "datetime", _Clock)
    monkeypatch.setattr(feedgen.entry, "datetime", _Clock)
    items = [rich(2), article(1)]
    _Clock.moment = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    first, _ = render_feed(site(), spec(), items, fmt)
    _Clock.moment = datetime(2030, 1, 1, 12, 0, 1, tzinfo=UTC)
    second, _ = render_feed(site(), spec(), items, fmt)
    assert first == second
    assert b"2030" not in first


def test_rss_item_carries_every_field():
    a = rich()
    item = rss([a]).find("channel/item")
    assert item.findtext("title") == a.title
    assert item.findtext("link") == a.link
    guid = item.find("guid")
    assert guid.text == entry_id(spec(), a)
    assert guid.get("isPermaLink") == "false"
    assert parsedate_to_datetime(item.findtext("pubDate")) == a.published_at
    assert [c.text for c in item.findall("category")] == list(a.topics)
    assert [c.text for c in item.findall("dc:creator", NS)] == ["Wired"]
    source = item.find("source")
    assert source.get("url") == WIRED_FEED
    assert source.text == "Wired"
    thumbnail = item.find("media:thumbnail", NS)
    assert (thumbnail.get("url"), thumbnail.get("width"), thumbnail.get("height")) == (
        "https://media.wired.com/photos/1/pass.jpg", "2400", "1352")
    media = item.find("media:content", NS)
    assert media.get("url") == "https://media.wired.com/photos/1/pass.jpg"
    assert media.get("medium") == "image"


def _ids(spec_, items, fmt) -> list[str]:
    data, _ = render_feed(site(), spec_, items, fmt)
    if fmt == "json":
        return [i["id"] for i in json.loads(data)["items"]]
    return [e.id for e in feedparser.parse(data).entries]


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_an_article_has_one_id_in_every_feed(fmt):
    """RFC 4287 4.2.6, and what aggregators and planets deduplicate on: the article's own id, whichever feed
    carries it, unchanged by an edit."""
    a = rich()
    edited = rich(title="Edited title", excerpt="Edited", body=None)  # same article id, new content
    feeds = [spec(), spec(family=Family.ALL, slug="all"), spec(family=Family.CONFIGURED, slug="top", sort="heat")]
    assert {tuple(_ids(s, [a], fmt)) for s in feeds} == {(a.id,)}
    assert _ids(spec(), [edited], fmt) == _ids(spec(), [article(7), a], fmt)[1:] == [a.id]
    assert _ids(spec(), [a], fmt) != _ids(spec(), [rich(2)], fmt)


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_per_feed_entry_ids_are_stable_and_differ_between_feeds(fmt):
    """entry_ids: per-feed, for newsboat, which keys items by id across all subscriptions (its issue #898)."""
    a = rich()
    edited = rich(title="Edited title", excerpt="Edited", body=None)
    topic, everything = spec(entry_ids="per-feed"), spec(family=Family.ALL, slug="all", entry_ids="per-feed")
    assert _ids(topic, [a], fmt) == _ids(topic, [edited], fmt) == _ids(topic, [article(7), a], fmt)[1:]
    assert _ids(topic, [a], fmt) != _ids(everything, [a], fmt)
    assert _ids(topic, [a], fmt) != _ids(topic, [rich(2)], fmt)
    assert a.id not in _ids(topic, [a], fmt) + _ids(everything, [a], fmt)
    assert all(i.startswith("urn:uuid:") for i in _ids(topic, [a], fmt) + _ids(everything, [a], fmt))


@pytest.mark.parametrize("entry_ids", ["per-article", "per-feed"])
def test_rss_guid_of_a_urn_is_not_a_permalink(entry_ids):
    guid = rss([rich()], spec(entry_ids=entry_ids)).find("channel/item/guid")
    assert guid.text.startswith("urn:uuid:")
    assert guid.get("isPermaLink") == "false"


def test_rss_has_no_source_when_the_providers_feed_is_unknown():
    a = rich(provider=Provider("South China Morning Post", "scmp.com"))
    item = rss([a]).find("channel/item")
    assert item.find("source") is None
    assert item.findtext("dc:creator", namespaces=NS) == "South China Morning Post"


def test_rss_minimal_item_has_no_empty_optional_elements():
    item = rss([article(1)]).find("channel/item")
    for absent in ("category", "source", "description", "dc:creator", "media:thumbnail", "content:encoded"):
        assert item.find(absent, NS) is None, absent
    assert item.findtext("guid") == entry_id(spec(), article(1))


def test_full_content_only_when_the_spec_asks_and_the_article_has_a_body():
    with_body, without_body = rich(1), rich(2, body=None)
    full = rss([with_body, without_body], spec(content="full")).findall("channel/item")
    encoded = full[0].findtext("content:encoded", namespaces=NS)
    assert "First paragraph of the text." in encoded
    assert full[1].find("content:encoded", NS) is None
    summary = rss([with_body], spec(content="summary")).find("channel/item")
    assert summary.find("content:encoded", NS) is None
    assert summary.findtext("description") == with_body.excerpt


def test_full_content_reaches_a_reader_as_paragraphs():
    entry = parsed([rich()], "rss", spec(content="full")).entries[0]
    html = entry.content[0].value
    paragraphs = etree.fromstring(f"<div>{html}</div>").findall("p")
    assert [p.text for p in paragraphs] == ["First paragraph of the text.",
                                            "Second paragraph, with 5 < 6 & more."]


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_items_keep_the_ranked_order(fmt):
    # deliberately not sorted by date: the ranking decides, the renderer must not reorder
    items = [article(5), article(9), article(1), article(7)]
    data, count = render_feed(site(), spec(), items, fmt)
    assert count == 4
    if fmt == "json":
        ids = [i["id"] for i in json.loads(data)["items"]]
    else:
        ids = [e.id for e in feedparser.parse(data).entries]
    assert ids == [entry_id(spec(), a) for a in items]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_markup_in_an_excerpt_is_shown_as_text(fmt):
    a = rich(excerpt="Watch this <script>alert(1)</script> & <b>that</b>")
    entry = parsed([a], fmt).entries[0]
    summary = entry.summary
    assert "<script" not in summary.lower()
    assert "<b>" not in summary
    assert "alert" in summary
    # what a reader displays once it renders the (sanitized) HTML: the literal text
    shown = etree.fromstring(f"<div>{summary}</div>")
    assert len(shown) == 0  # no element at all: every tag was text
    assert shown.text == "Watch this <script>alert(1)</script> & <b>that</b>"


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_markup_in_a_title_is_plain_text(fmt):
    a = article(1, title="1 < 2 & <b>bold</b>")
    entry = parsed([a], fmt).entries[0]
    assert entry.title == "1 < 2 & <b>bold</b>"
    if fmt == "atom":  # Atom says so explicitly; RSS 2.0 titles have no type
        assert entry.title_detail.type == "text/plain"


def test_json_excerpt_is_plain_text_not_html():
    a = rich(excerpt="Watch <script>alert(1)</script>")
    item = jsonfeed([a], spec(content="summary"))["items"][0]
    assert "content_html" not in item
    assert item["content_text"] == "Watch <script>alert(1)</script>"


# --- Atom 1.0 ------------------------------------------------------------------------------------


def test_atom_feed_identity_and_links():
    feed = atom([rich()])
    assert feed.findtext("atom:id", namespaces=NS) == BASE + "feeds/topics/ai.atom"
    assert feed.findtext("atom:title", namespaces=NS) == "Digest: AI"
    links = {link.get("rel"): link for link in feed.findall("atom:link", NS)}
    assert links["self"].get("href") == BASE + "feeds/topics/ai.atom"
    assert links["self"].get("type") == "application/atom+xml"
    assert links["alternate"].get("href") == BASE + "feeds/topics/ai.html"
    assert links["alternate"].get("type") == "text/html"
    assert feed.findtext("atom:author/atom:name", namespaces=NS) == "Digest Team"
    assert datetime.fromisoformat(feed.findtext("atom:updated", namespaces=NS)) == rich().published_at


def test_atom_entry_carries_every_field():
    a = rich()
    entry = atom([a], spec(content="full")).find("atom:entry", NS)
    assert entry.findtext("atom:id", namespaces=NS) == entry_id(spec(), a)
    assert entry.findtext("atom:title", namespaces=NS) == a.title
    assert entry.findtext("atom:author/atom:name", namespaces=NS) == "Wired"
    assert entry.findtext("atom:author/atom:uri", namespaces=NS) == "https://wired.com/"
    assert [c.get("term") for c in entry.findall("atom:category", NS)] == list(a.topics)
    summary = entry.find("atom:summary", NS)
    assert summary.get("type") == "html"
    content = entry.find("atom:content", NS)
    assert content.get("type") == "html"
    assert "Second paragraph" in content.text
    assert datetime.fromisoformat(entry.findtext("atom:published", namespaces=NS)) == a.published_at
    assert datetime.fromisoformat(entry.findtext("atom:updated", namespaces=NS)) == a.published_at
    assert entry.find("media:thumbnail", NS).get("url") == a.images[0].url


def test_atom_related_links_are_not_alternates():
    a = rich()
    entry = atom([a]).find("atom:entry", NS)
    links = entry.findall("atom:link", NS)
    # RFC 4287: a link without rel is an alternate
    alternates = [link.get("href") for link in links if link.get("rel", "alternate") == "alternate"]
    assert alternates == [a.link]
    related = [(link.get("href"), link.get("title")) for link in links if link.get("rel") == "related"]
    assert related == [(r.link, r.title) for r in a.related]
    # and a reader agrees
    reader = parsed([a], "atom").entries[0]
    assert reader.link == a.link
    assert [link.href for link in reader.links if link.rel == "related"] == [r.link for r in a.related]


def test_atom_content_absent_in_summary_feeds():
    entry = atom([rich()], spec(content="summary")).find("atom:entry", NS)
    assert entry.find("atom:content", NS) is None
    assert entry.find("atom:summary", NS) is not None


# --- JSON Feed 1.1 -------------------------------------------------------------------------------


def test_json_feed_top_level():
    feed = jsonfeed([rich()])
    assert json_feed_problems(feed) == []
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == BASE + "feeds/topics/ai.json"
    assert feed["home_page_url"] == BASE + "feeds/topics/ai.html"
    assert feed["title"] == "Digest: AI"
    assert feed["authors"] == [{"name": "Digest Team"}]


def test_json_feed_item_fields():
    a = rich()
    full = jsonfeed([a], spec(content="full"))["items"][0]
    assert full["id"] == entry_id(spec(), a)
    assert full["url"] == a.link
    assert full["title"] == a.title
    assert "Second paragraph, with 5 &lt; 6 &amp; more." in full["content_html"]
    assert "content_text" not in full
    assert full["date_published"] == "2021-01-02T00:00:00Z"
    assert datetime.fromisoformat(full["date_published"]) == a.published_at
    assert full["authors"] == [{"name": "Wired", "url": "https://wired.com/"}]
    assert full["tags"] == list(a.topics)
    assert full["image"] == a.images[0].url
    summary = jsonfeed([a], spec(content="summary"))["items"][0]
    assert summary["content_text"] == a.excerpt
    assert "content_html" not in summary


@pytest.mark.parametrize("domain, home", [
    ("wired.com", "https://wired.com/"), ("bücher.example", "https://xn--bcher-kva.example/"),
    ("例え.jp", "https://xn--r8jz45g.jp/"), ("exa_mple.例え.jp", None),  # IDNA refuses it: no author URL at all
])
def test_provider_home_page_is_a_uri_even_for_a_non_ascii_domain(domain, home):
    """Issue 13 (8): the domain became `https://bücher.example/`, an IRI, where RSS, Atom and JSON Feed want a URI."""
    a = rich(provider=Provider("Bücher", domain))
    assert atom([a]).find("atom:entry", NS).findtext("atom:author/atom:uri", namespaces=NS) == home
    assert jsonfeed([a])["items"][0]["authors"][0].get("url") == home


def test_json_date_is_utc_with_z_whatever_the_input_zone():
    shanghai = datetime(2021, 1, 21, 20, 6, tzinfo=UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    item = jsonfeed([article(1, published_at=shanghai)])["items"][0]
    assert item["date_published"] == "2021-01-21T20:06:00Z"


def test_json_minimal_item_is_still_valid():
    feed = jsonfeed([article(1)])
    assert json_feed_problems(feed) == []
    item = feed["items"][0]
    assert item["content_text"] == article(1).title
    for absent in ("tags", "authors", "image", "content_html"):
        assert absent not in item


# --- every format --------------------------------------------------------------------------------


def _urls_in_xml(root: etree._Element) -> list[str]:
    urls = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in ("href", "url", "uri"):
            if el.get(attr):
                urls.append(el.get(attr))
        if etree.QName(el).localname in ("link", "uri", "docs") and el.text and el.text.strip():
            urls.append(el.text.strip())
    return urls


def _urls_in_json(value, key=None) -> list[str]:
    if isinstance(value, dict):
        return [u for k, v in value.items() for u in _urls_in_json(v, k)]
    if isinstance(value, list):
        return [u for v in value for u in _urls_in_json(v, key)]
    if key in ("url", "feed_url", "home_page_url", "image", "icon", "favicon") and isinstance(value, str):
        return [value]
    return []


@pytest.mark.parametrize("base", ["https://news.example.org/site/", "http://127.0.0.1:8080/"])
def test_every_url_is_absolute(base):
    s = site(base_url=base)
    items = [rich(1), article(2)]
    spec_ = spec(logo="https://example.com/logo.png")
    xml_urls = _urls_in_xml(rss(items, spec_, s)) + _urls_in_xml(atom(items, spec_, s))
    json_urls = _urls_in_json(jsonfeed(items, spec_, s))
    assert len(xml_urls) > 10 and len(json_urls) > 5
    assert [u for u in xml_urls + json_urls if not is_absolute(u)] == []
    assert f"{base}feeds/topics/ai.rss" in xml_urls
    assert f"{base}feeds/topics/ai.json" in json_urls


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_an_empty_feed_renders_and_parses(fmt):
    data, count = render_feed(site(), spec(), [], fmt)
    assert count == 0
    if fmt == "json":
        feed = json.loads(data)
        assert json_feed_problems(feed) == []
        assert feed["items"] == []
    else:
        feed = parsed([], fmt)
        assert feed.entries == []
        assert feed.feed.title == "Digest: AI"


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_feedparser_reads_every_field(fmt):
    a = rich()
    feed = parsed([a], fmt, spec(content="full"))
    entry = feed.entries[0]
    assert entry.id == entry_id(spec(), a)
    assert entry.link == a.link
    assert entry.author == "Wired"
    assert [t.term for t in entry.tags] == list(a.topics)
    assert entry.published_parsed[:6] == a.published_at.timetuple()[:6]
    assert entry.media_thumbnail[0]["url"] == a.images[0].url
    assert "First paragraph" in entry.content[0].value


# --- byte budget ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_max_bytes_drops_items_from_the_end(fmt):
    items = [rich(n, body="word " * 200) for n in (5, 1, 8, 3, 6, 2, 9, 4)]
    full_spec = spec(content="full")
    unlimited, count = render_feed(site(), full_spec, items, fmt)
    assert count == len(items)
    budget = len(unlimited) * 6 // 10
    data, count = render_feed(site(), spec(content="full", max_bytes=budget), items, fmt)
    assert 0 < count < len(items)
    assert len(data) <= budget
    if fmt == "json":
        ids = [i["id"] for i in json.loads(data)["items"]]
    else:
        ids = [e.id for e in feedparser.parse(data).entries]
    assert ids == [entry_id(spec(), a) for a in items[:count]]
    # it is the largest prefix that fits
    one_more, _ = render_feed(site(), full_spec, items[:count + 1], fmt)
    assert len(one_more) > budget


@pytest.mark.parametrize("budget", ["both fit", "one fits", "neither fits"])
def test_formats_rendered_together_under_a_byte_budget_equal_each_rendered_alone(budget):
    """With max_bytes, RSS and Atom still share a generator; a format over the budget is cut on its own."""
    items = [rich(n, body="word " * 150) for n in (5, 1, 8, 3)]
    sizes = sorted(len(render_feed(site(), spec(content="full"), items, fmt)[0]) for fmt in ("rss", "atom"))
    max_bytes = {"both fit": sizes[1], "one fits": (sizes[0] + sizes[1]) // 2, "neither fits": sizes[0] * 7 // 10}
    spec_ = spec(content="full", max_bytes=max_bytes[budget])
    together = render_formats(site(), spec_, items)
    assert together == {fmt: render_feed(site(), spec_, items, fmt) for fmt in ("rss", "atom", "json")}
    cut = sum(count < len(items) for fmt, (_, count) in together.items() if fmt != "json")
    assert cut == {"both fit": 0, "one fits": 1, "neither fits": 2}[budget]


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_max_bytes_leaves_a_feed_that_fits_alone(fmt):
    items = [rich(1), rich(2)]
    unlimited, _ = render_feed(site(), spec(), items, fmt)
    data, count = render_feed(site(), spec(max_bytes=len(unlimited)), items, fmt)
    assert (data, count) == (unlimited, 2)


@pytest.mark.parametrize("total", [3, 4, 8])
@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_a_budget_met_exactly_by_a_shortened_feed_keeps_that_many_items(fmt, total):
    """max_bytes is the most a feed may weigh: a prefix of exactly that size fits, by render_feed alone and
    by render_formats (RSS and Atom from one generator)."""
    items = [rich(n, body="word " * 100) for n in range(1, total + 1)]
    two, _ = render_feed(site(), spec(content="full"), items[:2], fmt)
    budget = spec(content="full", max_bytes=len(two))
    assert render_feed(site(), budget, items, fmt) == (two, 2)
    together = render_formats(site(), budget, items)
    assert together[fmt] == (two, 2)
    assert set(together) == {"rss", "atom", "json"}


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_max_bytes_smaller_than_any_item_gives_an_empty_valid_feed(fmt):
    empty, _ = render_feed(site(), spec(), [], fmt)
    data, count = render_feed(site(), spec(max_bytes=len(empty) + 10), [rich(1), rich(2)], fmt)
    assert count == 0
    assert data == empty
