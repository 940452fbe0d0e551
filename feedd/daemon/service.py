"""The daemon's state: one builder thread fed by the watcher and the scheduler, and config reloads.

Only one build runs at a time; requests that arrive meanwhile coalesce into one more build. A failed
build leaves the published files as they were, so the last good feeds stay online.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from feedd.config import Config, require_articles
from feedd.daemon.clock import Clock, ClockWatch
from feedd.daemon.scheduler import Scheduler
from feedd.daemon.watcher import Watcher
from feedd.errors import ConfigError, FeeddError
from feedd.layout import INDEX
from feedd.models import BuildReport, Diagnostic
from feedd.pipeline import Builder
from feedd.push import OutputFeeds, Push, feed_links, is_feed_url
from feedd.serve.metrics import Metrics

log = logging.getLogger("feedd")
RETRY_FIRST, RETRY_MAX = 1.0, 30.0  # seconds before retrying a failed build: doubling each time, capped
PUSH_CLOSE_WAIT = 1.0  # seconds pending WebSub notifications get at shutdown or reload before being dropped


class Service:
    def __init__(self, config: Config, load: Callable[[], Config], *, watch: bool = True,
                 metrics: Metrics | None = None) -> None:
        self.config, self._load, self.watch = config, load, watch
        self.metrics = metrics or Metrics()
        self.last_report: BuildReport | None = None
        self.last_error: str | None = None
        self.last_success: datetime | None = None
        self.config_error: str | None = None  # the last reload's failure, until a reload succeeds
        self._retry_delay: float | None = None  # while the last build failed: when to try again unasked
        self._reasons: set[str] = set()
        self._logged: set[Diagnostic] = set()  # diagnostics logged already (see _log_diagnostics)
        self._paths: set[str] | None = set()  # changed paths to look at; None: rescan the whole folder
        self.builder: Builder | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="feedd-builder", daemon=True)
        self.scheduler = Scheduler(self.request_build, config.service.rescan_interval)
        self.watcher: Watcher | None = None
        self._replace_builder = False
        self.clock = Clock()
        self._clock_watch = ClockWatch(self._on_clock_jump)
        self.push: Push | None = None  # WebSub: pings and the built-in hub (made in start, remade on reload)
        self._push_lock = threading.Lock()  # a build's announcement waits while a reload replaces the Push
        self._links = feed_links(config.hub_urls, config.site.base_url)

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Build once (so the server starts with current feeds), then keep them current. The watcher starts
        first: an article saved while the first build runs (minutes, cold, for a large folder) is built right
        after it, not at the next rescan."""
        self._start_watcher()
        self.push = self._make_push(self.config)  # before the first build: its changes are announced too
        self.builder = Builder(self.config)
        self._after_build(self._build({"start"}, None))
        self._thread.start()
        self.scheduler.start()
        self._schedule_embargo()
        self._clock_watch.start()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        self._clock_watch.stop()
        if self.watcher:
            self.watcher.stop()
        self.scheduler.shutdown()
        self._thread.join(timeout=4)
        if self.builder is not None and not self._thread.is_alive():
            self.builder.close()
        if self.push is not None:  # after the last build: what it announced gets a second to go out
            self.push.close(wait=PUSH_CLOSE_WAIT)

    def _start_watcher(self) -> None:
        if not self.watch:
            return
        watcher = Watcher(self.config.paths.articles, self.config.source, self._on_files_changed,
                          debounce=self.config.service.debounce)
        try:
            watcher.start()
        except OSError as exc:
            log.warning("file watcher unavailable (%s); relying on the rescan every %s",
                        exc, self.config.service.rescan_interval)
            return
        self.watcher = watcher

    # -- requests ----------------------------------------------------------------------------------------
    def request_build(self, reason: str, paths: set[str] | None = None) -> None:
        """Ask for a build of the given changed paths (None: compare the whole folder with the index)."""
        with self._lock:
            self._reasons.add(reason)
            if reason == "embargo" and paths is None:
                paths = set()  # nothing changed on disk: only time moved on
            self._paths = None if paths is None or self._paths is None else self._paths | paths
        self._wake.set()

    def _on_files_changed(self, kinds: set[str], paths: set[str] | None) -> None:
        if "config" in kinds:
            self.reload("config file changed")
        if "articles" in kinds:
            self.request_build("files changed" if paths is not None else "events lost: rescan", paths)

    def _on_clock_jump(self, seconds: float) -> None:
        log.warning("the system clock jumped %+.1f s: rescheduling the rescan and the embargo job", seconds)
        self.scheduler.replan()
        self.request_build("clock jumped")

    def reload(self, why: str = "SIGHUP") -> bool:
        """Load the config again; an invalid one is logged and the current one stays in force."""
        try:
            if _empty(self.config.source):  # an editor's truncate-then-write, not a wish for the defaults
                raise ConfigError(self.config.source, "the file is empty")
            new = self._load()
            if new.paths.articles != self.config.paths.articles:
                require_articles(new)
        except FeeddError as exc:
            log.error("config reload (%s) failed, keeping the current config: %s", why, exc)
            self.config_error = f"config reload failed, the previous config stays in force: {exc}"
            return False
        old, self.config, self.config_error = self.config, new, None
        log.info("config reloaded (%s)", why)
        if _push_settings(new) != _push_settings(old):
            self._replace_push(new)
        self._replace_builder = True
        if new.service.rescan_interval != old.service.rescan_interval:
            self.scheduler.set_rescan_interval(new.service.rescan_interval)
        if new.paths.articles != old.paths.articles and self.watcher:
            self.watcher.stop()
            self.watcher = None
            self._start_watcher()
        self.request_build("config reloaded")
        return True

    # -- building ----------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            asked = self._wake.wait(self._retry_delay)
            if self._stopped.is_set():
                return
            self._wake.clear()
            with self._lock:
                if not asked:  # the last build failed (a full disk, a read-only folder): try again unasked
                    self._reasons.add("retry after a failed build")
                reasons, self._reasons = self._reasons, set()
                paths, self._paths = self._paths, set()
            if self._replace_builder or self.builder is None:  # a new config: start from the index on disk
                self._replace_builder = False
                if self.builder is not None:
                    self.builder.close()
                self.builder, paths = Builder(self.config), None
            self._after_build(self._build(reasons, paths))
            self._schedule_embargo()

    def _after_build(self, ok: bool) -> None:
        """Plan the next retry: none after a success, else 1 s, 2 s, 4 s... up to RETRY_MAX."""
        if ok:
            self._retry_delay = None
            return
        self._retry_delay = RETRY_FIRST if self._retry_delay is None else min(2 * self._retry_delay, RETRY_MAX)
        log.warning("the last build failed; previous feeds stay online; retrying in %.0f s", self._retry_delay)

    def _build(self, reasons: set[str], paths: set[str] | None) -> bool:
        assert self.builder is not None
        config = self.builder.config
        announce = (config.paths.output / INDEX).is_file()  # else a fresh folder: nobody can have seen a feed
        try:
            report = self.builder.build(now=self.clock.now(), paths=paths)
        except Exception as exc:  # the published files are untouched: the last good feeds stay online
            log.exception("build failed (%s); previous feeds stay online", ", ".join(sorted(reasons)))
            self.last_error = f"build failed: {exc}"
            self.metrics.builds.labels("failure").inc()
            self._replace_builder = True  # its state may be half updated: the retry starts from the index
            return False
        self.last_report = report
        if announce and report.written:
            self._announce(config, report.written)
        self.metrics.record_build(report)
        if report.ok:
            self.last_success, self.last_error = report.started, None
        elif report.held:
            self.last_error = report.held
        else:
            first = next((d for d in report.diagnostics if d.path in report.failed), None)
            self.last_error = f"{len(report.failed)} output(s) failed" + (f", e.g. {first}" if first else "")
        self._log_diagnostics(report, full=paths is None)
        a = report.articles
        log.info("build (%s): files %d written, %d unchanged, %d removed, %d failed; articles %d published, "
                 "%d withheld, %d embargoed, %d rejected; %.2fs", ", ".join(sorted(reasons)),
                 len(report.written), len(report.unchanged), len(report.removed), len(report.failed),
                 a.get("published", 0), a.get("withheld", 0), a.get("embargoed", 0), a.get("rejected", 0),
                 report.duration)
        return not report.failed  # a held build is not retried: the next change or rescan looks again

    # -- push (WebSub) ----------------------------------------------------------------------------------
    def _make_push(self, config: Config) -> Push:
        return Push(config, is_topic=is_feed_url(config.site.base_url, config.paths.output),
                    record=self.metrics.record_websub)

    def _replace_push(self, config: Config) -> None:
        """New WebSub settings: the old hub writes its subscriptions out before the new one reads them."""
        with self._push_lock:
            old, self.push = self.push, None
            if old is not None:
                old.close(wait=PUSH_CLOSE_WAIT)
            self._links = feed_links(config.hub_urls, config.site.base_url)
            if old is not None:  # not started yet: start() makes it
                self.push = self._make_push(config)

    def _announce(self, config: Config, written: list[str]) -> None:
        """Tell the hubs and the built-in hub's subscribers about the feeds whose bytes this build changed.
        Never fails a build: push only queues work (it sends on threads of its own)."""
        with self._push_lock:
            if self.push is None:
                return
            try:
                self.push.published(OutputFeeds(config.site.base_url, config.paths.output, written))
            except Exception:
                log.exception("websub: could not queue the notifications of this build")

    def websub(self, form: Mapping[str, str]) -> tuple[int, str]:
        """`POST /websub`, answered by the built-in hub in force: 404 when it is off, 503 for the moment a
        reload replaces it."""
        push = self.push
        return push.handle(form) if push is not None else (503, "Service Unavailable")

    def links(self, rel: str) -> str | None:
        """The `Link` header of a published file (WebSub discovery on feeds), with the hubs in force."""
        return self._links(rel)

    def _log_diagnostics(self, report: BuildReport, full: bool) -> None:
        """Log each warning and error once per change of the file that causes it: a rescan or a config reload
        lists the whole folder's again, and those already logged are not repeated."""
        for diagnostic in report.diagnostics:
            if diagnostic.level != "info" and (diagnostic.path in report.changed or diagnostic not in self._logged):
                log.log(logging.ERROR if diagnostic.level == "error" else logging.WARNING, "%s", diagnostic)
        self._logged = set(report.diagnostics) if full else self._logged | set(report.diagnostics)

    def _schedule_embargo(self) -> None:
        if self.last_report is not None and not self._stopped.is_set():
            self.scheduler.schedule_embargo(self.last_report.next_embargo)

    # -- health ------------------------------------------------------------------------------------------
    def health(self) -> tuple[dict[str, Any], bool]:
        report = self.last_report
        details: dict[str, Any] = {"last_build": None, "last_success": self.last_success,
                                   "error": self.last_error, "config_error": self.config_error,
                                   "retry_in": self._retry_delay, "jobs": self.scheduler.jobs()}
        if report is not None:
            details["last_build"] = {
                "time": report.started, "duration": round(report.duration, 3),
                "outcome": "success" if report.ok else "held" if report.held else "partial failure",
                "articles": report.articles, "feeds": len(report.summaries),
                "written": len(report.written), "removed": len(report.removed), "failed": len(report.failed),
            }
            details["diagnostics"] = report.open_diagnostics
        websub = self.push.status() if self.push is not None else None
        if websub is not None:
            details["websub"] = websub
        state_error = websub is not None and websub["hub"] is not None and websub["hub"]["state_error"]
        healthy = (report is not None and report.ok) or (self.config.paths.output / INDEX).is_file()
        if healthy and (self.last_error or self.config_error or state_error):  # serving, but stale, on an old
            details["status"] = "degraded"  # config, or the hub cannot keep its subscriptions
        return details, healthy


def _push_settings(config: Config) -> tuple:
    """What the WebSub side is made from: a change of any of it makes a new Push on reload."""
    return config.websub, config.site.base_url, config.paths.output, config.paths.state


def _empty(path: Path | None) -> bool:
    try:
        return path is not None and not path.read_bytes().strip()
    except OSError:  # missing or unreadable: load_config says so
        return False
