"""The service's sense of time: a wall clock that never runs backwards, and a watch for clock jumps.

Embargoes are wall-clock times, so feedd must follow the wall clock; but NTP corrections, a VM resumed
from suspend or an administrator's `date -s` make it jump. APScheduler sleeps on the monotonic clock
for the wall-clock interval it computed before the jump, so after a jump forwards an embargo due in the
skipped interval would wait out the old sleep, and after a jump backwards the periodic rescan would pause
for as long as the jump. The watch notices the jump within a second and lets the scheduler re-plan.
Builds take their `now` from `Clock.now()`, which stays at its high-water mark after a jump backwards:
an article released once is never withdrawn and released again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

JUMP = 1.0  # seconds of disagreement between the wall clock and the monotonic clock that count as a jump
POLL = 0.5  # seconds between looks at the two clocks


class Clock:
    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._high = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The wall-clock time, or the latest time already handed out if the clock has gone back since."""
        with self._lock:
            self._high = max(self._high, self._wall())
            return datetime.fromtimestamp(self._high, UTC)


class ClockWatch:
    """A thread that calls on_jump(seconds) when the wall clock moves against the monotonic clock."""

    def __init__(self, on_jump: Callable[[float], None], wall: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic, poll: float = POLL) -> None:
        self._on_jump, self._wall, self._monotonic, self._poll = on_jump, wall, monotonic, poll
        self._offset = wall() - monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feedd-clock", daemon=True)

    def check(self) -> float:
        """The jump since the last check (0.0 when none); calls on_jump for a jump."""
        offset = self._wall() - self._monotonic()
        jump, self._offset = offset - self._offset, offset  # slow NTP slewing never adds up to a jump
        if abs(jump) < JUMP:
            return 0.0
        self._on_jump(jump)
        return jump

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._poll):
            self.check()
