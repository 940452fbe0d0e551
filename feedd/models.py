"""Plain data that flows between the stages: no I/O here."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal, NamedTuple

from feedd.config import FeedSettings
from feedd.layout import feed_path

Level = Literal["error", "warning", "info"]
_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes


def url_urn(name: str) -> str:
    """f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}", without building a UUID object (a third of the
    time): every article id (fields.article_id, also for claimed ids and related links' targets) is one."""
    digest = bytearray(hashlib.sha1(_URL_NAMESPACE + name.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = digest.hex()
    return f"urn:uuid:{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """Something a publisher should know about one input file (or feed)."""

    path: str
    level: Level
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.level}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    domain: str | None = None
    logo: str | None = None


@dataclass(frozen=True, slots=True)
class Related:
    title: str
    link: str


@dataclass(frozen=True, slots=True)
class Article:
    """One article as every later stage sees it: typed, repaired, validated."""

    id: str
    source: str
    title: str
    link: str
    published_at: datetime
    published: bool = True
    excerpt: str | None = None
    heat: float | None = None
    quality: float | None = None
    category: str | None = None
    type: str | None = None
    provider: Provider | None = None
    topics: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()
    related: tuple[Related, ...] = ()
    body: str | None = None
    title_key: str = ""  # the title as full texts are matched to it: case, spacing and mojibake ignored


class Family(StrEnum):
    ALL = "all"
    CONFIGURED = "configured"
    CATEGORIES = "categories"
    TOPICS = "topics"
    PROVIDERS = "providers"


class FeedKey(NamedTuple):
    """One feed: its family and its slug (a configured feed's name). Its files are at `path`.{rss,atom,...}."""

    family: Family
    slug: str

    @property
    def path(self) -> str:
        """Output path without extension, relative to the output folder."""
        return feed_path(self.family, self.slug)


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One feed to publish: its name and title, and how it is ranked and rendered (from the config)."""

    family: Family
    slug: str
    title: str
    description: str
    settings: FeedSettings = FeedSettings()
    logo: str | None = None
    name: str = ""  # what the index page lists it as, without the site's name that its title repeats
    retained_since: datetime | None = None  # no longer has articles; published, empty, since then (see retain)

    @property
    def key(self) -> FeedKey:
        return FeedKey(self.family, self.slug)

    @property
    def path(self) -> str:
        """Output path without extension, relative to the output folder."""
        return feed_path(self.family, self.slug)


@dataclass(frozen=True, slots=True)
class FeedPlan:
    """A feed and its ranked items, before the byte budget is applied."""

    spec: FeedSpec
    items: tuple[Article, ...]
    total: int = 0


@dataclass
class BuildReport:
    """What one build did, for the CLI summary, the log and /healthz."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    articles: dict[str, int] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    summaries: list[FeedSummary] = field(default_factory=list)  # every feed published, in index order
    next_embargo: datetime | None = None
    open_diagnostics: int = 0  # warnings and errors across the whole folder (diagnostics may list fewer)
    held: str | None = None  # why nothing was published (a mass removal that looks like a mistake)
    changed: set[str] = field(default_factory=set)  # the article files read again (or gone) in this build
    started: datetime | None = None
    duration: float = 0.0

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "error"]

    @property
    def ok(self) -> bool:
        return not self.failed and self.held is None


@dataclass(frozen=True, slots=True)
class FeedSummary:
    """A published feed as the index page and OPML list it."""

    spec: FeedSpec
    count: int
    updated: datetime | None
