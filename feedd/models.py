"""Plain data that flows between the stages: no I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Literal

Level = Literal["error", "warning", "info"]


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


@lru_cache(maxsize=1 << 16)  # called per feed per build: 2,300 feeds × Enum.value added up
def feed_path(family: Family, slug: str) -> str:
    """Where a feed's files go, without extension: `feeds/all`, `feeds/<name>`, `feeds/topics/<slug>`."""
    if family in (Family.ALL, Family.CONFIGURED):
        return f"feeds/{slug}"
    return f"feeds/{family.value}/{slug}"


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One feed to publish: what goes in it and how it is ranked and rendered."""

    family: Family
    slug: str
    title: str
    description: str
    sort: Literal["date", "heat", "trending"] = "date"
    half_life: timedelta = timedelta(hours=24)
    limit: int = 50
    formats: tuple[str, ...] = ("rss", "atom", "json")
    content: Literal["summary", "full"] = "summary"
    max_bytes: int | None = None
    logo: str | None = None

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
    feeds: list[FeedSummary] = field(default_factory=list)
    next_embargo: datetime | None = None
    open_diagnostics: int = 0  # warnings and errors across the whole folder (diagnostics may list fewer)
    started: datetime | None = None
    duration: float = 0.0

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "error"]

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True, slots=True)
class FeedSummary:
    """A published feed as the index page and OPML list it."""

    spec: FeedSpec
    count: int
    updated: datetime | None
