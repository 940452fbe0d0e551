"""PAGES: the index, the per-feed previews and OPML, parsed as a browser or feed reader would."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest
from lxml import etree

from feedd.config import FeedSettings
from feedd.feeds.pages import listed_site, listing_line, render_index, render_opml, render_preview
from feedd.feeds.render import SiteInfo
from feedd.models import Article, Family, FeedSpec, FeedSummary, Image, Provider

BASE = "https://news.example.org/site/"
SITE = SiteInfo(title="Digest", base_url=BASE, description="All the news", language="en", author="Digest Team")
WHEN = datetime(2021, 1, 21, 12, 6, tzinfo=UTC)


def summary(family: Family, slug: str, title: str, count: int = 1, formats=("rss", "atom", "json"), name="",
            **settings):
    """As spec_for makes them: a family feed's name is its title without the site's."""
    spec = FeedSpec(family=family, slug=slug, title=title, description=f"About {title}",
                    settings=FeedSettings(formats=tuple(formats), **settings),
                    name=name or title.removeprefix("Digest: "))
    return FeedSummary(spec, count, WHEN if count else None)


FEEDS = [
    summary(Family.ALL, "all", "Digest", 3, name="All articles"),
    summary(Family.CONFIGURED, "top", "Top <b>stories</b>", 2, formats=("atom", "json")),
    summary(Family.CATEGORIES, "news", "Digest: news", 3),
    summary(Family.TOPICS, "ai", "Digest: AI", 2),
    summary(Family.TOPICS, "ai-hardware", "Digest: AI Hardware", 1),
    summary(Family.PROVIDERS, "wired-com", "Digest: Wired", 0),
]
ELSEWHERE = "http://127.0.0.1:8090/"  # where the same folder is served too (another port, a proxy)


def hrefs_between_pages(doc: lxml.html.HtmlElement) -> list[str]:
    """Every link of a page but those to the articles themselves (and their images): to feeds, pages, OPML."""
    return [*doc.xpath("//head/link/@href"), *doc.xpath("//a[not(ancestor::article)]/@href")]


def article(n: int, **overrides) -> Article:
    values = {"id": f"urn:uuid:{n}", "source": f"{n}.txt", "title": f"Story {n}",
              "link": f"https://www.wired.com/story/{n}/", "published_at": WHEN}
    values.update(overrides)
    return Article(**values)


def index_doc():
    return lxml.html.fromstring(render_index(SITE, FEEDS))


def test_index_lists_every_feed_with_its_count():
    doc = index_doc()
    rows = {}
    for row in doc.xpath("//table//tr[td]"):
        cells = row.findall("td")
        rows[cells[0].text_content()] = (cells[0].find("a").get("href"), cells[1].text_content())
    assert rows == {
        "All articles": ("feeds/all.html", "3"),
        "Top <b>stories</b>": ("feeds/top.html", "2"),
        "news": ("feeds/categories/news.html", "3"),
        "AI": ("feeds/topics/ai.html", "2"),
        "AI Hardware": ("feeds/topics/ai-hardware.html", "1"),
        "Wired": ("feeds/providers/wired-com.html", "0"),
    }


def test_index_rows_show_the_feeds_name_and_keep_the_title_for_the_link():
    """Family feeds are titled "{site}: {name}": the site's name once per row would be noise."""
    doc = index_doc()
    links = doc.xpath("//table//tr/td[1]/a")
    assert [a.get("title") for a in links] == [f.spec.title for f in FEEDS]
    assert not any("Digest" in a.text_content() for a in links)


def test_index_groups_feeds_by_family_in_a_stable_order():
    doc = index_doc()
    assert [h.text_content() for h in doc.xpath("//h2")] == [
        "All articles", "Selected feeds", "Categories", "Topics", "Providers"]


def test_index_shows_last_update_or_never():
    doc = index_doc()
    updates = {row.findall("td")[0].text_content(): row.findall("td")[2].text_content()
               for row in doc.xpath("//table//tr[td]")}
    assert updates["All articles"] == "2021-01-21 12:06 UTC"
    assert updates["Wired"] == "never"


def test_index_has_autodiscovery_for_each_format_of_each_feed():
    doc = index_doc()
    found = {(link.get("type"), urljoin(BASE + "index.html", link.get("href")))
             for link in doc.xpath("//head/link[@rel='alternate']")}
    types = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}
    expected = {(types[fmt], f"{BASE}{f.spec.path}.{fmt}") for f in FEEDS for fmt in f.spec.settings.formats}
    assert found == expected
    assert (types["rss"], f"{BASE}feeds/top.rss") not in found  # `top` has no RSS
    assert len(doc.xpath("//head/link[@rel='alternate']")) == len(expected)


def test_index_subscribe_links_lead_to_each_format():
    doc = index_doc()
    hrefs = [a.get("href") for a in doc.xpath("//table//td[4]//a")]
    assert hrefs == [f"{f.spec.path}.{fmt}" for f in FEEDS for fmt in f.spec.settings.formats]


def test_index_links_to_the_opml():
    doc = index_doc()
    assert "feeds.opml" in [a.get("href") for a in doc.iter("a")]


def test_index_links_work_wherever_the_folder_is_served():
    """Relative links: served at another host and port than site.base_url, every link stays there."""
    hrefs = hrefs_between_pages(index_doc())
    assert len(hrefs) > 2 * len(FEEDS)
    assert [h for h in hrefs if not urljoin(ELSEWHERE + "index.html", h).startswith(ELSEWHERE)] == []
    assert {urljoin(ELSEWHERE + "index.html", h) for h in hrefs} >= {
        ELSEWHERE + "feeds.opml", ELSEWHERE + "feeds/topics/ai.html", ELSEWHERE + "feeds/topics/ai.rss"}


def test_index_escapes_feed_titles():
    doc = index_doc()
    assert doc.xpath("//table//b") == []  # no <b> element came from a title
    assert "Top <b>stories</b>" in [a.text_content() for a in doc.xpath("//table//a")]
    titles = [link.get("title") for link in doc.xpath("//head/link[@rel='alternate']")]
    assert "Top <b>stories</b> (Atom)" in titles


def test_index_of_nothing_still_links_the_opml():
    doc = lxml.html.fromstring(render_index(SITE, []))
    assert doc.xpath("//table") == []
    assert "feeds.opml" in [a.get("href") for a in doc.iter("a")]


def test_pages_fit_a_phone_without_a_sideways_scroll():
    """The CSS that keeps a 390 px phone from scrolling sideways (tests/test_phone.py checks it in Chromium):
    long words break anywhere, images shrink, nothing has a fixed width, and on a narrow screen each feed's
    table row becomes a block of lines."""
    for page in (render_index(SITE, FEEDS), render_preview(SITE, FEEDS[3], [article(1)])):
        doc = lxml.html.fromstring(page)
        assert doc.xpath("//meta[@name='viewport']/@content") == ["width=device-width, initial-scale=1"]
        css = doc.findtext(".//style")
        assert re.search(r"\bbody \{[^}]*overflow-wrap: anywhere", css)
        assert re.search(r"\bimg \{[^}]*max-width: 100%", css)
        assert not re.search(r"min-width|(?<!-)width: *[\d.]+(px|em|vw)", css), css
        narrow = re.search(r"@media \(max-width: 40rem\) \{(.*)\}", css, flags=re.DOTALL)
        assert narrow and "table, tbody, tr, td { display: block; }" in narrow.group(1)
        assert "thead { display: none; }" in narrow.group(1)


# --- previews ------------------------------------------------------------------------------------


def preview(items, feed=None):
    feed = feed or summary(Family.TOPICS, "ai", "Digest: <i>AI</i>", len(items))
    return lxml.html.fromstring(render_preview(SITE, feed, items))


def test_preview_lists_items_with_links_and_provider():
    items = [article(1, provider=Provider("Wired", "wired.com"), excerpt="An excerpt",
                     images=(Image("https://media.wired.com/1.jpg"),)),
             article(2)]
    doc = preview(items)
    headings = doc.xpath("//article//h2")
    assert [h.text_content() for h in headings] == ["Story 1", "Story 2"]
    assert [h.find("a").get("href") for h in headings] == [a.link for a in items]
    assert doc.xpath("//article//img/@src") == ["https://media.wired.com/1.jpg"]
    assert "Wired" in doc.xpath("//article")[0].text_content()
    assert "An excerpt" in doc.xpath("//article")[0].text_content()


def test_preview_autodiscovery_and_home_link():
    doc = preview([article(1)])
    hrefs = doc.xpath("//head/link[@rel='alternate']/@href")
    assert hrefs == [f"ai.{fmt}" for fmt in ("rss", "atom", "json")]
    assert "../../index.html" in doc.xpath("//a/@href")
    everything = lxml.html.fromstring(render_preview(SITE, FEEDS[0], []))
    assert everything.xpath("//head/link[@rel='alternate']/@href") == ["all.rss", "all.atom", "all.json"]
    assert "../index.html" in everything.xpath("//a/@href")


def test_preview_links_work_wherever_the_folder_is_served():
    page = ELSEWHERE + "feeds/topics/ai.html"
    hrefs = hrefs_between_pages(preview([article(1, provider=Provider("Wired", "wired.com"))]))
    assert len(hrefs) == 7  # 3 autodiscovery, home, 3 formats
    assert {urljoin(page, h) for h in hrefs} == {ELSEWHERE + "index.html"} | {
        f"{ELSEWHERE}feeds/topics/ai.{fmt}" for fmt in ("rss", "atom", "json")}


def test_preview_escapes_titles_and_excerpts():
    items = [article(1, title="<script>alert(1)</script> & <b>bold</b>",
                     excerpt="<img src=x onerror=alert(2)> text")]
    doc = preview(items)
    assert doc.xpath("//script") == []
    assert doc.xpath("//body//b") == []
    assert doc.xpath("//img[@onerror]") == []
    assert doc.xpath("//article//h2")[0].text_content() == "<script>alert(1)</script> & <b>bold</b>"
    assert "<img src=x onerror=alert(2)> text" in doc.xpath("//article")[0].text_content()
    assert doc.findtext(".//h1") == "Digest: <i>AI</i>"
    assert doc.findtext(".//title") == "Digest: <i>AI</i>"


def test_preview_drops_javascript_links_and_images():
    items = [article(1, title="Evil", link="javascript:alert(1)",
                     images=(Image("javascript:alert(2)"),)),
             article(2, title="Data", link="data:text/html,<script>alert(3)</script>")]
    doc = preview(items)
    headings = doc.xpath("//article//h2")
    assert [h.text_content() for h in headings] == ["Evil", "Data"]  # titles still shown
    for href in doc.xpath("//@href") + doc.xpath("//@src"):
        resolved = urljoin(BASE + "feeds/topics/ai.html", href)
        assert urlsplit(resolved).scheme in ("http", "https"), href
        assert urlsplit(resolved).path != "/site/feeds/topics/None", href  # no dangling link either
    assert doc.xpath("//article//h2/a") == []
    assert doc.xpath("//article//img") == []


def test_preview_of_an_empty_feed_says_so():
    doc = preview([], summary(Family.TOPICS, "ai", "Digest: AI", 0))
    assert doc.xpath("//article") == []
    assert "No items yet." in doc.text_content()


# --- OPML ----------------------------------------------------------------------------------------


def opml():
    return etree.fromstring(render_opml(SITE, FEEDS))


def test_opml_is_version_2_with_a_head():
    root = opml()
    assert root.tag == "opml"
    assert root.get("version") == "2.0"
    assert root.findtext("head/title") == "Digest"
    assert root.find("body") is not None


def test_opml_groups_feeds_by_family():
    body = opml().find("body")
    groups = {g.get("text"): [o.get("title") for o in g.findall("outline")] for g in body.findall("outline")}
    assert groups == {
        "All articles": ["Digest"],
        "Selected feeds": ["Top <b>stories</b>"],
        "Categories": ["Digest: news"],
        "Topics": ["Digest: AI", "Digest: AI Hardware"],
        "Providers": ["Digest: Wired"],
    }


def test_opml_subscriptions_are_absolute_and_prefer_rss():
    outlines = opml().findall("body/outline/outline")
    assert len(outlines) == len(FEEDS)
    for outline in outlines:
        assert outline.get("type") == "rss"
        for attr in ("xmlUrl", "htmlUrl"):
            parts = urlsplit(outline.get(attr))
            assert parts.scheme == "https" and parts.netloc == "news.example.org", outline.get(attr)
    urls = {o.get("title"): o.get("xmlUrl") for o in outlines}
    assert urls["Digest: AI"] == BASE + "feeds/topics/ai.rss"
    assert urls["Top <b>stories</b>"] == BASE + "feeds/top.atom"  # no RSS: its first format
    assert {o.get("htmlUrl") for o in outlines} >= {BASE + "feeds/topics/ai.html"}


def test_opml_of_nothing_is_still_valid():
    root = etree.fromstring(render_opml(SITE, []))
    assert root.get("version") == "2.0"
    assert root.findall("body/outline") == []


# --- what the pages show, for their fingerprint ------------------------------------------------------------

# Another value for every field the index pages are given (a new field must be added here, shown or not)
OTHER = {
    "site": {"title": "Other digest", "base_url": "https://other.example/", "description": "Other news",
             "language": "de", "author": "Someone else", "provider_feeds": {"wired-com": BASE + "x.rss"},
             "hubs": ("https://hub.example/",)},
    "spec": {"family": Family.CATEGORIES, "slug": "other", "title": "Digest: Other", "description": "Other",
             "logo": "https://example.com/logo.png", "name": "Other", "retained_since": WHEN - timedelta(days=2)},
    "settings": {"limit": 7, "sort": "trending", "half_life": timedelta(hours=2), "formats": ("json",),
                 "content": "full", "max_bytes": 1000, "entry_ids": "per-feed"},
    "summary": {"count": 5, "updated": WHEN + timedelta(minutes=1)},
}
SHOWN = {("site", f) for f in ("title", "base_url", "description", "language", "author")} | {
    ("spec", f) for f in ("family", "slug", "title", "name", "retained_since")} | {
    ("settings", "formats"), ("summary", "count"), ("summary", "updated")}


def _changed(feed: FeedSummary, part: str, field: str) -> FeedSummary:
    value = OTHER[part][field]
    if part == "summary":
        return dataclasses.replace(feed, **{field: value})
    if part == "settings":
        value, field = feed.spec.settings.model_copy(update={field: value}), "settings"
    return dataclasses.replace(feed, spec=dataclasses.replace(feed.spec, **{field: value}))


def test_the_listing_covers_every_field_of_the_index_pages_that_they_show():
    """Published.pages_fingerprint renders the pages again only when listed_site or a feed's listing_line
    changes: a field the pages show that the listing left out would leave them stale. Each field of the site,
    of a feed's spec, settings and summary is changed in turn, in a feed with items and in an empty one."""
    assert {part: set(values) for part, values in OTHER.items()} == {
        "site": {f.name for f in dataclasses.fields(SiteInfo)},
        "spec": {f.name for f in dataclasses.fields(FeedSpec)} - {"settings"},
        "settings": set(FeedSettings.model_fields),
        "summary": {f.name for f in dataclasses.fields(FeedSummary)} - {"spec"}}

    def pages(site, feeds):
        return render_index(site, feeds), render_opml(site, feeds)

    def listing(site, feeds):
        return [listed_site(site), *map(listing_line, feeds)]

    shown = set()
    for part, values in OTHER.items():
        for field in values:
            for n in (3, 5):  # AI (2 items), Wired (none)
                site, feeds = SITE, list(FEEDS)
                if part == "site":
                    site = dataclasses.replace(SITE, **{field: values[field]})
                else:
                    feeds[n] = _changed(feeds[n], part, field)
                if pages(site, feeds) != pages(SITE, FEEDS):
                    shown.add((part, field))
                    assert listing(site, feeds) != listing(SITE, FEEDS), (part, field)
    assert shown == SHOWN


# --- how a preview is ranked -----------------------------------------------------------------------


def test_a_heat_ranked_preview_says_so_and_shows_each_items_heat():
    items = [article(1, heat=115.0), article(2, heat=12.5), article(3)]
    doc = preview(items, summary(Family.CONFIGURED, "top", "Top stories", 3, sort="heat"))
    assert doc.xpath("//p[@class='ranking']")[0].text_content() == "Ranked by heat, hottest first."
    assert [h.text_content() for h in doc.xpath("//article//*[@class='heat']")] == [
        "heat 115", "heat 12.5", "no heat"]


def test_a_trending_preview_says_so_with_its_half_life_and_shows_each_items_heat():
    feed = summary(Family.CONFIGURED, "trending", "Trending", 1, sort="trending", half_life=timedelta(hours=36))
    doc = preview([article(1, heat=7.0)], feed)
    assert doc.xpath("//p[@class='ranking']")[0].text_content() == (
        "Ranked by trending: heat that halves every 36 hours since publication, hottest first.")
    assert [h.text_content() for h in doc.xpath("//article//*[@class='heat']")] == ["heat 7"]


def test_a_date_ranked_preview_shows_no_heat():
    doc = preview([article(1, heat=115.0)])
    assert doc.xpath("//*[@class='ranking']") == doc.xpath("//*[@class='heat']") == []
    assert "heat" not in doc.text_content()


@pytest.mark.parametrize(("half_life", "shown"), [
    (timedelta(hours=24), "24 hours"), (timedelta(days=7), "7 days"), (timedelta(hours=1), "1 hour"),
    (timedelta(minutes=30), "30 minutes"), (timedelta(seconds=90), "90 seconds"), (timedelta(days=2), "2 days"),
])
def test_half_life_as_people_say_it(half_life, shown):
    feed = summary(Family.ALL, "all", "Digest", 1, name="All articles", sort="trending", half_life=half_life)
    assert f"every {shown} since" in preview([article(1)], feed).text_content()
