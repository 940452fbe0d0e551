"""APScheduler jobs: the periodic rescan and the one-shot release of the next embargoed article."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

RESCAN, EMBARGO = "rescan", "embargo"


class Scheduler:
    """Owns the BackgroundScheduler; every job only asks for a rebuild."""

    def __init__(self, request_build: Callable[[str], None], rescan_interval: timedelta) -> None:
        self._request = request_build
        self._scheduler = BackgroundScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        self._interval = rescan_interval

    def start(self) -> None:
        self._scheduler.start()
        self.set_rescan_interval(self._interval)

    def set_rescan_interval(self, interval: timedelta) -> None:
        self._interval = interval
        self._scheduler.add_job(self._request, "interval", seconds=interval.total_seconds(), args=["rescan"],
                                id=RESCAN, replace_existing=True)

    def replan(self) -> None:
        """After a clock jump: the next rescan one interval from now, and every job checked at once."""
        if self._scheduler.running:
            self.set_rescan_interval(self._interval)
            self._scheduler.wakeup()

    def schedule_embargo(self, due: datetime | None) -> None:
        """Rebuild at the moment the next embargoed article becomes due (or cancel: None)."""
        if due is None:
            if self._scheduler.get_job(EMBARGO):
                self._scheduler.remove_job(EMBARGO)
            return
        self._scheduler.add_job(self._release, "date", run_date=due, args=[due], id=EMBARGO,
                                replace_existing=True)

    def _release(self, due: datetime) -> None:
        early = (due - datetime.now(UTC)).total_seconds()
        if early > 0:  # timers may wake a hair early; the article must be due when the build looks
            time.sleep(early + 0.001)
        self._request("embargo")

    def jobs(self) -> list[dict[str, str | None]]:
        return [{"id": job.id, "next_run": job.next_run_time.isoformat() if job.next_run_time else None}
                for job in self._scheduler.get_jobs()]

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
