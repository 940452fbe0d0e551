"""PIPELINE: load → select/rank → render → publish. The only module that knows the whole pipeline.

A Builder keeps the article index, feed membership and a fingerprint of every published feed between
builds, so a build re-renders only the feeds whose items changed, and writes only bytes that changed.
`build()` is the one-shot form (`feedd build`, `feedd check`).
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from datetime import UTC, datetime

from feedd.collector import collector_paused
from feedd.config import Config
from feedd.feeds.membership import Feeds
from feedd.feeds.pages import render_index, render_opml, render_preview
from feedd.feeds.render import SiteInfo, render_formats, updated
from feedd.feeds.selection import GroupKey, matches, state_of
from feedd.ingest import store as statedb
from feedd.ingest.index import ArticleIndex
from feedd.ingest.readback import read_items
from feedd.models import Article, BuildReport, Diagnostic, Family, FeedPlan, FeedSpec, FeedSummary, feed_path
from feedd.publish.output import clean_temp_files, in_step, managed_files, publish_many, remove
from feedd.workers import process_pool

log = logging.getLogger("feedd")
PARALLEL_RENDER = 64  # feeds to render before worker processes pay for themselves
RENDER_BATCH = 16  # feeds rendered, then published, at a time
PAGES = ("index.html", "feeds.opml")
Job = tuple[GroupKey, FeedPlan, str]  # a feed to render: its key, ranked items and fingerprint


def render_job(site: SiteInfo, spec: FeedSpec, items: tuple[Article, ...]) -> tuple[dict[str, bytes], int]:
    """Every file of one feed: its formats (within the byte budget) and its HTML preview."""
    outputs, shown = {}, len(items)
    for fmt, (data, count) in render_formats(site, spec, items).items():
        outputs[f"{spec.path}.{fmt}"] = data
        shown = min(shown, count)
    summary = FeedSummary(spec, shown, updated(items[:shown]) if shown else None)
    outputs[f"{spec.path}.html"] = render_preview(site, summary, items[:shown])
    return outputs, shown


def _render_star(job: tuple[SiteInfo, FeedSpec, tuple, str | None]) -> tuple[dict[str, bytes], int] | str:
    """render_job, with any failure as a message. Given the index's path, the items are what read_items wants:
    a worker reads the whole articles itself (see Builder._rendered)."""
    site, spec, items, index_path = job
    try:
        return render_job(site, spec, items if index_path is None else read_items(index_path, items))
    except Exception as exc:  # reported by the parent, which keeps the feed's previous files
        return f"{type(exc).__name__}: {exc}"


class Builder:
    def __init__(self, config: Config, persist: bool = True, workers: int | None = None) -> None:
        self.config = config
        self.index = ArticleIndex(config, persist=persist, workers=workers)
        self.workers = self.index.workers
        self.feeds: Feeds | None = None
        self.published = statedb.feed_fingerprints(self.index.db)  # feed path → fingerprint of its published files
        self.summaries: dict[str, FeedSummary] = {}
        self.listed = statedb.pages_fingerprint(self.index.db)  # of what index.html and feeds.opml show, as published
        self.embargoes: list[tuple[datetime, str]] = []
        self.states: dict[str, str] = {}  # article id → published | withheld | embargoed
        self.state_counts: Counter[str] = Counter()  # kept with states: counting 100k states per edit took 13 ms
        self.retry: set[str] = set()  # feeds whose last render or write failed
        self.swept = False  # stale files from before this builder removed (a walk of the output folder)
        self._site_for: tuple[list[GroupKey], SiteInfo] | None = None

    def close(self) -> None:
        self.index.close()

    # -- one build -----------------------------------------------------------------------------------
    def build(self, now: datetime | None = None, paths: Iterable[str] | None = None,
              write: bool = True) -> BuildReport:
        """A full rescan (paths=None) or the given changed paths; renders only feeds whose items changed."""
        if paths is None or self.feeds is None:  # the whole folder: see feedd.collector
            with collector_paused():
                return self._build(now, paths, write)
        return self._build(now, paths, write)

    def _build(self, now: datetime | None, paths: Iterable[str] | None, write: bool) -> BuildReport:
        started = time.perf_counter()
        now = now or datetime.now(UTC)
        report = BuildReport(started=now)
        root = self.config.paths.articles
        if not root.is_dir():
            report.diagnostics.append(Diagnostic(str(root), "error", "articles folder does not exist"))
        changes = self.index.refresh(paths)
        touched = self._update_membership(changes.ids, now, rescan=paths is None)
        feeds = self.feeds
        assert feeds is not None
        keys = feeds.keys()
        site = self._site(keys)

        jobs = []
        for key in keys:
            path = feed_path(*key)
            if key not in touched and path in self.summaries and path not in self.retry:
                continue  # untouched, and published by this builder
            plan = feeds.plan(key)
            fingerprint = self._fingerprint(site, plan)
            # a feed cut by max_bytes is rendered once per builder: only rendering tells how many items it shows
            known = plan.spec.max_bytes is None or plan.spec.path in self.summaries
            if write and known and self.published.get(plan.spec.path) == fingerprint and self._files_exist(plan.spec):
                self.summaries.setdefault(plan.spec.path, self._summary(plan))
                report.unchanged += [f"{plan.spec.path}.{ext}" for ext in (*plan.spec.formats, "html")]
                continue
            jobs.append((key, plan, fingerprint))
        out = self.config.paths.output
        if write:
            out.mkdir(parents=True, exist_ok=True)
            if paths is None:
                clean_temp_files(out)
        fingerprints: dict[str, str | None] = {}
        for files, rendered in self._render(site, jobs, report):
            fingerprints.update(rendered)
            if write:
                self._write(files, fingerprints, report)
        current = {feed_path(*k) for k in keys}
        gone = (set(self.summaries) | (set(self.published) if paths is None else set())) - current
        for path in gone:
            self.summaries.pop(path, None)
            fingerprints[path] = None
        paths_in_order = (feed_path(*key) for key in keys)
        report.feeds = [self.summaries[p] for p in paths_in_order if p in self.summaries]
        if write:  # gone feeds right after the others are written, then the pages that list what is there
            self._unpublish(fingerprints, current, full=paths is None, report=report)
        listed = self._pages_fingerprint(site, report.feeds)
        if listed != self.listed or not write or not all(in_step(out / page) for page in PAGES):
            pages = {"index.html": render_index(site, report.feeds), "feeds.opml": render_opml(site, report.feeds)}
            if write:
                self._write(pages, fingerprints, report)  # after the feeds: it never links to one not there yet
        elif paths is None:
            report.unchanged += PAGES
        if write and not report.failed and listed != self.listed:
            self.listed = listed
            statedb.save_pages_fingerprint(self.index.db, listed)
        self._finish(report, changes.changed if paths is not None else None, now)
        report.duration = time.perf_counter() - started
        return report

    # -- membership ----------------------------------------------------------------------------------
    def _update_membership(self, ids: set[str], now: datetime, rescan: bool) -> set[GroupKey]:
        """Move changed (and newly due) articles between feeds; returns the feeds to re-rank."""
        winners = self.index.winners
        if self.feeds is None:
            self.feeds = Feeds(self.config, now)
            self.feeds.add_all(winners.values())
            self.embargoes = sorted((a.published_at, a.id) for a in winners.values()
                                    if a.published and a.published_at > now)
            self.states = {article_id: state_of(a, now) for article_id, a in winners.items()}  # as _track would
            self.state_counts = Counter(self.states.values())
            return set(self.feeds.members) | set(self.feeds.keys())
        feeds, touched = self.feeds, set()
        feeds.now = now
        while self.embargoes and self.embargoes[0][0] <= now:  # embargoes that are due now
            ids = ids | {heapq.heappop(self.embargoes)[1]}
        for article_id in ids:
            article = winners.get(article_id)
            touched |= feeds.add(article) if article is not None else feeds.remove(article_id)
            self._track(article_id, now)
            if article is not None and article.published and article.published_at > now:
                heapq.heappush(self.embargoes, (article.published_at, article_id))
        if rescan:  # what time alone changes: trending order, and max_age windows
            for feed in self.config.feeds:
                key = (Family.CONFIGURED, feed.name)
                if feed.filter.max_age is not None:
                    for article in [a for a in feeds.members[key].values() if not matches(a, feed.filter, now)]:
                        touched |= feeds.add(article)
                if (feed.sort or self.config.defaults.sort) == "trending":
                    touched.add(key)
            if self.config.defaults.sort == "trending":
                touched |= set(feeds.keys())
        return touched

    def next_embargo(self) -> datetime | None:
        """When the next embargoed article becomes due (ignoring ones that changed since)."""
        while self.embargoes:
            due, article_id = self.embargoes[0]
            article = self.index.winners.get(article_id)
            if article is not None and article.published and article.published_at == due:
                return due
            heapq.heappop(self.embargoes)
        return None

    # -- rendering -----------------------------------------------------------------------------------
    def _site(self, keys: list[GroupKey]) -> SiteInfo:
        if self._site_for is not None and self._site_for[0] is keys:  # Feeds.keys() is kept until a feed comes or goes
            return self._site_for[1]
        s = self.config.site
        site = SiteInfo(title=s.title, base_url=s.base_url, description=s.description, language=s.language,
                        author=s.author or s.title)
        site.provider_feeds.update({slug: site.url(f"feeds/providers/{slug}.rss") for family, slug in keys
                                    if family is Family.PROVIDERS and "rss" in self.config.defaults.formats})
        self._site_for = (keys, site)
        return site

    def _fingerprint(self, site: SiteInfo, plan: FeedPlan) -> str:
        """Changes whenever any byte of the feed's files would."""
        items = [(self.index.digest(a), site.source_of(a)) for a in plan.items]
        text = repr((plan.spec, site.title, site.base_url, site.description, site.language, site.author, items))
        return hashlib.sha1(text.encode()).hexdigest()

    def _pages_fingerprint(self, site: SiteInfo, feeds: list[FeedSummary]) -> str:
        """Changes whenever index.html or feeds.opml would: each feed's fingerprint covers its spec and items,
        so with the count shown it says all the pages show of it. (Rendering them to compare took 0.3 s at 100k
        articles, on every restart.)"""
        lines = [repr((site.title, site.base_url, site.description, site.language, site.author))]
        lines += [f"{s.spec.path}\t{self.published.get(s.spec.path)}\t{s.count}" for s in feeds]
        return hashlib.sha1("\n".join(lines).encode()).hexdigest()

    def _files_exist(self, spec: FeedSpec) -> bool:
        out = str(self.config.paths.output)  # a string: Path objects for 9k files were a tenth of a warm restart
        return all(in_step(f"{out}/{spec.path}.{ext}") for ext in (*spec.formats, "html"))

    @staticmethod
    def _summary(plan: FeedPlan) -> FeedSummary:
        return FeedSummary(plan.spec, len(plan.items), updated(plan.items) if plan.items else None)

    def _hydrate(self, plan: FeedPlan) -> tuple[Article, ...]:
        """The items as rendered: whole articles from the index, with full texts for full-content feeds."""
        return tuple(self.index.full(a, with_body=plan.spec.content == "full") for a in plan.items)

    def _render(self, site: SiteInfo, jobs: list[Job], report: BuildReport
                ) -> Iterator[tuple[dict[str, bytes], dict[str, str]]]:
        """Rendered files and fingerprints, RENDER_BATCH feeds at a time: a build that renders thousands of
        feeds never holds all their articles or bytes (64 feeds with full texts at once took 32 MB)."""
        done: list[tuple[Job, object]] = []
        for rendered in self._rendered(site, jobs):
            done.append(rendered)
            if len(done) == RENDER_BATCH:
                yield self._collect(done, report)
                done = []
        if done:
            yield self._collect(done, report)

    def _rendered(self, site: SiteInfo, jobs: list[Job]
                  ) -> Iterator[tuple[Job, object]]:
        """(job, files or error) in order; in worker processes when there are many feeds, a few feeds ahead.
        Workers read the whole articles from the index themselves: reading and unpickling 115k of them (with
        full texts) in this process, and pickling them to the workers, made it the bottleneck of a cold build."""
        in_process = len(jobs) < PARALLEL_RENDER or self.workers < 2
        worker_reads = not in_process and self.index.db_path != ":memory:"  # an index on disk, which workers open

        def work(plan: FeedPlan) -> tuple[SiteInfo, FeedSpec, tuple, str | None]:
            if worker_reads:
                with_body = plan.spec.content == "full"
                return site, plan.spec, tuple(self.index.wanted(a, with_body) for a in plan.items), self.index.db_path
            return site, plan.spec, self._hydrate(plan), None

        if in_process:
            yield from ((job, _render_star(work(job[1]))) for job in jobs)
            return
        with process_pool(self.workers) as pool:
            running: deque[tuple[Job, Future]] = deque()
            for job in jobs:
                running.append((job, pool.submit(_render_star, work(job[1]))))
                if len(running) > 2 * self.workers:
                    first, future = running.popleft()
                    yield first, future.result()
            yield from ((waiting, future.result()) for waiting, future in running)

    def _collect(self, done: list[tuple[Job, object]], report: BuildReport
                 ) -> tuple[dict[str, bytes], dict[str, str]]:
        outputs: dict[str, bytes] = {}
        fingerprints: dict[str, str] = {}
        for (_, plan, fingerprint), result in done:
            spec = plan.spec
            if isinstance(result, str):  # one feed's failure never stops the others
                report.failed.append(spec.path)
                reason = f"render failed, previous files kept: {result}"
                report.diagnostics.append(Diagnostic(spec.path, "error", reason))
                self.summaries[spec.path] = self._summary(plan)  # still listed: its old files are served
                self.retry.add(spec.path)
                continue
            self.retry.discard(spec.path)
            files, shown = result
            outputs.update(files)
            self.summaries[spec.path] = FeedSummary(spec, shown, updated(plan.items[:shown]) if shown else None)
            fingerprints[spec.path] = fingerprint
        return outputs, fingerprints

    # -- publishing ----------------------------------------------------------------------------------
    def _write(self, outputs: dict[str, bytes], fingerprints: dict[str, str | None], report: BuildReport) -> None:
        """Publish files; a feed whose file could not be written is not recorded as published (retried)."""
        written, unchanged, failed = publish_many(self.config.paths.output, outputs)
        report.written += written
        report.unchanged += unchanged
        for rel, reason in failed.items():
            report.failed.append(rel)
            report.diagnostics.append(Diagnostic(rel, "error", f"{reason}; previous file kept"))
            fingerprints.pop(rel.rsplit(".", 1)[0], None)  # not recorded as published: retried next build
            self.retry.add(rel.rsplit(".", 1)[0])

    def _unpublish(self, fingerprints: dict[str, str | None], current: set[str], full: bool,
                   report: BuildReport) -> None:
        """Remove the files of feeds that are gone, and record what is published now."""
        root = self.config.paths.output
        gone = {f"{path}.{ext}" for path, fp in fingerprints.items() if fp is None and path not in current
                for ext in ("rss", "atom", "json", "html")}
        if full and not self.swept:  # once per builder: anything a previous config or version left behind
            produced = {f"{p}.{ext}" for p in current for ext in ("rss", "atom", "json", "html")}
            gone |= managed_files(root) - produced - {"index.html", "feeds.opml"}
            self.swept = not report.failed
        for rel in sorted(gone):
            if (root / rel).exists():
                try:
                    remove(root, rel)
                    report.removed.append(rel)
                except OSError as exc:
                    report.diagnostics.append(Diagnostic(rel, "warning", f"cannot remove stale file: {exc}"))
        self.published.update({p: fp for p, fp in fingerprints.items() if fp is not None})
        for path in [p for p, fp in fingerprints.items() if fp is None]:
            self.published.pop(path, None)
        statedb.save_feed_fingerprints(self.index.db, fingerprints)

    def _finish(self, report: BuildReport, changed: set[str] | None, now: datetime) -> None:
        counts = {state: self.state_counts[state] for state in ("published", "withheld", "embargoed")}
        counts["rejected"], counts["orphan_texts"] = self.index.counts()
        report.articles = counts
        everything = self.index.diagnostics() if changed is None else \
            [d for rel in sorted(changed) if rel in self.index.files for d in self.index.files[rel].diagnostics]
        report.diagnostics = everything + report.diagnostics
        report.open_diagnostics = self.index.open_diagnostics
        report.next_embargo = self.next_embargo()

    def _track(self, article_id: str, now: datetime) -> None:
        """Keep each article's state (published, withheld, embargoed) for the report, one change at a time."""
        article = self.index.winners.get(article_id)
        old = self.states.pop(article_id, None)
        if old is not None:
            self.state_counts[old] -= 1
        if article is not None:
            state = self.states[article_id] = state_of(article, now)
            self.state_counts[state] += 1


def build(config: Config, now: datetime | None = None, write: bool = True) -> BuildReport:
    """One full build. With write=False nothing touches the disk (`feedd check`)."""
    builder = Builder(config, persist=write)
    try:
        return builder.build(now, write=write)
    finally:
        builder.close()
