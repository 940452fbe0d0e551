from __future__ import annotations

import importlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedd.config import Config, validate_config

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
    module = importlib.import_module("feedd.build")  # `feedd.build` as an attribute is the build() function
    real = module.render_formats

    def fail(path: str):
        def broken(site, spec, items):
            if spec.path == path:
                raise RuntimeError("boom")
            return real(site, spec, items)

        monkeypatch.setattr(module, "render_formats", broken)

    fail.restore = lambda: monkeypatch.setattr(module, "render_formats", real)
    return fail
