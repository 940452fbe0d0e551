from __future__ import annotations

import importlib
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedd.config import Config, validate_config
from feedd.ingest.index import ArticleIndex
from feedd.models import Article, Diagnostic

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "articles"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def articles_dir(tmp_path: Path) -> Path:
    """An empty articles folder."""
    folder = tmp_path / "articles"
    folder.mkdir()
    return folder


@pytest.fixture
def seeds_dir(tmp_path: Path) -> Path:
    """A private copy of the five sample articles."""
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    return folder


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


@pytest.fixture
def fail_render(monkeypatch):
    """fail_render("feeds/topics/ai") makes rendering that one feed raise; restore() undoes it."""
    module = importlib.import_module("feedd.pipeline")  # `feedd.pipeline` as an attribute is the build() function
    real = module.render_formats

    def fail(path: str):
        def broken(site, spec, items):
            if spec.path == path:
                raise RuntimeError("boom")
            return real(site, spec, items)

        monkeypatch.setattr(module, "render_formats", broken)

    fail.restore = lambda: monkeypatch.setattr(module, "render_formats", real)
    return fail


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
