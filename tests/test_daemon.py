"""`feedd run` end to end: the real process, a loopback port, feedparser as the client."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.running import Daemon, free_port, wait_for, write_config

pytestmark = pytest.mark.slow
NEW = "A fresh article about robots"


def article(title: str = NEW, published: str = "true", when: str = "2021-02-01T10:00:00Z") -> str:
    return (f"---\ntitle: {title!r}\nwebUrl: 'https://example.com/fresh'\npublishedDateTime: {when}\n"
            f"published: {published}\ntopics: [Robots]\nprovider: {{name: Example, domain: example.com}}\n---\n")


@pytest.fixture
def site(seeds_dir: Path, tmp_path: Path):
    port = free_port()
    return seeds_dir, write_config(tmp_path / "feedd.yaml", seeds_dir, port), port


@pytest.fixture
def daemon(site):
    articles, config, port = site
    process = Daemon(config, port)
    yield process
    process.stop()


def test_add_edit_unpublish_delete_with_watcher(daemon: Daemon, seeds_dir: Path):
    path = seeds_dir / "new.md"
    path.write_text(article(), encoding="utf-8")
    assert wait_for(lambda: NEW in daemon.titles(), timeout=2), daemon.log
    first_id = daemon.feed().entries[0].id
    assert wait_for(lambda: daemon.titles("/feeds/topics/robots.rss") == [NEW], timeout=1)

    path.write_text(article(title="Robots, revised"), encoding="utf-8")
    assert wait_for(lambda: "Robots, revised" in daemon.titles(), timeout=2), daemon.log
    revised = next(e for e in daemon.feed().entries if e.title == "Robots, revised")
    assert revised.id == first_id
    assert NEW not in daemon.titles()

    path.write_text(article(title="Robots, revised", published="false"), encoding="utf-8")
    assert wait_for(lambda: "Robots, revised" not in daemon.titles(), timeout=2), daemon.log
    # the topic has no published article left: its feed stays, valid and empty, for its subscribers
    assert wait_for(lambda: daemon.titles("/feeds/topics/robots.rss") == [], timeout=1), daemon.log
    assert daemon.status("/feeds/topics/robots.rss") == 200 and not daemon.feed("/feeds/topics/robots.rss").bozo

    path.write_text(article(title="Back again"), encoding="utf-8")
    assert wait_for(lambda: "Back again" in daemon.titles(), timeout=2)
    path.unlink()
    assert wait_for(lambda: "Back again" not in daemon.titles(), timeout=2), daemon.log
    assert "This Chinese Lab Is Aiming for Big AI Breakthroughs" in daemon.titles()


def test_no_watch_picks_changes_up_on_the_next_rescan(seeds_dir: Path, tmp_path: Path):
    port = free_port()
    config = write_config(tmp_path / "feedd.yaml", seeds_dir, port, extra="service:\n  rescan_interval: 2s\n")
    process = Daemon(config, port, "--no-watch")
    try:
        (seeds_dir / "new.md").write_text(article(), encoding="utf-8")
        time.sleep(0.3)
        assert NEW not in process.titles()  # nothing watches the folder...
        assert wait_for(lambda: NEW in process.titles(), timeout=3.5), process.log  # ...the rescan finds it
        (seeds_dir / "new.md").unlink()
        assert wait_for(lambda: NEW not in process.titles(), timeout=3.5)
    finally:
        process.stop()


def test_embargoed_article_appears_within_a_second_of_its_time(daemon: Daemon, seeds_dir: Path):
    due = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0) + timedelta(seconds=1)
    (seeds_dir / "embargo.md").write_text(article(title="Embargoed", when=due.isoformat()), encoding="utf-8")
    time.sleep(1.0)  # the watcher has rebuilt by now: the article is known but not due
    assert "Embargoed" not in daemon.titles()
    assert wait_for(lambda: "Embargoed" in daemon.titles(), timeout=(due - datetime.now(UTC)).total_seconds() + 1,
                    interval=0.02)
    seen = datetime.now(UTC)
    assert seen >= due
    assert (seen - due).total_seconds() <= 1.0


def test_sigterm_exits_zero_promptly(daemon: Daemon):
    started = time.monotonic()
    assert daemon.stop(timeout=5) == 0
    assert time.monotonic() - started < 5
    assert any("stopped" in line for line in daemon.log)


def test_sighup_reloads_config_and_a_broken_one_keeps_serving(site):
    articles, config, port = site
    process = Daemon(config, port)
    try:
        assert process.feed().feed.title == "Daemon test"
        write_config(config, articles, port, title="Renamed site")
        process.signal(signal.SIGHUP)
        assert wait_for(lambda: process.feed().feed.title == "Renamed site", timeout=3), process.log

        config.write_text("site: [this is not: valid\n", encoding="utf-8")
        process.signal(signal.SIGHUP)
        assert wait_for(lambda: any("keeping the current config" in line for line in process.log), timeout=3)
        assert process.status("/feeds/all.rss") == 200
        assert process.feed().feed.title == "Renamed site"
        assert process.proc.poll() is None
    finally:
        assert process.stop() == 0


def test_config_file_edit_is_picked_up_by_the_watcher(site):
    articles, config, port = site
    process = Daemon(config, port)
    try:
        write_config(config, articles, port, title="Edited on disk")
        assert wait_for(lambda: process.feed().feed.title == "Edited on disk", timeout=3), process.log
    finally:
        process.stop()


def test_json_logs_are_one_object_per_line(site):
    articles, config, port = site
    process = Daemon(config, port, "--log-format", "json")
    process.stop()
    records = [json.loads(line) for line in process.log if line.strip()]
    assert any(r["message"].startswith("build (start)") for r in records)
    assert {"time", "level", "message"} <= set(records[0])


def test_serve_only_serves_and_notices_new_files(site, tmp_path: Path):
    articles, config, port = site
    assert subprocess.run([sys.executable, "-m", "feedd", "build", "-c", str(config)],
                          capture_output=True).returncode == 0
    process = Daemon(config, port, command="serve")
    try:
        assert process.titles() == ["This Chinese Lab Is Aiming for Big AI Breakthroughs"]
        (articles / "new.md").write_text(article(), encoding="utf-8")
        time.sleep(1.0)
        assert NEW not in process.titles()  # serve never builds...
        assert subprocess.run([sys.executable, "-m", "feedd", "build", "-c", str(config)],
                              capture_output=True).returncode == 0
        assert NEW in process.titles()  # ...but serves what a builder publishes, without a restart
    finally:
        assert process.stop() == 0


def test_a_bulk_drop_of_files_is_all_published(daemon: Daemon, seeds_dir: Path):
    """However many files arrive at once, none is lost (a burst past 2,000 paths rescans the folder)."""
    for n in range(300):
        (seeds_dir / f"bulk{n:03}.md").write_text(
            f"---\ntitle: 'Bulk {n}'\nwebUrl: https://example.com/bulk/{n}\npublishedDateTime: 2021-03-01T08:00:00Z\n"
            f"topics: [Bulk]\n---\n", encoding="utf-8")

    def published() -> int:
        return json.loads(daemon.get("/healthz"))["last_build"]["articles"]["published"]

    assert wait_for(lambda: published() == 301, timeout=10), daemon.log
    assert len(daemon.feed("/feeds/topics/bulk.rss").entries) == 50


def test_a_second_feedd_on_the_same_state_refuses_clearly(daemon: Daemon, site):
    articles, config, port = site
    second = subprocess.run([sys.executable, "-m", "feedd", "build", "-c", str(config)],
                            capture_output=True, text=True, timeout=30)
    assert second.returncode == 1
    assert "state folder is in use by feedd pid" in second.stderr
    assert str(daemon.proc.pid) in second.stderr
    assert "Traceback" not in second.stderr
    assert daemon.status("/feeds/all.rss") == 200


def test_the_daemon_holds_a_build_that_would_empty_the_all_feed(daemon: Daemon, seeds_dir: Path):
    before = daemon.get("/feeds/all.rss")
    for path in seeds_dir.iterdir():  # every article file gone at once: a folder emptied by mistake
        path.unlink()
    assert wait_for(lambda: json.loads(daemon.get("/healthz")).get("status") == "degraded", timeout=5), daemon.log
    health = json.loads(daemon.get("/healthz"))
    assert "would empty the all feed" in health["error"] and health["last_build"]["outcome"] == "held"
    assert health["diagnostics"] >= 1
    assert daemon.get("/feeds/all.rss") == before
    assert daemon.status("/feeds/topics/ai.rss") == 200
    assert any("held, nothing published or removed" in line for line in daemon.log)


def test_a_port_other_than_the_base_urls_is_warned_about_once(site):
    articles, config, port = site
    other = free_port()
    process = Daemon(config, other)  # the config's base_url names `port`
    try:
        warnings = [line for line in process.log if "site.base_url is" in line]
        assert len(warnings) == 1
        assert f"http://127.0.0.1:{port}/" in warnings[0] and f"--base-url http://127.0.0.1:{other}/" in warnings[0]
        index = process.get("/index.html").decode()
        assert f":{port}/" not in index.split("<body>", 1)[1]  # the page's own links work on any address
    finally:
        process.stop()
    same = Daemon(config, port)
    try:
        assert not any("site.base_url is" in line for line in same.log)
    finally:
        same.stop()


def test_make_run_takes_a_port_with_its_base_url():
    dry = subprocess.run(["make", "-n", "run", "PORT=8090"], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    command = [line for line in dry.stdout.splitlines() if "feedd run" in line]
    assert command and "--port 8090" in command[0] and "--base-url http://127.0.0.1:8090/" in command[0]


def test_healthz_counts_the_diagnostics_check_prints(daemon: Daemon, site, seeds_dir: Path):
    articles, config, port = site
    (seeds_dir / "dup.md").write_text(article().replace("title:", "heat: hot\ntitle:"), encoding="utf-8")
    (seeds_dir / "dup2.md").write_text(article(title="Same link"), encoding="utf-8")  # same webUrl as dup.md
    (seeds_dir / "orphan.txt").write_text("No such title\nbody\n", encoding="utf-8")

    def counted() -> int:
        return json.loads(daemon.get("/healthz"))["diagnostics"]

    check = subprocess.run([sys.executable, "-m", "feedd", "check", "-c", str(config)], capture_output=True,
                           text=True, timeout=60)
    printed = sum(": warning: " in line or ": error: " in line for line in check.stdout.splitlines())
    assert printed >= 5  # the seeds' 2 orphan texts, this orphan, the duplicate link, the bad heat
    assert wait_for(lambda: counted() == printed, timeout=5), (counted(), check.stdout)
    assert wait_for(lambda: sum("warning" in line for line in daemon.log) == printed, timeout=5), daemon.log
    before = len([line for line in daemon.log if "warning" in line])
    daemon.signal(signal.SIGHUP)  # a config reload lists the whole folder again: nothing is logged twice
    assert wait_for(lambda: any("build (config reloaded)" in line for line in daemon.log), timeout=5)
    assert len([line for line in daemon.log if "warning" in line]) == before
    assert counted() == printed
