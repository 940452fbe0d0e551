"""The URL contract: where each feed and page is published, in which formats, with which media types.

Subscribers' readers hold these URLs, and contrib/nginx.conf serves the same types: change nothing here
without a redirect plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

FORMATS = ("rss", "atom", "json")  # the feed formats, in the order feeds list them
PREVIEW = "html"  # each feed's human preview page, its alternate link
FEED_FILES = (*FORMATS, PREVIEW)  # every file a feed can have
FEEDS_DIR = "feeds"
INDEX, OPML = "index.html", "feeds.opml"
PAGES = (INDEX, OPML)  # the pages that list every feed
GONE_DIR = ".gone"

# Media types by file extension; those in CHARSET are served with "; charset=utf-8". JSON is UTF-8 by
# definition (RFC 8259), and application/feed+json takes no charset parameter.
MEDIA_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
    "opml": "text/x-opml",
    "html": "text/html",
    "xml": "application/xml",
    "txt": "text/plain",
}
CHARSET = frozenset({"rss", "atom", "opml", "html", "xml", "txt"})
COMPRESSED = frozenset({"rss", "atom", "json", "html", "opml", "xml"})  # published with a .gz sibling


def content_type(extension: str) -> str:
    """The Content-Type a file with this extension is served with."""
    media = MEDIA_TYPES.get(extension, "application/octet-stream")
    return f"{media}; charset=utf-8" if extension in CHARSET else media


@lru_cache(maxsize=1 << 16)  # called for every feed of every build
def feed_path(family: str, slug: str) -> str:
    """Where a feed's files go, without extension: `feeds/all`, `feeds/<name>`, `feeds/topics/<slug>`."""
    if family in ("all", "configured"):
        return f"{FEEDS_DIR}/{slug}"
    return f"{FEEDS_DIR}/{family}/{slug}"


def feed_key(path: str) -> tuple[str, str]:
    """(family, slug) of a feed's path (feed_path's inverse); `configured` for the top level but `all`."""
    parts = path.split("/")
    if len(parts) == 3:
        return parts[1], parts[2]
    return ("all" if parts[1] == "all" else "configured"), parts[1]


def gone_marker(rel: str) -> str:
    """Where the output folder records that a file was published once and is gone for good (410 Gone): a
    hidden folder, never served itself, that nginx can test for too."""
    return f"{GONE_DIR}/{rel}"


def feed_files(path: str, formats: Iterable[str]) -> list[str]:
    """The files one feed publishes (its formats and its preview), relative to the output folder."""
    return [f"{path}.{ext}" for ext in (*formats, PREVIEW)]
