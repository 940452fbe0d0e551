"""Clock jumps: embargoes and rescans still happen once and on time when the wall clock jumps.

The end-to-end tests run the real `feedd run` under libfaketime (Debian's `faketime`, installed by
.ci/run), whose offset file is re-read every second: writing "+3600" to it moves the daemon's wall clock
an hour forwards mid-run while its monotonic clock runs on, as after an NTP step or a resume.
"""

from __future__ import annotations

import glob
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feedd.daemon.clock import Clock, ClockWatch
from tests.running import Daemon, free_port, wait_for, write_config


class FakeClocks:
    def __init__(self) -> None:
        self.wall, self.monotonic = 1_800_000_000.0, 100.0

    def tick(self, seconds: float, jump: float = 0.0) -> None:
        self.monotonic += seconds
        self.wall += seconds + jump


def test_clock_follows_the_wall_clock_forwards():
    clocks = FakeClocks()
    clock = Clock(lambda: clocks.wall)
    first = clock.now()
    clocks.tick(10, jump=3600)
    assert clock.now() - first == timedelta(seconds=3610)


def test_clock_never_runs_backwards():
    clocks = FakeClocks()
    clock = Clock(lambda: clocks.wall)
    high = clock.now()
    clocks.tick(10, jump=-3600)
    assert clock.now() == high  # an article released at `high` is not embargoed again
    clocks.tick(3600)
    assert clock.now() == high + timedelta(seconds=10)


@pytest.mark.parametrize("jump", [3600.0, -3600.0, 2.5, -1.5])
def test_watch_reports_jumps_both_ways(jump):
    clocks, seen = FakeClocks(), []
    watch = ClockWatch(seen.append, wall=lambda: clocks.wall, monotonic=lambda: clocks.monotonic)
    clocks.tick(0.5)
    assert watch.check() == 0.0
    clocks.tick(0.5, jump=jump)
    assert watch.check() == pytest.approx(jump)
    clocks.tick(0.5)
    assert watch.check() == 0.0  # reported once
    assert seen == [pytest.approx(jump)]


def test_watch_ignores_slow_drift():
    clocks, seen = FakeClocks(), []
    watch = ClockWatch(seen.append, wall=lambda: clocks.wall, monotonic=lambda: clocks.monotonic)
    for _ in range(100):  # NTP slewing: 50 ms per look, 5 s in all
        clocks.tick(0.5, jump=0.05)
        watch.check()
    assert seen == []


# -- the real daemon under libfaketime ------------------------------------------------------------------

def _libfaketime() -> str | None:
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    return found[0] if found else None


LIBFAKETIME = _libfaketime()
needs_faketime = pytest.mark.skipif(
    LIBFAKETIME is None and not os.environ.get("CI"),
    reason="libfaketime not installed (apt-get install faketime; .ci/run does)")


def article(title: str, when: datetime, link: str) -> str:
    return (f"---\ntitle: {title!r}\nwebUrl: {link!r}\npublishedDateTime: {when.isoformat()}\n"
            f"published: true\ntopics: [Robots]\n---\n")


class ShiftedDaemon:
    """`feedd run` whose wall clock is the real one plus an offset the test changes while it runs."""

    def __init__(self, tmp_path: Path, articles: Path, *args: str, extra: str = "") -> None:
        assert LIBFAKETIME is not None, "libfaketime missing (apt-get install faketime)"
        self.offset_file = tmp_path / "faketime"
        self.offset = 0
        self.offset_file.write_text("+0\n")
        port = free_port()
        config = write_config(tmp_path / "feedd.yaml", articles, port, extra=extra)
        self.daemon = Daemon(config, port, *args, env={
            "LD_PRELOAD": LIBFAKETIME, "FAKETIME_TIMESTAMP_FILE": str(self.offset_file),
            "FAKETIME_CACHE_DURATION": "1", "DONT_FAKE_MONOTONIC": "1"})

    def jump(self, seconds: int) -> None:
        self.offset += seconds
        temp = self.offset_file.with_name("faketime.tmp")  # never an empty file for libfaketime to read
        temp.write_text(f"{self.offset:+d}\n")
        temp.replace(self.offset_file)

    def now(self) -> datetime:
        """The daemon's wall clock."""
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def titles(self) -> list[str]:
        """The titles of all.rss. libfaketime reads the new offset up to a second after jump(), so a request
        can arrive just before the daemon's clock jumps forwards; waitress then closes it as idle for an hour
        (its channel_timeout reads the wall clock) and the client sees a reset. A reader polls again."""
        for _ in range(3):
            try:
                return self.daemon.titles()
            except ConnectionError:
                time.sleep(0.05)
        return self.daemon.titles()


@needs_faketime
@pytest.mark.slow
def test_embargoes_after_a_jump_forwards_appear_at_once_and_on_time(seeds_dir: Path, tmp_path: Path):
    skipped = datetime.now(UTC) + timedelta(minutes=30)  # due inside the hour the clock skips
    (seeds_dir / "skipped.md").write_text(article("Skipped over", skipped, "https://example.com/a"))
    shifted = ShiftedDaemon(tmp_path, seeds_dir, extra="service:\n  rescan_interval: 1h\n")
    daemon = shifted.daemon
    try:
        # due four seconds after the jump: written once the daemon runs, however long it took to start
        later = (datetime.now(UTC) + timedelta(hours=1, seconds=4)).replace(microsecond=0)
        (seeds_dir / "later.md").write_text(article("Due after the jump", later, "https://example.com/b"))
        time.sleep(0.5)  # the watcher has seen it: known, embargoed
        assert "Skipped over" not in daemon.titles()
        shifted.jump(3600)
        assert wait_for(lambda: "Skipped over" in shifted.titles(), timeout=3), daemon.log
        assert "Due after the jump" not in shifted.titles()
        assert wait_for(lambda: "Due after the jump" in shifted.titles(), timeout=8, interval=0.02), daemon.log
        lateness = (shifted.now() - later).total_seconds()
        assert -0.1 <= lateness <= 1.0
        assert any("clock jumped" in line for line in daemon.log)
    finally:
        daemon.stop()


@needs_faketime
@pytest.mark.slow
def test_after_a_jump_backwards_rescans_go_on_and_released_articles_stay(seeds_dir: Path, tmp_path: Path):
    released = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    (seeds_dir / "released.md").write_text(article("Released", released, "https://example.com/r"))
    shifted = ShiftedDaemon(tmp_path, seeds_dir, "--no-watch", extra="service:\n  rescan_interval: 2s\n")
    daemon = shifted.daemon
    try:
        assert "Released" in daemon.titles()
        shifted.jump(-3600)
        time.sleep(1.5)  # the jump is noticed
        (seeds_dir / "released.md").write_text(article("Released, edited", released, "https://example.com/r"))
        (seeds_dir / "new.md").write_text(article("Written after", released - timedelta(days=1),
                                                  "https://example.com/n"))
        assert wait_for(lambda: "Written after" in daemon.titles(), timeout=6), daemon.log  # the rescan ran
        titles = daemon.titles()
        assert "Released, edited" in titles  # not withdrawn as embargoed by a clock now an hour behind
    finally:
        daemon.stop()
