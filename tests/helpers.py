"""Test helpers, imported as `from tests.helpers import ...` (fixtures are in conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser

from feedd.config import Config, validate_config
from feedd.feeds.membership import Membership
from feedd.ingest.index import ArticleIndex
from feedd.models import Article, Diagnostic, FeedPlan

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "articles"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def no_retention(families: dict | None = None) -> dict:
    """`families` settings (given ones kept) under which a feed that loses its articles is removed at once, as a
    fresh full build (without the history retention needs) would leave it."""
    families = dict(families or {})
    for family in ("categories", "topics", "providers"):
        families[family] = {**families.get(family, {}), "retain": "0s"}
    return families


def make_config(articles: Path, output: Path | None = None, **sections) -> Config:
    """A validated Config over the given folders; extra sections as keyword arguments."""
    data = {"paths": {"articles": str(articles), "output": str(output or articles.parent / "public"),
                      "state": str(articles.parent / "state")}, **sections}
    return validate_config(data)


def write_article(folder: Path, name: str, **fields) -> Path:
    """Write a front matter file; values are YAML text, written as given."""
    defaults = {
        "title": '"A title"',
        "webUrl": f'"https://example.com/{name}"',
        "publishedDateTime": "2021-01-21T12:06:00Z",
        "published": "true",
    }
    defaults.update(fields)
    lines = ["---"] + [f"{k}: {v}" for k, v in defaults.items() if v is not None] + ["---", ""]
    path = folder / name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@dataclass
class Corpus:
    """Every article that could be read (with its full text) and what was said about the rest."""

    articles: list[Article] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    rejected: int = 0
    orphans: int = 0


def load_corpus(config: Config) -> Corpus:
    """Read the whole articles folder once, without persisting anything: every article with its full text."""
    if not config.paths.articles.is_dir():
        return Corpus(diagnostics=[Diagnostic(str(config.paths.articles), "error", "articles folder does not exist")])
    index = ArticleIndex(config, persist=False, workers=1)
    try:
        index.refresh()
        rejected, orphans = index.counts()
        articles = [index.full(a, with_body=True) for a in sorted(index.articles(), key=lambda a: a.source)]
        return Corpus(articles, index.diagnostics(), rejected, orphans)
    finally:
        index.close()


def plan_all(config: Config, articles: Iterable[Article], now: datetime) -> list[FeedPlan]:
    """Every feed that exists now, with its ranked and limited items, in index order."""
    membership = Membership(config, now)
    membership.add_all(articles)
    return [membership.plan(key) for key in membership.keys()]


# --- what a feed may carry: URLs and dates every reader and validator accepts (issue 13, points 7 and 8) -----

URI_CHARS = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*")  # RFC 3986 path, query, fragment
USERINFO = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=:-]|%[0-9A-Fa-f]{2})*")
RFC822 = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                    r"(\d{4}) \d\d:\d\d:\d\d [+-]\d{4}")
RFC3339 = re.compile(r"(\d{4})-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def url_problem(url: str) -> str | None:
    """Why url is not an absolute http(s) URL that RFC 3986 accepts as it is (entry ids are urn:uuid)."""
    if re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", url):
        return None
    match = re.fullmatch(r"(?i:https?)://(?:([^/?#@]*)@)?([^/?#@]+)([^#]*)(?:#(.*))?", url, re.DOTALL)
    if not match:
        return "not an absolute http(s) URL"
    userinfo, host, rest, fragment = match.groups()
    if userinfo is not None and not USERINFO.fullmatch(userinfo):
        return "user name"
    if not re.fullmatch(r"(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?", host):
        return "host"
    if not URI_CHARS.fullmatch(rest) or (fragment is not None and not URI_CHARS.fullmatch(fragment)):
        return "a character RFC 3986 does not allow"
    return None


def date_problem(name: str, text: str) -> str | None:
    """Why a feed's date is not one RFC 822 (RSS) or RFC 3339 (Atom, JSON Feed) and feed readers accept."""
    if name in ("pubDate", "lastBuildDate"):
        if not (match := RFC822.fullmatch(text)):
            return "not RFC 822 with a 4-digit year"
        moment = parsedate_to_datetime(text)
        if moment.strftime("%a") != match.group(1):
            return "wrong day of the week"
        year = int(match.group(3))
    else:
        if not (match := RFC3339.fullmatch(text)):
            return "not RFC 3339"
        year = int(match.group(1))
    parsed = feedparser.datetimes._parse_date(text)  # what readers make of it: year 1 was read as 2001
    if year < 1970 or parsed is None or parsed.tm_year != year:
        return f"year {year}, read as {parsed and parsed.tm_year}"
    return None
