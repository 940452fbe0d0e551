"""feedd/service.py in-process: what the daemon does between builds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from feedd.daemon.service import Service
from feedd.pipeline import Builder
from tests.helpers import make_config, write_article
from tests.running import wait_for


def test_an_article_written_during_the_first_build_is_published_without_waiting_for_a_rescan(
        seeds_dir: Path, tmp_path: Path, monkeypatch):
    """The first build of a large folder takes a while (90 s cold at 100k articles): an article saved meanwhile,
    after the folder was listed, must be picked up by the watcher, not by the rescan five minutes later."""
    config = make_config(seeds_dir, tmp_path / "public")
    assert config.service.rescan_interval.total_seconds() >= 60
    real_build = Builder.build

    def build(self, now=None, paths=None, write=True):
        report = real_build(self, now, paths, write)
        if not hasattr(build, "done"):  # the first build has listed and published the folder: now an edit
            build.done = True
            write_article(seeds_dir, "during.md", title='"Saved during the first build"')
        return report

    monkeypatch.setattr(Builder, "build", build)
    service = Service(config, lambda: config)
    service.start()
    try:
        feed = tmp_path / "public" / "feeds" / "all.rss"
        assert wait_for(lambda: "Saved during the first build" in feed.read_text(encoding="utf-8"), timeout=5)
    finally:
        service.stop()


def test_a_config_changed_during_the_first_build_is_in_force_once_it_is_done(
        seeds_dir: Path, tmp_path: Path, monkeypatch):
    """The watcher runs during the first build, so a config edit can arrive before the builder thread and the
    scheduler have started: it must not be lost, nor break their start."""
    old = make_config(seeds_dir, tmp_path / "public", site={"title": "Old title"})
    new = make_config(seeds_dir, tmp_path / "public", site={"title": "New title"},
                      service={"rescan_interval": "2h"})
    service = Service(old, lambda: new)
    real_build = Builder.build

    def build(self, now=None, paths=None, write=True):
        if not hasattr(build, "done"):  # the first build: the config file changes while it runs
            build.done = True
            service.reload("config file changed")
        return real_build(self, now, paths, write)

    monkeypatch.setattr(Builder, "build", build)
    service.start()
    try:
        feed = tmp_path / "public" / "feeds" / "all.rss"
        assert wait_for(lambda: "<title>New title" in feed.read_text(encoding="utf-8"), timeout=5)
        rescan = next(job for job in service.scheduler.jobs() if job["id"] == "rescan")
        wait = datetime.fromisoformat(rescan["next_run"]) - datetime.now(UTC)
        assert timedelta(hours=1.9) < wait <= timedelta(hours=2)  # the new interval, not the default 5 minutes
        assert service.config_error is None and service.last_error is None
    finally:
        service.stop()
