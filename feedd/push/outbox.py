"""The outbox: network work off the build thread, coalesced, in order per destination, retried, bounded.

Work goes into lanes, one per destination (a subscriber's callback, an external hub). A lane holds at most
one pending item per key (a topic): a newer item replaces the pending one, so a feed that changed three
times while its lane waited is sent once, with its latest bytes, and a dead subscriber holds one item per
topic however long it stays dead. A lane sends one request at a time, so deliveries to one subscriber
never overtake each other. A failed attempt that asks for a retry is tried again after 1 s, 2 s, 4 s...
(per lane, at most BACKOFF_MAX apart) until `give_up_after` has passed since its first failure; a newer
item for the same key replaces it. `put` never blocks on the network: a build never waits for a hub.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

log = logging.getLogger("feedd")
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 300.0  # seconds between attempts on a failing lane: doubling, capped
JOIN_TIMEOUT = 2.0  # seconds close() waits for the workers; one still in a request is left to finish alone


class Outcome(StrEnum):
    """What one attempt came to; anything but RETRY is final."""

    OK = "ok"
    RETRY = "retry"  # connection failure, timeout, 5xx, 429: worth another try
    FAILED = "failed"  # refused for good (4xx, a refused address): no retry
    GONE = "gone"  # 410 from a subscriber: its subscription is over
    GIVEN_UP = "given_up"  # still failing after give_up_after (reported by the outbox, never returned)


Send = Callable[[Hashable, Hashable, Any], Outcome]  # (lane, key, item) -> outcome
Record = Callable[[str, str], None]  # (what, outcome), e.g. ("deliveries", "ok"): for /metrics


@dataclass
class _Item:
    value: Any
    since: float  # monotonic time it was first put: the delay window counts from here
    first_failure: float | None = None


@dataclass
class _Lane:
    pending: dict[Hashable, _Item] = field(default_factory=dict)  # insertion-ordered: the order sent
    busy: bool = False
    timed: bool = False  # a timer is set for it (at most one: a dead lane's puts add none)
    not_before: float = 0.0  # monotonic; set by a failure's backoff
    failures: int = 0


class Outbox:
    """Worker threads that call `send(lane, key, item)` for each item put, as described above."""

    def __init__(self, send: Send, *, name: str, workers: int, delay: float, give_up_after: float,
                 on_outcome: Callable[[Hashable, Outcome], None] | None = None,
                 backoff: tuple[float, float] = (BACKOFF_FIRST, BACKOFF_MAX)) -> None:
        self._send, self.name, self.delay, self.give_up_after = send, name, delay, give_up_after
        self._on_outcome = on_outcome or (lambda key, outcome: None)
        self._backoff = backoff
        self._lanes: dict[Hashable, _Lane] = {}
        self._timers: list[tuple[float, int, Hashable]] = []  # (when, seq, lane); stale entries are skipped
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self.last_error: str | None = None
        self._threads = [threading.Thread(target=self._work, name=f"feedd-{name}-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    # -- producers ---------------------------------------------------------------------------------------
    def put(self, lane: Hashable, key: Hashable, value: Any) -> None:
        """Queue `value` for `lane`, replacing a pending value of the same key. Never blocks on I/O."""
        now = time.monotonic()
        with self._cond:
            if self._closed:
                return
            state = self._lanes.setdefault(lane, _Lane())
            item = state.pending.get(key)
            if item is None:
                state.pending[key] = _Item(value, now)
            else:  # coalesced: the latest value, in the older one's place and delay window
                item.value, item.first_failure = value, None
            if not state.busy and not state.timed:
                self._schedule(lane, state)

    def pending(self) -> int:
        """Items waiting or being sent."""
        with self._cond:
            return sum(len(s.pending) + s.busy for s in self._lanes.values())

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending or being sent (tests, and a graceful close)."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._lanes:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def close(self, wait: float = 0.0) -> None:
        """Stop the workers, after waiting up to `wait` seconds for pending work; what is left is dropped."""
        if wait:
            self.wait_idle(wait)
        with self._cond:
            self._closed = True
            left = sum(len(s.pending) for s in self._lanes.values())
            self._cond.notify_all()
        end = time.monotonic() + JOIN_TIMEOUT  # one deadline for all: a request in flight ends by websub.timeout
        for thread in self._threads:
            thread.join(timeout=max(end - time.monotonic(), 0))
        if left:
            log.warning("websub %s: %d notification(s) dropped at shutdown", self.name, left)

    # -- scheduling (under the lock) ---------------------------------------------------------------------
    def _ready_at(self, state: _Lane) -> float:
        first = next(iter(state.pending.values()))
        return max(state.not_before, first.since + self.delay)

    def _schedule(self, lane: Hashable, state: _Lane) -> None:
        state.timed = True
        heapq.heappush(self._timers, (self._ready_at(state), next(self._seq), lane))
        self._cond.notify()

    def _next(self) -> tuple[Hashable, _Lane, Hashable, _Item] | None:
        """The next item to send, waiting for it; None once closed."""
        while not self._closed:
            now = time.monotonic()
            if self._timers and self._timers[0][0] <= now:
                _, _, lane = heapq.heappop(self._timers)
                state = self._lanes.get(lane)
                if state is None or state.busy or not state.pending:
                    continue  # nothing to do (defensive: a lane has one timer, set only while idle)
                state.timed = False
                if self._ready_at(state) > now:  # its first item was replaced by a later one
                    self._schedule(lane, state)
                    continue
                key = next(iter(state.pending))
                state.busy = True
                return lane, state, key, state.pending.pop(key)
            self._cond.wait(self._timers[0][0] - now if self._timers else None)
        return None

    # -- workers -----------------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._cond:
                job = self._next()
            if job is None:
                return
            lane, state, key, item = job
            started = time.monotonic()
            try:
                outcome = self._send(lane, key, item.value)
            except Exception as exc:  # a bug in a send function must not kill the worker or the lane
                log.exception("websub %s: sending %s to %s failed", self.name, key, lane)
                self.last_error, outcome = f"{lane}: {type(exc).__name__}: {exc}", Outcome.FAILED
            with self._cond:
                gave_up = self._done(lane, state, key, item, outcome, started)
            self._on_outcome(key, outcome)
            if gave_up:
                self._on_outcome(key, Outcome.GIVEN_UP)

    def _done(self, lane: Hashable, state: _Lane, key: Hashable, item: _Item, outcome: Outcome,
              started: float) -> bool:
        """Settle one attempt; True when a failing item is given up."""
        state.busy, gave_up = False, False
        now = time.monotonic()
        if outcome is Outcome.RETRY:
            state.failures += 1
            first, most = self._backoff
            delay = min(first * 2 ** (state.failures - 1), most)
            state.not_before = now + delay
            if item.first_failure is None:
                item.first_failure = started
            if key in state.pending:
                pass  # a newer value arrived meanwhile: it replaces this one, and waits out the backoff
            elif now + delay - item.first_failure > self.give_up_after:  # the next try would come too late
                gave_up = True
                self.last_error = f"gave up on {key} for {lane} after {now - item.first_failure:.0f} s of failures"
                log.warning("websub %s: %s", self.name, self.last_error)
            else:  # first again: the order within the lane is kept
                state.pending = {key: item, **state.pending}
        else:
            state.failures, state.not_before = 0, 0.0
        if state.pending:
            self._schedule(lane, state)
        else:
            del self._lanes[lane]
            self._cond.notify_all()  # for wait_idle
        return gave_up
