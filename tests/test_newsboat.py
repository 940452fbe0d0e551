"""A real feed reader: Debian's newsboat subscribes to every feed in /feeds.opml and reloads twice.

newsboat keys items by id across all its subscriptions (newsboat issue #898): an article with one id in
every feed would be stored once, under whichever feed was fetched last. `entry_ids: per-feed` is the
setting for sites whose subscribers use it, and what this test runs with."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.running import Daemon, free_port, write_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("newsboat") is None and not os.environ.get("CI"),
                       reason="newsboat is not installed (.ci/run installs it)"),
]


def newsboat(home: Path, *args: str) -> None:
    subprocess.run(["newsboat", "-u", str(home / "urls"), "-c", str(home / "cache.db"), "-C", os.devnull, *args],
                   env={**os.environ, "HOME": str(home)}, check=True, timeout=60,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def counts(home: Path) -> dict[str, int]:
    with sqlite3.connect(home / "cache.db") as db:
        return dict(db.execute("SELECT feedurl, count(*) FROM rss_item GROUP BY feedurl").fetchall())


def test_newsboat_sees_every_feed_with_stable_items_with_per_feed_ids(seeds_dir: Path, tmp_path: Path):
    for n in range(3):  # a few more articles so feeds overlap: the same article in several feeds
        (seeds_dir / f"extra{n}.md").write_text(
            f"---\ntitle: 'Extra {n}'\nwebUrl: https://example.com/extra/{n}\n"
            f"publishedDateTime: 2021-03-0{n + 1}T08:00:00Z\ntopics: [AI, Robots]\n"
            f"provider: {{name: Wired, domain: wired.com}}\ncategory: news\n---\n", encoding="utf-8")
    port = free_port()
    config = write_config(tmp_path / "feedd.yaml", seeds_dir, port, extra="  entry_ids: per-feed\n")  # in defaults
    daemon = Daemon(config, port)
    home = tmp_path / "reader"
    home.mkdir()
    try:
        (home / "feeds.opml").write_bytes(daemon.get("/feeds.opml"))
        (home / "urls").touch()
        newsboat(home, "-i", str(home / "feeds.opml"))
        urls = [line.split()[0] for line in (home / "urls").read_text().splitlines() if line.startswith("http")]
        feeds = {url: daemon.feed(url.removeprefix(daemon.base)) for url in urls}
        expected = {url: len(feed.entries) for url, feed in feeds.items()}
        assert len(urls) >= 8 and all(expected.values())
        ids = [e.id for feed in feeds.values() for e in feed.entries]
        assert len(set(ids)) == len(ids)  # per-feed: no id in two feeds

        newsboat(home, "-x", "reload")
        assert counts(home) == expected
        newsboat(home, "-x", "reload")
        assert counts(home) == expected  # same guids on every fetch: nothing duplicated, nothing lost
    finally:
        daemon.stop()
