"""Fixtures shared by every test; plain helpers are in tests/helpers.py."""

from __future__ import annotations

import importlib
import logging
import shutil
from pathlib import Path

import pytest

from tests.helpers import SEEDS


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


@pytest.fixture
def fail_render(monkeypatch):
    """fail_render("feeds/topics/ai") makes rendering that one feed raise; restore() undoes it."""
    module = importlib.import_module("feedd.feeds.jobs")
    real = module.render_formats

    def fail(path: str):
        def broken(site, spec, items):
            if spec.path == path:
                raise RuntimeError("boom")
            return real(site, spec, items)

        monkeypatch.setattr(module, "render_formats", broken)

    fail.restore = lambda: monkeypatch.setattr(module, "render_formats", real)
    return fail


@pytest.fixture
def keep_logging():
    """The CLI configures the root logger on CliRunner's throw-away streams; put it back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
