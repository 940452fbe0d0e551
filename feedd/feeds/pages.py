"""RENDER, for people and feed readers' import dialogs: the index page, per-feed previews and OPML.

The HTML pages link to each other and to the feeds with relative URLs, so they work at whatever address
they are served from (another port, a proxy, a file:// folder); OPML is for feed readers, which need
absolute URLs, so it has site.base_url's, as the feeds themselves do.
"""

from __future__ import annotations

import io
import math
import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape

from feedd.feeds.render import SiteInfo, feed_url, page_url
from feedd.layout import INDEX, MEDIA_TYPES, OPML, PREVIEW
from feedd.models import Article, Family, FeedSummary

FORMAT_LABELS = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}
FAMILY_TITLES = {
    Family.ALL: "All articles",
    Family.CONFIGURED: "Selected feeds",
    Family.CATEGORIES: "Categories",
    Family.TOPICS: "Topics",
    Family.PROVIDERS: "Providers",
}


def _safe_url(url: str | None) -> str | None:
    """Only http(s) URLs reach an href or src."""
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def _date(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment and moment.year > 1970 else "never"


def _heat(value: float | None) -> str:
    """An item's heat as people write it: `heat 115`, `heat 12.5`, `no heat`."""
    if value is None:
        return "no heat"
    if not math.isfinite(value) or value != int(value):
        return "heat " + (f"{value:.2f}".rstrip("0").rstrip(".") if math.isfinite(value) else str(value))
    return f"heat {int(value)}"


def _duration(value: timedelta) -> str:
    """A half-life as people say it: 36 hours, 7 days, 30 minutes."""
    seconds = int(value.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds // size >= (2 if unit == "day" else 1):
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


_env = Environment(loader=PackageLoader("feedd.feeds", "templates"), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
_env.filters.update(safe_url=_safe_url, date=_date, heat=_heat, duration=_duration)


def _relative(target: str, page: str) -> str:
    """A link from one page to another file of the output folder, both given by their path in it."""
    return posixpath.relpath(target, posixpath.dirname(page) or ".")


def _groups(feeds: Sequence[FeedSummary]) -> list[tuple[str, list[FeedSummary]]]:
    return [(FAMILY_TITLES[family], [f for f in feeds if f.spec.family is family])
            for family in FAMILY_TITLES if any(f.spec.family is family for f in feeds)]


def _links(summary: FeedSummary, page: str) -> list[tuple[str, str, str]]:
    """(label, URL relative to the page, media type) of each format of a feed."""
    return [(FORMAT_LABELS[fmt], _relative(f"{summary.spec.path}.{fmt}", page), MEDIA_TYPES[fmt])
            for fmt in summary.spec.settings.formats]


def _render(template: str, **context: Any) -> bytes:
    """The page as UTF-8, encoded as Jinja generates it: rendering the index of 2,300 feeds to one string
    first holds every piece of it at once, several times the page's size."""
    out = io.BytesIO()
    for piece in _env.get_template(template).generate(**context):
        out.write(piece.encode("utf-8"))
    return out.getvalue()


def render_index(site: SiteInfo, feeds: Sequence[FeedSummary]) -> bytes:
    return _render("index.html", site=site, groups=_groups(feeds), links=lambda f: _links(f, INDEX),
                   preview=lambda f: _relative(f"{f.spec.path}.{PREVIEW}", INDEX), opml=_relative(OPML, INDEX))


def render_preview(site: SiteInfo, summary: FeedSummary, items: Sequence[Article]) -> bytes:
    page = f"{summary.spec.path}.{PREVIEW}"
    return _render("feed.html", site=site, feed=summary, items=items, links=_links(summary, page),
                   home=_relative(INDEX, page))


def listed_site(site: SiteInfo) -> str:
    """All index.html and feeds.opml show of the site (the OPML's absolute URLs start with base_url)."""
    return repr((site.title, site.base_url, site.description, site.language, site.author))


def listing_line(summary: FeedSummary) -> str:
    """All index.html and feeds.opml show of one feed: its family (the group), path (the links), name and
    title, formats, item count, last update and whether it is kept published, empty. Nothing of its items
    but how many and how new: an edited title or text changes neither page."""
    spec = summary.spec
    return repr((spec.family.value, spec.path, spec.name, spec.title, spec.settings.formats, summary.count,
                 summary.updated, spec.retained_since))


def render_opml(site: SiteInfo, feeds: Sequence[FeedSummary]) -> bytes:
    """OPML 2.0: every feed's RSS (else first format), grouped by family, absolute xmlUrl."""
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = site.title
    ET.SubElement(head, "ownerName").text = site.author
    ET.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = ET.SubElement(opml, "body")
    for title, members in _groups(feeds):
        group = ET.SubElement(body, "outline", text=title, title=title)
        for summary in members:
            fmt = "rss" if "rss" in summary.spec.settings.formats else summary.spec.settings.formats[0]
            ET.SubElement(group, "outline", type="rss", text=summary.spec.title, title=summary.spec.title,
                          xmlUrl=feed_url(site, summary.spec, fmt), htmlUrl=page_url(site, summary.spec))
    ET.indent(opml)
    return ET.tostring(opml, encoding="utf-8", xml_declaration=True) + b"\n"
