"""feedd/daemon/scheduler.py: the periodic rescan, the embargo release, and re-planning after a clock jump.

The real BackgroundScheduler runs with short intervals. A clock jump is simulated by shifting the wall clock
that APScheduler and the scheduler module read (`datetime.now`), while their sleeps stay on the real clock,
as after an NTP step; tests/daemon/test_clock.py does the same to a whole `feedd run` under libfaketime.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from feedd.daemon import scheduler as scheduler_module
from feedd.daemon.scheduler import Scheduler
from tests.running import wait_for


class Requests:
    """What the scheduler asked for: (reason, the wall-clock time it asked)."""

    def __init__(self, wall) -> None:
        self.wall = wall
        self.calls: list[tuple[str, datetime]] = []
        self._lock = threading.Lock()

    def __call__(self, reason: str) -> None:
        with self._lock:
            self.calls.append((reason, self.wall()))

    def reasons(self) -> list[str]:
        with self._lock:
            return [reason for reason, _ in self.calls]

    def times(self, reason: str) -> list[datetime]:
        with self._lock:
            return [when for r, when in self.calls if r == reason]


class Wall:
    """A wall clock the test can make jump: the real one plus an offset."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def wall(monkeypatch) -> Wall:
    wall = Wall()

    class Shifted(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + wall.offset

    import apscheduler.schedulers.base
    import apscheduler.triggers.interval
    for module in (apscheduler.schedulers.base, apscheduler.triggers.interval, scheduler_module):
        monkeypatch.setattr(module, "datetime", Shifted)
    return wall


@pytest.fixture
def make(wall: Wall) -> Iterator:
    """make(interval) → (a started Scheduler, what it requested); shut down after the test."""
    started: list[Scheduler] = []

    def make_(interval: timedelta, start: bool = True) -> tuple[Scheduler, Requests]:
        requests = Requests(wall)
        scheduler = Scheduler(requests, interval)
        if start:
            scheduler.start()
        started.append(scheduler)
        return scheduler, requests

    yield make_
    for scheduler in started:
        scheduler.shutdown()


def next_run(scheduler: Scheduler, job: str) -> datetime | None:
    runs = [j["next_run"] for j in scheduler.jobs() if j["id"] == job]
    assert len(runs) <= 1, scheduler.jobs()
    return datetime.fromisoformat(runs[0]) if runs and runs[0] else None


# -- the rescan ---------------------------------------------------------------------------------------------

def test_the_rescan_runs_every_interval(make):
    _, requests = make(timedelta(seconds=0.3))
    assert wait_for(lambda: len(requests.times("rescan")) >= 3, timeout=3)
    times = requests.times("rescan")
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert all(0.2 <= gap <= 0.8 for gap in gaps), gaps
    assert set(requests.reasons()) == {"rescan"}


def test_a_new_rescan_interval_replaces_the_old_one(make, wall: Wall):
    scheduler, requests = make(timedelta(seconds=0.3))
    assert wait_for(lambda: len(requests.times("rescan")) >= 1, timeout=3)
    scheduler.set_rescan_interval(timedelta(hours=2))
    seen = len(requests.times("rescan"))
    time.sleep(0.8)
    assert len(requests.times("rescan")) <= seen + 1  # at most one already due when it changed
    wait = next_run(scheduler, "rescan") - wall()
    assert timedelta(hours=1.9) < wait <= timedelta(hours=2)
    assert [job["id"] for job in scheduler.jobs()] == ["rescan"]  # replaced, not added


# -- embargoes ---------------------------------------------------------------------------------------------

def test_an_embargo_is_released_at_its_moment_not_before(make, wall: Wall):
    scheduler, requests = make(timedelta(hours=1))
    due = wall() + timedelta(seconds=0.4)
    scheduler.schedule_embargo(due)
    assert next_run(scheduler, "embargo") == due
    assert wait_for(lambda: "embargo" in requests.reasons(), timeout=3)
    (released,) = requests.times("embargo")
    assert due <= released <= due + timedelta(seconds=0.5)
    assert next_run(scheduler, "embargo") is None  # a one-shot job: gone once it ran


def test_a_new_embargo_time_replaces_the_old_one(make, wall: Wall):
    scheduler, requests = make(timedelta(hours=1))
    later, sooner = wall() + timedelta(hours=1), wall() + timedelta(seconds=0.3)
    scheduler.schedule_embargo(later)
    scheduler.schedule_embargo(sooner)  # an article due sooner was saved: the next build plans it
    assert next_run(scheduler, "embargo") == sooner
    assert wait_for(lambda: "embargo" in requests.reasons(), timeout=3)
    time.sleep(0.3)
    assert requests.reasons() == ["embargo"]


def test_an_embargo_cancelled_never_runs(make, wall: Wall):
    scheduler, requests = make(timedelta(hours=1))
    scheduler.schedule_embargo(wall() + timedelta(seconds=0.3))
    scheduler.schedule_embargo(None)  # the embargoed article was deleted
    scheduler.schedule_embargo(None)  # nothing to cancel: fine too
    assert next_run(scheduler, "embargo") is None
    time.sleep(0.8)
    assert requests.reasons() == []


def test_an_embargo_that_is_already_due_is_released_at_once(make, wall: Wall):
    """A build that took a while may plan an embargo that is due by the time it is scheduled."""
    scheduler, requests = make(timedelta(hours=1))
    scheduler.schedule_embargo(wall() - timedelta(seconds=5))
    assert wait_for(lambda: "embargo" in requests.reasons(), timeout=2)


def test_the_release_never_asks_before_the_moment(wall: Wall):
    """Timers may wake a hair early; the build must find the article due, so the job waits out the rest."""
    requests = Requests(wall)
    scheduler = Scheduler(requests, timedelta(hours=1))
    due = wall() + timedelta(seconds=0.3)
    scheduler._release(due)  # called by the job, early
    (released,) = requests.times("embargo")
    assert released >= due


# -- jobs() and clock jumps ---------------------------------------------------------------------------------

def test_jobs_lists_the_rescan_and_the_embargo_with_their_next_run(make, wall: Wall):
    scheduler, _ = make(timedelta(minutes=5))
    due = (wall() + timedelta(hours=3)).replace(microsecond=0)
    scheduler.schedule_embargo(due)
    jobs = {job["id"]: job["next_run"] for job in scheduler.jobs()}
    assert set(jobs) == {"rescan", "embargo"}
    assert jobs["embargo"] == due.isoformat()
    assert timedelta(minutes=4.9) < datetime.fromisoformat(jobs["rescan"]) - wall() <= timedelta(minutes=5)


def test_replan_is_harmless_before_start_and_after_shutdown(make):
    scheduler, requests = make(timedelta(seconds=0.2), start=False)
    scheduler.replan()  # a clock jump noticed before the scheduler started
    scheduler.start()
    assert [job["id"] for job in scheduler.jobs()] == ["rescan"]
    scheduler.shutdown()
    scheduler.replan()
    scheduler.shutdown()


def test_after_a_jump_backwards_the_rescan_is_one_interval_from_the_new_time(make, wall: Wall):
    """Planned before the jump, the next rescan would be an hour away: the safety net would pause that long."""
    scheduler, requests = make(timedelta(seconds=1))
    wall.offset = -timedelta(hours=1)
    assert next_run(scheduler, "rescan") - wall() > timedelta(minutes=59)  # as planned before the jump
    scheduler.replan()
    assert next_run(scheduler, "rescan") - wall() <= timedelta(seconds=1)
    assert wait_for(lambda: len(requests.times("rescan")) >= 2, timeout=4)  # and on it goes, every second


def test_after_a_jump_forwards_a_skipped_embargo_is_released_at_once(make, wall: Wall):
    """The scheduler sleeps for the wall-clock time it computed before the jump: without a re-plan an embargo
    due within the skipped hour would wait out the old sleep."""
    scheduler, requests = make(timedelta(hours=2))
    due = wall() + timedelta(minutes=30)
    scheduler.schedule_embargo(due)
    time.sleep(0.3)  # the scheduler is asleep until then
    wall.offset = timedelta(hours=1)
    scheduler.replan()
    assert wait_for(lambda: "embargo" in requests.reasons(), timeout=2)
    (released,) = requests.times("embargo")
    assert released >= due
    wait = next_run(scheduler, "rescan") - wall()
    assert timedelta(hours=1.9) < wait <= timedelta(hours=2)  # one interval from the new time
