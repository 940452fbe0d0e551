"""RENDER: a feed's spec and items → RSS 2.0, Atom 1.0 or JSON Feed 1.1 bytes. The only feedgen importer.

Output depends only on its inputs: the feed's updated time is its newest item's, never the clock's.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from feedd.config import Config
from feedd.feeds.slugs import name_key
from feedd.ingest.text import body_html
from feedd.layout import MEDIA_TYPES, PREVIEW
from feedd.models import Article, Family, FeedKey, FeedSpec, FeedSummary, url_urn
from feedd.urls import domain_url

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_NS = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class SiteInfo:
    """What every feed of the site shares."""

    title: str
    base_url: str
    description: str
    language: str
    author: str
    provider_feeds: dict[str, str] = field(default_factory=dict)  # provider (name_key of its domain) → its RSS URL
    hubs: tuple[str, ...] = ()  # WebSub hubs every feed advertises (config.hub_urls)

    def url(self, path: str) -> str:
        """An absolute URL for a path relative to the site (base_url always ends with '/')."""
        return self.base_url + path

    def source_of(self, article: Article) -> str | None:
        """The RSS URL of the article's provider feed, when there is one (for RSS <source>)."""
        p = article.provider
        return self.provider_feeds.get(name_key(p.domain or p.name)) if p else None


def site_info(config: Config, keys: Iterable[FeedKey], providers: Mapping[str, str]) -> SiteInfo:
    """What every feed of the site shares, for the feeds that exist now (for the providers' feed URLs);
    `providers`: provider feed slug → the provider (domain, else name) it was given to (Slugs.owners)."""
    s = config.site
    site = SiteInfo(title=s.title, base_url=s.base_url, description=s.description, language=s.language,
                    author=s.author or s.title, hubs=config.hub_urls)
    if "rss" in config.defaults.formats:
        site.provider_feeds.update({providers[key.slug]: site.url(f"{key.path}.rss") for key in keys
                                    if key.family is Family.PROVIDERS and key.slug in providers})
    return site


def feed_url(site: SiteInfo, spec: FeedSpec, fmt: str) -> str:
    return site.url(f"{spec.path}.{fmt}")


def page_url(site: SiteInfo, spec: FeedSpec) -> str:
    """The human preview page of a feed, its alternate link."""
    return site.url(f"{spec.path}.{PREVIEW}")


def entry_id(spec: FeedSpec, article: Article) -> str:
    """The id of an article's entry (RSS guid, atom:id, JSON Feed id): the article's own id, the same in every
    feed that carries it (RFC 4287 4.2.6), so aggregators and planets see one article once.

    With `entry_ids: per-feed`, the article id qualified by the feed instead: readers such as newsboat key
    items by id across every feed they follow (newsboat issue #898), and with one id per article an article
    in both `all` and a topic feed hops between the two on reload. Both are stable across edits, renames and
    http to https, as the article id is.
    """
    if spec.settings.entry_ids == "per-feed":
        return _feed_uuid(article.id, spec.path)
    return article.id


@lru_cache(maxsize=4096)  # each feed is rendered in three formats, and an edit renders the same feeds again
def _feed_uuid(article_id: str, path: str) -> str:
    return url_urn(f"{article_id}#{path}")


def summarize(spec: FeedSpec, items: Sequence[Article]) -> FeedSummary:
    """What the index pages show of a feed that shows these items: how many, and when it last changed (for
    an empty feed kept published, the moment it became empty)."""
    return FeedSummary(spec, len(items), updated(items) if items else spec.retained_since)


def updated(items: Sequence[Article]) -> datetime:
    """A feed changes when its newest item does; an empty feed is as old as can be."""
    return max((a.published_at for a in items), default=EPOCH)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _LinksEntryExtension(BaseEntryExtension):
    """Related links (Atom) and <source> (RSS), which feedgen 1.0 writes wrongly.

    feedgen drops rel/type/title from entry links (so related links became duplicate alternates) and writes
    an Atom <source> without the id and updated it requires.
    """

    def __init__(self) -> None:
        self.related: list[tuple[str, str]] = []
        self.source: tuple[str, str] | None = None

    def extend_atom(self, entry):
        for title, href in self.related:
            xml_elem("link", entry, rel="related", href=href, title=title)
        return entry

    def extend_rss(self, item):
        if self.source:
            url, title = self.source
            xml_elem("source", item, url=url).text = title
        return item


class _HubsExtension(BaseExtension):
    """WebSub discovery (§4): a link rel=hub per hub, beside the feed's rel=self link. feedgen writes only
    rel=self as atom:link in RSS, and takes its RSS <link> from the last link added, so the hubs are added
    here, to the finished XML, not with fg.link()."""

    def __init__(self) -> None:
        self.hubs: tuple[str, ...] = ()

    def _add(self, parent, tag: str) -> None:
        links = [i for i, child in enumerate(parent) if child.tag == tag]
        at = links[-1] + 1 if links else len(parent)
        for offset, hub in enumerate(self.hubs):
            parent.insert(at + offset, parent.makeelement(tag, {"href": hub, "rel": "hub"}))

    def extend_atom(self, feed):
        self._add(feed, "link")  # feedgen's Atom elements are unqualified, under a default-namespace root
        return feed

    def extend_rss(self, feed):
        self._add(feed[0], f"{{{ATOM_NS}}}link")  # into <channel>, after atom:link rel=self
        return feed


def _generator(site: SiteInfo, spec: FeedSpec, items: Sequence[Article], fmt: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.load_extension("media")
    fg.load_extension("dc", atom=False)
    fg.register_extension("links", BaseExtension, _LinksEntryExtension)
    if site.hubs:
        fg.register_extension("hubs", _HubsExtension)
        fg.hubs.hubs = site.hubs
    fg.id(feed_url(site, spec, "atom"))
    fg.title(spec.title)
    fg.subtitle(spec.description)
    _links(fg, site, spec, fmt)
    fg.language(site.language)
    fg.author({"name": site.author})
    fg.generator("feedd", uri="https://github.com/feedd/feedd")
    if spec.logo:
        fg.icon(spec.logo)
        fg.image(url=spec.logo, title=spec.title, link=page_url(site, spec))
    fg.updated(updated(items) if items else spec.retained_since or EPOCH)
    for article in items:
        _entry(fg, site, spec, article)
    return fg


def _links(fg: FeedGenerator, site: SiteInfo, spec: FeedSpec, fmt: str) -> None:
    """The feed's own URL (rel=self, this format's) and its preview page."""
    fg.link(href=feed_url(site, spec, fmt), rel="self", replace=True, type=MEDIA_TYPES[fmt])
    fg.link(href=page_url(site, spec), rel="alternate", type=MEDIA_TYPES[PREVIEW])


def _entry(fg: FeedGenerator, site: SiteInfo, spec: FeedSpec, a: Article) -> None:
    fe = fg.add_entry(order="append")
    fe.id(entry_id(spec, a))
    fe.title(a.title)
    fe.link(href=a.link, rel="alternate", type="text/html")
    fe.links.related = [(r.title, r.link) for r in a.related]
    fe.published(a.published_at)
    fe.updated(a.published_at)
    if a.excerpt:
        fe.summary(html.escape(a.excerpt, quote=False), type="html")  # text, never markup, in every reader
    if spec.settings.content == "full" and a.body:
        fe.content(body_html(a.body), type="html")
    if a.provider:
        author = {"name": a.provider.name}
        if a.provider.domain and (home := domain_url(a.provider.domain)):  # IDNA: a non-ASCII name is no URI
            author["uri"] = home
        fe.author(author)
        fe.dc.dc_creator(a.provider.name)
        if source := site.source_of(a):
            fe.links.source = (source, a.provider.name)
    if a.topics:
        fe.category([{"term": t} for t in a.topics])  # one call: feedgen re-maps all categories per call
    if a.images:
        first = a.images[0]
        sizes = {k: str(v) for k, v in (("width", first.width), ("height", first.height)) if v}
        fe.media.thumbnail({"url": first.url, **sizes}, group=None)
        fe.media.content({"url": first.url, "medium": "image", **sizes}, group=None)


def render_rss(site: SiteInfo, spec: FeedSpec, items: Sequence[Article]) -> bytes:
    return _generator(site, spec, items, "rss").rss_str(pretty=True)  # subtitle() set the description


def render_atom(site: SiteInfo, spec: FeedSpec, items: Sequence[Article]) -> bytes:
    return _generator(site, spec, items, "atom").atom_str(pretty=True)


def render_json(site: SiteInfo, spec: FeedSpec, items: Sequence[Article]) -> bytes:
    feed: dict = {
        "version": JSON_FEED_VERSION,
        "title": spec.title,
        "home_page_url": page_url(site, spec),
        "feed_url": feed_url(site, spec, "json"),
        **({"hubs": [{"type": "WebSub", "url": hub} for hub in site.hubs]} if site.hubs else {}),
        "description": spec.description,
        "language": site.language,
        "authors": [{"name": site.author}],
    }
    if spec.logo:
        feed["icon"] = feed["favicon"] = spec.logo
    feed["items"] = [_json_item(spec, a) for a in items]
    # compact: the indented form runs json's pure-Python encoder, several times slower; people read the
    # HTML preview, programs the JSON
    return json.dumps(feed, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _json_item(spec: FeedSpec, a: Article) -> dict:
    item: dict = {"id": entry_id(spec, a), "url": a.link, "title": a.title}
    if a.excerpt:
        item["summary"] = a.excerpt
    if spec.settings.content == "full" and a.body:
        item["content_html"] = body_html(a.body)
    else:
        item["content_text"] = a.excerpt or a.title
    if a.images:
        item["image"] = a.images[0].url
    item["date_published"] = item["date_modified"] = _rfc3339(a.published_at)
    if a.provider:
        author = {"name": a.provider.name}
        if a.provider.domain and (home := domain_url(a.provider.domain)):
            author["url"] = home
        item["authors"] = [author]
    if a.topics:
        item["tags"] = list(a.topics)
    if a.related:
        item["_feedd"] = {"related": [{"title": r.title, "url": r.link} for r in a.related]}
    return item


RENDERERS: dict[str, Callable[[SiteInfo, FeedSpec, Sequence[Article]], bytes]] = {
    "rss": render_rss,
    "atom": render_atom,
    "json": render_json,
}


def render_formats(site: SiteInfo, spec: FeedSpec, items: Sequence[Article]) -> dict[str, tuple[bytes, int]]:
    """Every format of one feed, as render_feed gives each. RSS and Atom come from one feedgen generator:
    adding the entries is most of feedgen's time, and only the self link differs. Only a format over
    spec.settings.max_bytes is rendered again, alone, to find how many items fit."""
    if not {"rss", "atom"} <= set(spec.settings.formats):
        return {fmt: render_feed(site, spec, items, fmt) for fmt in spec.settings.formats}
    fg = _generator(site, spec, items, "atom")
    shared = {"atom": fg.atom_str(pretty=True)}
    _links(fg, site, spec, "rss")
    shared["rss"] = fg.rss_str(pretty=True)
    return {fmt: _fit(RENDERERS[fmt], site, spec, items, shared.get(fmt)) for fmt in spec.settings.formats}


def render_feed(site: SiteInfo, spec: FeedSpec, items: Sequence[Article], fmt: str) -> tuple[bytes, int]:
    """Render one format; drop items from the end until the feed fits spec.settings.max_bytes.

    Returns the bytes and how many items they hold.
    """
    return _fit(RENDERERS[fmt], site, spec, items)


def _fit(render: Callable[[SiteInfo, FeedSpec, Sequence[Article]], bytes], site: SiteInfo, spec: FeedSpec,
         items: Sequence[Article], data: bytes | None = None) -> tuple[bytes, int]:
    """render_feed, starting from the rendering of all the items when there is one already."""
    if data is None:
        data = render(site, spec, items)
    if spec.settings.max_bytes is None or len(data) <= spec.settings.max_bytes or not items:
        return data, len(items)
    fits, too_many = 0, len(items)  # invariant: items[:fits] fits (or is empty), items[:too_many] does not
    while too_many - fits > 1:
        middle = (fits + too_many) // 2
        if len(render(site, spec, items[:middle])) <= spec.settings.max_bytes:
            fits = middle
        else:
            too_many = middle
    return render(site, spec, items[:fits]), fits
