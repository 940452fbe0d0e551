"""Test helpers, imported as `from tests.helpers import ...` (fixtures are in conftest.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from feedd.config import Config, validate_config
from feedd.feeds.membership import Membership
from feedd.ingest.index import ArticleIndex
from feedd.models import Article, Diagnostic, FeedPlan

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "articles"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


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
