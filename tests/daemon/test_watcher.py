"""feedd/daemon/watcher.py: file events (inotify) → debounced, coalesced rebuild requests."""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from feedd.daemon.watcher import OVERFLOW_LOGGER, Watcher
from tests.running import wait_for


class Calls:
    """What on_change received, with when (monotonic) each call arrived."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, set[str], set[str] | None]] = []
        self._lock = threading.Lock()

    def __call__(self, kinds: set[str], paths: set[str] | None) -> None:
        with self._lock:
            self.calls.append((time.monotonic(), set(kinds), None if paths is None else set(paths)))

    def __len__(self) -> int:
        return len(self.calls)

    def kinds(self) -> list[set[str]]:
        return [kinds for _, kinds, _ in self.calls]

    def paths(self) -> list[set[str] | None]:
        return [paths for _, _, paths in self.calls]


@contextmanager
def watching(articles: Path, config_file: Path | None = None, **options) -> Iterator[Calls]:
    calls = Calls()
    watcher = Watcher(articles, config_file, calls, **options)
    watcher.start()
    try:
        yield calls
    finally:
        watcher.stop()


def quiet(seconds: float = 0.3) -> None:
    """Give inotify and the debounce thread time to report anything still due."""
    time.sleep(seconds)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    path = folder / "feedd.yaml"
    path.write_text("site:\n  title: Before\n", encoding="utf-8")
    return path


def test_a_saved_article_is_reported_with_its_path(articles_dir: Path):
    with watching(articles_dir, debounce=0.2) as calls:
        (articles_dir / "one.md").write_text("x")
        assert wait_for(lambda: len(calls) >= 1, timeout=3)
        quiet()
    assert calls.kinds() == [{"articles"}] * len(calls)
    assert set().union(*calls.paths()) == {str(articles_dir / "one.md")}


def test_reading_files_never_triggers_a_rebuild(articles_dir: Path):
    """Every build reads the files: opened/closed-without-writing events must not start another build."""
    (articles_dir / "one.md").write_text("x")
    (articles_dir / "sub").mkdir()
    with watching(articles_dir, debounce=0.05) as calls:
        for _ in range(3):
            (articles_dir / "one.md").read_bytes()
            os.listdir(articles_dir / "sub")
        quiet(0.5)
    assert len(calls) == 0


def test_a_burst_of_events_is_coalesced_into_one_call(articles_dir: Path):
    with watching(articles_dir, debounce=1.0) as calls:
        for n in range(10):  # each within the debounce of the one before
            (articles_dir / f"many{n}.md").write_text("x")
        assert wait_for(lambda: len(calls) >= 1, timeout=4)
        quiet(1.2)
    assert calls.paths() == [{str(articles_dir / f"many{n}.md") for n in range(10)}]


def test_events_apart_by_more_than_the_debounce_are_separate_calls(articles_dir: Path):
    first, second = articles_dir / "first.md", articles_dir / "second.md"
    with watching(articles_dir, debounce=0.05) as calls:
        first.write_text("x")
        assert wait_for(lambda: len(calls) >= 1, timeout=3)
        quiet()
        before = len(calls)
        second.write_text("x")
        assert wait_for(lambda: len(calls) > before, timeout=3)
        quiet()
    assert set().union(*calls.paths()[:before]) == {str(first)}
    assert set().union(*calls.paths()[before:]) == {str(second)}


def test_the_debounce_waits_for_quiet(articles_dir: Path):
    """Nothing is reported while events keep coming faster than the debounce: every call comes after a quiet
    debounce (a stalled machine may make more calls, never an earlier one)."""
    debounce = 0.4
    writes = []
    with watching(articles_dir, debounce=debounce, max_delay=5.0) as calls:
        for n in range(6):
            writes.append(time.monotonic())
            (articles_dir / "busy.md").write_text(f"version {n}")
            time.sleep(0.1)
        assert wait_for(lambda: len(calls) >= 1, timeout=3)
        quiet(0.6)
    for arrived, _, paths in calls.calls:
        last_write = max(t for t in writes if t < arrived)
        assert arrived - last_write >= debounce - 0.1, [round(t - writes[0], 2) for t, _, _ in calls.calls]
        assert paths == {str(articles_dir / "busy.md")}


def test_a_file_touched_without_pause_is_reported_within_max_delay(articles_dir: Path):
    """An article rewritten every 50 ms (a log-like file, a sync tool) never leaves the debounce quiet: it must
    still be built within about max_delay, again and again, not only once the writes stop."""
    path = articles_dir / "busy.md"
    path.write_text("x")
    max_delay, duration = 0.5, 2.0
    with watching(articles_dir, debounce=0.2, max_delay=max_delay) as calls:
        started = time.monotonic()
        n = 0
        while time.monotonic() - started < duration:
            n += 1
            path.write_text(f"version {n}")
            time.sleep(0.05)
        stopped = time.monotonic()
        assert wait_for(lambda: len(calls) >= 1, timeout=3)
        quiet(0.5)
    times = [round(t - started, 2) for t, _, _ in calls.calls]
    during = [started] + [t for t, _, _ in calls.calls if t < stopped]
    assert len(during) >= 3, times  # reported again and again while the writes go on (about every 0.5 s)
    assert all(b - a < max_delay + 0.5 for a, b in zip(during, during[1:], strict=False)), times
    assert all(paths == {str(path)} for paths in calls.paths())


def test_a_config_file_event_is_reported_as_config(articles_dir: Path, config_file: Path):
    with watching(articles_dir, config_file, debounce=0.2) as calls:
        (config_file.parent / "other.yaml").write_text("not ours")  # the same folder, another file: ignored
        quiet(0.5)
        assert len(calls) == 0
        config_file.write_text("site:\n  title: After\n", encoding="utf-8")
        assert wait_for(lambda: len(calls) >= 1, timeout=3)
        quiet()
    assert calls.kinds() == [{"config"}] * len(calls)
    assert calls.paths() == [set()] * len(calls)  # no article changed


def test_a_config_saved_by_rename_is_reported(articles_dir: Path, config_file: Path):
    """Editors and deploy tools write a temp file and rename it over the original."""
    temp = config_file.with_name(".feedd.yaml.swp")
    with watching(articles_dir, config_file, debounce=0.2) as calls:
        temp.write_text("site:\n  title: After\n", encoding="utf-8")
        quiet(0.5)
        assert len(calls) == 0  # the temp file alone is not the config
        temp.replace(config_file)
        assert wait_for(lambda: len(calls) >= 1, timeout=3)
        quiet()
    assert calls.kinds() == [{"config"}] * len(calls)


def test_an_article_saved_by_rename_is_reported_under_its_own_name(articles_dir: Path):
    article = articles_dir / "story.md"
    article.write_text("before")
    with watching(articles_dir, debounce=0.05) as calls:
        temp = articles_dir / ".story.md.swp"
        temp.write_text("after")
        temp.replace(article)
        assert wait_for(lambda: len(calls) >= 1, timeout=3)
        quiet()
    assert all(kinds == {"articles"} for kinds in calls.kinds())
    assert str(article) in set().union(*calls.paths())


def test_articles_and_config_together_are_one_call_with_both_kinds(articles_dir: Path, config_file: Path):
    with watching(articles_dir, config_file, debounce=1.0) as calls:
        (articles_dir / "one.md").write_text("x")
        config_file.write_text("site:\n  title: After\n", encoding="utf-8")
        assert wait_for(lambda: len(calls) >= 1, timeout=4)
        quiet(1.2)
    assert calls.kinds() == [{"articles", "config"}]
    assert calls.paths() == [{str(articles_dir / "one.md")}]


def test_files_in_new_subfolders_are_watched(articles_dir: Path):
    with watching(articles_dir, debounce=0.05) as calls:
        sub = articles_dir / "2026" / "11"
        sub.mkdir(parents=True)
        quiet(0.3)
        (sub / "deep.md").write_text("x")
        assert wait_for(lambda: any(p and str(sub / "deep.md") in p for p in calls.paths()), timeout=3)


def test_a_deleted_and_recreated_articles_folder_is_watched_again(articles_dir: Path):
    with watching(articles_dir, debounce=0.05) as calls:
        shutil.rmtree(articles_dir)
        articles_dir.mkdir()
        assert wait_for(lambda: None in calls.paths(), timeout=3)  # the whole folder is compared again
        quiet()
        seen = len(calls)
        (articles_dir / "after.md").write_text("x")
        assert wait_for(lambda: any(p and str(articles_dir / "after.md") in p for p in calls.paths()[seen:]),
                        timeout=3)


def test_watcher_turns_a_queue_overflow_into_a_full_rescan(tmp_path: Path):
    seen = []
    watcher = Watcher(tmp_path, None, lambda kinds, paths: seen.append((kinds, paths)), debounce=0.05)
    watcher.start()
    try:
        logging.getLogger(OVERFLOW_LOGGER).warning("Inotify queue overflowed; filesystem events were lost")
        deadline = time.monotonic() + 3
        while not seen and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        watcher.stop()
    assert seen == [({"articles"}, None)]


def test_watcher_reports_paths_and_a_burst_as_a_rescan(tmp_path: Path, monkeypatch):
    monkeypatch.setattr("feedd.daemon.watcher.BURST", 5)
    seen = []
    watcher = Watcher(tmp_path, None, lambda kinds, paths: seen.append(paths), debounce=0.2)
    watcher.start()
    try:
        (tmp_path / "one.md").write_text("x")
        deadline = time.monotonic() + 3
        while not seen and time.monotonic() < deadline:
            time.sleep(0.02)
        assert seen and str(tmp_path / "one.md") in seen[0]
        for n in range(10):
            (tmp_path / f"many{n}.md").write_text("x")
        deadline = time.monotonic() + 3
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert seen[-1] is None  # too many to list: compare the whole folder instead
    finally:
        watcher.stop()


def test_nothing_is_reported_after_stop(articles_dir: Path):
    """On SIGTERM the service stops the watcher before the builder: events still in their debounce are dropped."""
    calls = Calls()
    watcher = Watcher(articles_dir, None, calls, debounce=0.5)
    watcher.start()
    (articles_dir / "pending.md").write_text("x")
    quiet(0.15)  # seen, and waiting for quiet
    watcher.stop()
    (articles_dir / "late.md").write_text("x")
    quiet(0.8)
    assert len(calls) == 0
