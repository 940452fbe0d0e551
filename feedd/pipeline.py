"""PIPELINE: load → select/rank → render → publish. The only module that knows the whole pipeline.

A Builder keeps the article index, feed membership and the record of what is published between builds, so
a build re-renders only the feeds whose items changed, and writes only bytes that changed. `build()` is the
one-shot form (`feedd build`, `feedd check`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime

from feedd.collector import collector_paused
from feedd.config import Config
from feedd.errors import RenderError
from feedd.feeds import jobs
from feedd.feeds.catalog import Catalog
from feedd.feeds.membership import Membership
from feedd.feeds.render import SiteInfo, site_info, summarize
from feedd.feeds.retention import retention as feeds_retention
from feedd.ingest.index import ArticleIndex, Changes
from feedd.layout import feed_files, feed_key
from feedd.models import BuildReport, Diagnostic, Family, FeedKey, FeedPlan, FeedSummary
from feedd.publish.published import Published, Record, feed_fingerprint

ALL = FeedKey(Family.ALL, "all")


class Builder:
    def __init__(self, config: Config, persist: bool = True, workers: int | None = None,
                 allow_mass_removal: bool = False) -> None:
        self.config = config
        self.allow_mass_removal = allow_mass_removal
        self.index = ArticleIndex(config, persist=persist, workers=workers)
        self.workers = self.index.workers
        self.published = Published(config.paths.output, self.index.store)
        self.catalog: Catalog | None = None  # the select stage's state, from the first build on
        self.summaries: dict[str, FeedSummary] = {}  # feed path → what the index pages show of it
        self._site: tuple[list[FeedKey], SiteInfo] | None = None
        self._unmatched: list[Diagnostic] = []  # the last build's unmatched_filters

    def close(self) -> None:
        self.index.close()

    @property
    def membership(self) -> Membership:
        assert self.catalog is not None, "before the first build"
        return self.catalog.membership

    def build(self, now: datetime | None = None, paths: Iterable[str] | None = None,
              write: bool = True) -> BuildReport:
        """A full rescan (paths=None) or the given changed paths; renders only feeds whose items changed."""
        if paths is None or self.catalog is None:  # the whole folder: see feedd.collector
            with collector_paused():
                return self._build(now, paths, write)
        return self._build(now, paths, write)

    def _build(self, now: datetime | None, paths: Iterable[str] | None, write: bool) -> BuildReport:
        started = time.perf_counter()
        now = now or datetime.now(UTC)
        full = paths is None
        report = BuildReport(started=now)
        if not self.config.paths.articles.is_dir():
            report.diagnostics.append(Diagnostic(str(self.config.paths.articles), "error",
                                                 "articles folder does not exist"))
        # load
        changes = self.index.refresh(paths)
        # select
        if self.catalog is None:
            self.catalog = Catalog(self.config, self.index, self.published.retained, now)
            touched = self.catalog.everything()
        else:
            touched = self.catalog.update(changes.ids, now, rescan=full)
        self.index.store.save_slugs(self.membership.slugs.take_new())  # before any feed is published under one
        known = set(self.summaries) | (set(self.published.feeds) if full else set())
        vanished = known - {key.path for key in self.membership.keys()}
        retention = feeds_retention(self.config, self.membership, vanished, self._name_of, now)
        emptied = not self.membership.members.get(ALL)  # (feeds kept published, empty, are lost all the same)
        if write and not self.allow_mass_removal and (held := self.published.mass_removal(vanished, emptied)):
            report.held = held
            report.diagnostics.append(Diagnostic(str(self.config.paths.articles), "error", held))
            report.summaries = list(self.summaries.values())
            self.summaries.clear()  # the next build looks at every feed again
            self._finish(report, changes, full)
            report.duration = time.perf_counter() - started
            return report
        retention.apply(self.membership)
        keys = self.membership.keys()
        site = self._site_for(keys)
        current = {key.path for key in keys}
        gone = known - current
        todo = self._jobs(keys, touched | set(retention.retain), site, write, report)
        # render, then publish a batch at a time
        if write:
            self.published.prepare(full)
        fingerprints: dict[str, Record | None] = {}
        for batch in jobs.render(site, todo, self.index, self.catalog.links.of, self.workers):
            files = self._collect(batch, fingerprints, report)
            if write:
                self.published.write(files, fingerprints, report)
        for path in gone:
            self.summaries.pop(path, None)
            fingerprints[path] = None
        report.summaries = [self.summaries[key.path] for key in keys if key.path in self.summaries]
        if write:  # gone feeds right after the others are written, then the pages that list what is there
            self.published.unpublish(fingerprints, current, full, report)
            self.published.record_retained(self.membership.retained)
        self.published.publish_pages(site, report.summaries, write, full, report)
        self._finish(report, changes, full)
        report.duration = time.perf_counter() - started
        return report

    # -- select ---------------------------------------------------------------------------------------
    def _jobs(self, keys: list[FeedKey], touched: set[FeedKey], site: SiteInfo, write: bool,
              report: BuildReport) -> list[jobs.Job]:
        """The feeds to render: those touched whose fingerprint is not the one published."""
        assert self.catalog is not None
        todo = []
        for key in keys:
            path = key.path
            if key not in touched and path in self.summaries and path not in self.published.retry:
                continue  # untouched, and published by this builder
            plan = self.membership.plan(key)
            fingerprint = feed_fingerprint(site, plan, self.catalog.digest)
            if write and (shown := self.published.shown(plan.spec, fingerprint)) is not None:
                self.summaries.setdefault(path, _summary(plan, shown))
                report.unchanged += feed_files(path, plan.spec.settings.formats)
                continue
            todo.append(jobs.Job(plan, fingerprint))
        return todo

    def _name_of(self, path: str) -> str:
        """The name a published feed was listed by."""
        if path in self.summaries:
            return self.summaries[path].spec.name
        return self.published.feeds[path][2] if path in self.published.feeds else feed_key(path)[1]

    def _site_for(self, keys: list[FeedKey]) -> SiteInfo:
        if self._site is None or self._site[0] is not keys:  # Membership.keys() is kept until a feed comes or goes
            self._site = (keys, site_info(self.config, keys, self.membership.slugs.owners(Family.PROVIDERS)))
        return self._site[1]

    # -- render and publish ---------------------------------------------------------------------------
    def _collect(self, batch: list[tuple[jobs.Job, jobs.Rendered | RenderError]],
                 fingerprints: dict[str, Record | None], report: BuildReport) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        for job, result in batch:
            spec = job.plan.spec
            if isinstance(result, RenderError):  # one feed's failure never stops the others
                report.failed.append(spec.path)
                reason = f"render failed, previous files kept: {result.reason}"
                report.diagnostics.append(Diagnostic(spec.path, "error", reason))
                self.summaries[spec.path] = _summary(job.plan)  # still listed: its old files are served
                self.published.retry.add(spec.path)
                continue
            self.published.retry.discard(spec.path)
            files.update(result.files)
            self.summaries[spec.path] = summarize(spec, job.plan.items[:result.shown])
            fingerprints[spec.path] = (job.fingerprint, result.shown, spec.name)
        return files

    def _finish(self, report: BuildReport, changes: Changes, full: bool) -> None:
        assert self.catalog is not None
        counts = self.catalog.states.report()
        counts["rejected"], counts["orphan_texts"] = self.index.counts()
        report.articles = counts
        report.changed = changes.changed | changes.removed
        everything = self.index.diagnostics() if full else self.index.diagnostics_of(changes)
        of_this_build = report.diagnostics  # render and write failures, a held build
        unmatched = self.catalog.diagnostics()
        # listed like the files' diagnostics: all of them in a full build, else only those new since the last
        listed = unmatched if full else [d for d in unmatched if d not in self._unmatched]
        self._unmatched = unmatched
        report.diagnostics = everything + of_this_build + listed
        report.open_diagnostics = (self.index.open_count() + sum(d.level != "info" for d in of_this_build)
                                   + sum(d.level != "info" for d in unmatched))
        report.next_embargo = self.catalog.states.next_embargo(self.index.winners)


def _summary(plan: FeedPlan, shown: int | None = None) -> FeedSummary:
    return summarize(plan.spec, plan.items[:shown])


def build(config: Config, now: datetime | None = None, write: bool = True,
          allow_mass_removal: bool = False) -> BuildReport:
    """One full build. With write=False nothing touches the disk (`feedd check`)."""
    builder = Builder(config, persist=write, allow_mass_removal=allow_mass_removal)
    try:
        return builder.build(now, write=write)
    finally:
        builder.close()
