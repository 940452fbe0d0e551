"""feedd/push/outbox.py: coalesced, ordered, retried and bounded network work off the caller's thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from feedd.push.outbox import Outbox, Outcome

FAST = (0.02, 0.08)  # backoff: first retry after 20 ms, at most 80 ms apart


class Recorder:
    """A send function that records (lane, key, value) and answers with `script(lane, key, value)`."""

    def __init__(self, script: Callable[[object, object, object], Outcome] = lambda *a: Outcome.OK) -> None:
        self.calls: list[tuple[object, object, object, float]] = []
        self.outcomes: list[tuple[object, Outcome]] = []
        self.script = script
        self.lock = threading.Lock()

    def send(self, lane, key, value) -> Outcome:
        with self.lock:
            self.calls.append((lane, key, value, time.monotonic()))
        return self.script(lane, key, value)

    def outcome(self, key, outcome) -> None:
        with self.lock:
            self.outcomes.append((key, outcome))


@pytest.fixture
def make():
    boxes: list[Outbox] = []

    def factory(recorder: Recorder, **options) -> Outbox:
        settings = {"name": "test", "workers": 4, "delay": 0.0, "give_up_after": 5.0, "backoff": FAST} | options
        box = Outbox(recorder.send, on_outcome=recorder.outcome, **settings)
        boxes.append(box)
        return box

    yield factory
    for box in boxes:
        box.close()


def test_a_burst_within_the_delay_is_sent_once_with_the_latest_value(make):
    recorder = Recorder()
    box = make(recorder, delay=0.2)
    for version in (1, 2, 3):
        box.put("hub", "feeds/all.rss", version)
    assert box.wait_idle(2)
    assert [(lane, key, value) for lane, key, value, _ in recorder.calls] == [("hub", "feeds/all.rss", 3)]
    assert recorder.outcomes == [("feeds/all.rss", Outcome.OK)]


def test_changes_while_a_send_is_in_flight_coalesce_into_one_more(make):
    release = threading.Event()
    recorder = Recorder(lambda lane, key, value: (release.wait(2), Outcome.OK)[1])
    box = make(recorder)
    box.put("sub", "topic", 1)
    deadline = time.monotonic() + 2
    while not recorder.calls and time.monotonic() < deadline:
        time.sleep(0.005)
    for version in (2, 3, 4):
        box.put("sub", "topic", version)
    release.set()
    assert box.wait_idle(2)
    assert [value for _, _, value, _ in recorder.calls] == [1, 4]  # never more than one pending per topic


def test_put_returns_at_once_while_every_worker_is_stuck():
    release = threading.Event()
    recorder = Recorder(lambda *a: (release.wait(5), Outcome.OK)[1])
    box = Outbox(recorder.send, name="stuck", workers=2, delay=0, give_up_after=5)
    try:
        started = time.monotonic()
        for i in range(2_000):
            box.put(f"lane{i % 50}", f"topic{i % 7}", i)
        assert time.monotonic() - started < 0.5
        assert box.pending() <= 50 * 7  # bounded: the latest value per lane and topic
    finally:
        release.set()
        box.close()


def test_one_lane_sends_in_order_and_one_at_a_time(make):
    active, most = [0], [0]
    lock = threading.Lock()

    def slow(lane, key, value) -> Outcome:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.01)
        with lock:
            active[0] -= 1
        return Outcome.OK

    recorder = Recorder(slow)
    box = make(recorder, workers=8)
    for topic in ("a", "b", "c", "d"):
        box.put("one subscriber", topic, topic.upper())
    assert box.wait_idle(2)
    assert [key for _, key, _, _ in recorder.calls] == ["a", "b", "c", "d"]
    assert most[0] == 1


def test_lanes_are_sent_in_parallel(make):
    recorder = Recorder(lambda *a: (time.sleep(0.2), Outcome.OK)[1])
    box = make(recorder, workers=4)
    started = time.monotonic()
    for lane in range(4):
        box.put(lane, "topic", "v")
    assert box.wait_idle(2)
    assert time.monotonic() - started < 0.6


def test_a_failing_lane_is_retried_with_growing_backoff_then_succeeds(make):
    answers = [Outcome.RETRY, Outcome.RETRY, Outcome.RETRY, Outcome.OK]
    recorder = Recorder(lambda *a: answers.pop(0))
    box = make(recorder)
    box.put("flaky", "topic", "v")
    assert box.wait_idle(3)
    times = [at for *_, at in recorder.calls]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(times) == 4
    assert gaps[0] >= 0.02 and gaps[1] >= 0.04 and gaps[2] >= 0.08 * 0.9  # doubling, capped at 80 ms
    assert [o for _, o in recorder.outcomes] == [Outcome.RETRY] * 3 + [Outcome.OK]


def test_a_dead_lane_is_given_up_after_the_bound(make):
    recorder = Recorder(lambda *a: Outcome.RETRY)
    box = make(recorder, give_up_after=0.3)
    started = time.monotonic()
    box.put("dead", "topic", "v")
    assert box.wait_idle(2)
    assert time.monotonic() - started < 0.5
    assert recorder.outcomes[-1] == ("topic", Outcome.GIVEN_UP)
    assert 3 <= len(recorder.calls) <= 8
    assert "gave up on topic for dead" in (box.last_error or "")


def test_a_newer_value_replaces_a_failing_one_and_is_still_retried(make):
    seen: list[object] = []

    def script(lane, key, value) -> Outcome:
        seen.append(value)
        if value == 1:
            box.put(lane, key, 2)  # a change arrives while version 1 fails
            return Outcome.RETRY
        return Outcome.OK

    recorder = Recorder(script)
    box = make(recorder)
    box.put("sub", "topic", 1)
    assert box.wait_idle(2)
    assert seen == [1, 2]  # version 1 is never sent again


def test_final_failures_are_not_retried(make):
    recorder = Recorder(lambda *a: Outcome.FAILED)
    box = make(recorder)
    box.put("refusing", "topic", "v")
    assert box.wait_idle(1)
    assert len(recorder.calls) == 1


def test_a_send_function_that_raises_does_not_stop_the_workers(make):
    def script(lane, key, value) -> Outcome:
        if value == "bad":
            raise RuntimeError("boom")
        return Outcome.OK

    recorder = Recorder(script)
    box = make(recorder, workers=1)
    box.put("a", "t", "bad")
    box.put("b", "t", "good")
    assert box.wait_idle(1)
    assert ("t", Outcome.FAILED) in recorder.outcomes and ("t", Outcome.OK) in recorder.outcomes
    assert "RuntimeError: boom" in (box.last_error or "")


def test_close_stops_the_workers_and_drops_what_is_left():
    recorder = Recorder(lambda *a: Outcome.RETRY)
    box = Outbox(recorder.send, name="closing", workers=2, delay=10, give_up_after=60)
    box.put("lane", "topic", "v")
    box.close()
    assert all(not thread.is_alive() for thread in box._threads)
    box.put("lane", "topic", "after")  # ignored, never raises
    assert recorder.calls == []
