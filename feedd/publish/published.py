"""PUBLISH, the record: what is published (a fingerprint per feed, one for the index pages), and the output
folder kept in line with it: files written, the files of gone feeds removed.

A feed whose fingerprint and files are as recorded is not rendered again; a feed whose write failed is not
recorded, so the next build tries again. The record lives in the state database (ingest.store).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from feedd.feeds.pages import listed_site, listing_line, render_index, render_opml
from feedd.feeds.render import SiteInfo
from feedd.ingest.store import Store
from feedd.layout import FEED_FILES, GONE_DIR, INDEX, OPML, PAGES, feed_files, feed_path, gone_marker
from feedd.models import Article, BuildReport, Diagnostic, FeedKey, FeedPlan, FeedSpec, FeedSummary
from feedd.publish.output import clean_temp_files, is_complete, managed_files, publish_many, remove

MASS_REMOVAL_MIN = 10  # removing up to this many published feeds at once is never held
Record = tuple[str, int, str]  # a published feed: the fingerprint of its files, the items shown, its name


def feed_fingerprint(site: SiteInfo, plan: FeedPlan, digest: Callable[[Article], str]) -> str:
    """Changes whenever any byte of the feed's files would (`digest`: of everything shown of one article)."""
    items = [(digest(a), site.source_of(a)) for a in plan.items]
    text = repr((plan.spec, site.title, site.base_url, site.description, site.language, site.author, site.hubs,
                 items))
    return hashlib.sha1(text.encode()).hexdigest()


def _markers(output: Path) -> set[str]:
    """The files marked Gone in the output folder (relative names)."""
    root = output / GONE_DIR
    return {Path(where, name).relative_to(root).as_posix() for where, _, names in os.walk(root) for name in names}


class Published:
    def __init__(self, output: Path, store: Store) -> None:
        self.output, self.store = output, store
        self.feeds = store.published_feeds()  # feed path → its Record
        self.pages = store.pages_fingerprint()  # of what index.html and feeds.opml show, as published
        self.retained = store.retained()  # feed path → (name, since): published, empty (see feeds.retention)
        self._gone = _markers(output)  # files published once and removed since: 410 Gone
        self.retry: set[str] = set()  # feeds whose last render or write failed
        self._stale_removed = False  # files left from before this record removed (a walk of the output folder)
        self._listed: dict[str, tuple[FeedSummary, str]] = {}  # feed path → its summary and listing_line

    def shown(self, spec: FeedSpec, fingerprint: str) -> int | None:
        """How many items the feed shows when it is published as this fingerprint says and its files are all
        there; else None (it must be rendered). The count is what a byte budget left of its items: knowing it
        spares rendering the feed again to learn it."""
        published = self.feeds.get(spec.path)
        if published is None or published[0] != fingerprint or not self._files_exist(spec):
            return None
        return published[1]

    def _files_exist(self, spec: FeedSpec) -> bool:
        out = str(self.output)  # a string: a Path per file adds up over thousands of feeds
        return all(is_complete(f"{out}/{rel}") for rel in feed_files(spec.path, spec.settings.formats))

    def mass_removal(self, lost: set[str], all_emptied: bool) -> str | None:
        """Why publishing a build that removes or empties the `lost` feeds (and, when `all_emptied`, leaves the
        all feed empty) would lose too much to be anything but a mistake (a mount that failed, a folder
        emptied), or None."""
        published = len(self.feeds)
        in_all = self.feeds.get(feed_path("all", "all"), ("", 0, ""))[1]
        if len(lost) > MASS_REMOVAL_MIN and len(lost) > published / 2:
            why = f"this build would remove or empty {len(lost)} of the {published} published feeds"
        elif all_emptied and in_all:
            why = f"this build would empty the all feed (it shows {in_all} item(s) now)"
        else:
            return None
        return (f"held, nothing published or removed: {why}; check the articles folder (a missing mount, a wrong "
                "path). To publish it on purpose run `feedd build --allow-mass-removal` (or delete the state folder)")

    def prepare(self, full: bool) -> None:
        self.output.mkdir(parents=True, exist_ok=True)
        if full:
            clean_temp_files(self.output)

    def write(self, outputs: dict[str, bytes], fingerprints: dict[str, Record | None], report: BuildReport) -> None:
        """Publish files; a feed whose file could not be written is not recorded as published (retried)."""
        for rel in [rel for rel in outputs if rel in self._gone]:  # published again: no longer Gone
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.output / gone_marker(rel))
            self._gone.discard(rel)
        written, unchanged, failed = publish_many(self.output, outputs)
        report.written += written
        report.unchanged += unchanged
        for rel, reason in failed.items():
            report.failed.append(rel)
            report.diagnostics.append(Diagnostic(rel, "error", f"{reason}; previous file kept"))
            fingerprints.pop(rel.rsplit(".", 1)[0], None)
            self.retry.add(rel.rsplit(".", 1)[0])

    def unpublish(self, fingerprints: dict[str, Record | None], current: set[str], full: bool,
                  report: BuildReport) -> None:
        """Remove the files of feeds that are gone (None), and mark them Gone (410) for good; record what is
        published now: each written feed's fingerprint, the number of items it shows and its name."""
        gone = {f"{path}.{ext}" for path, fp in fingerprints.items() if fp is None and path not in current
                for ext in FEED_FILES}
        if full and not self._stale_removed:  # once per record: anything a previous config or version left behind
            produced = {f"{p}.{ext}" for p in current for ext in FEED_FILES}
            gone |= managed_files(self.output) - produced - set(PAGES)
            self._stale_removed = not report.failed
        for rel in sorted(gone):
            if (self.output / rel).exists():
                try:
                    self._mark_gone(rel)
                    remove(self.output, rel)
                    report.removed.append(rel)
                except OSError as exc:
                    report.diagnostics.append(Diagnostic(rel, "warning", f"cannot remove stale file: {exc}"))
        self.feeds.update({p: fp for p, fp in fingerprints.items() if fp is not None})
        for path in [p for p, fp in fingerprints.items() if fp is None]:
            self.feeds.pop(path, None)
        self.store.save_published_feeds(fingerprints)

    def record_retained(self, retained: Mapping[FeedKey, tuple[str, datetime]]) -> None:
        """Record which feeds are kept published, empty, and since when (they outlive restarts)."""
        now = {key.path: value for key, value in retained.items()}
        changes: dict[str, tuple[str, datetime] | None] = {p: v for p, v in now.items() if self.retained.get(p) != v}
        changes.update({path: None for path in self.retained if path not in now})
        if changes:
            self.store.save_retained(changes)
            self.retained = now

    def _mark_gone(self, rel: str) -> None:
        marker = self.output / gone_marker(rel)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        self._gone.add(rel)

    def pages_fingerprint(self, site: SiteInfo, feeds: list[FeedSummary]) -> str:
        """Changes whenever index.html or feeds.opml would (cheaper than rendering them to compare): of what they
        show, not of each feed's own fingerprint, which changes with any byte of its items. So an edited title
        renders neither page (the index of a large site is megabytes: rendering it on every edit adds up).
        A feed's line is made again only when its summary is a new object: for the feeds the build rendered."""
        lines, kept, listed = [listed_site(site)], self._listed, {}
        for summary in feeds:
            line = kept.get(summary.spec.path)
            if line is None or line[0] is not summary:  # summaries are frozen: the same object says the same
                line = (summary, listing_line(summary))
            listed[summary.spec.path] = line
            lines.append(line[1])
        self._listed = listed
        return hashlib.sha1("\n".join(lines).encode()).hexdigest()

    def publish_pages(self, site: SiteInfo, feeds: list[FeedSummary], write: bool, full: bool,
                      report: BuildReport) -> None:
        """index.html and feeds.opml, when what they show changed (rendered without `write` too, so that
        `feedd check` exercises them). Published after the feeds: they never link to a feed not there yet."""
        listed = self.pages_fingerprint(site, feeds)
        current = listed == self.pages and all(is_complete(self.output / page) for page in PAGES)
        if not write or not current:
            pages = {INDEX: render_index(site, feeds), OPML: render_opml(site, feeds)}
            if write:
                self.write(pages, {}, report)
        elif full:
            report.unchanged += PAGES
        if write and not report.failed and listed != self.pages:
            self.pages = listed
            self.store.save_pages_fingerprint(listed)
