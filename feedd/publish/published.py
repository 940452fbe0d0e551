"""PUBLISH, the record: what is published (a fingerprint per feed, one for the index pages), and the output
folder kept in line with it: files written, the files of gone feeds removed.

A feed whose fingerprint and files are as recorded is not rendered again; a feed whose write failed is not
recorded, so the next build tries again. The record lives in the state database (ingest.store).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from feedd.feeds.render import SiteInfo
from feedd.ingest.store import Store
from feedd.layout import FEED_FILES, PAGES, feed_files, feed_path
from feedd.models import Article, BuildReport, Diagnostic, FeedPlan, FeedSpec, FeedSummary
from feedd.publish.output import clean_temp_files, is_complete, managed_files, publish_many, remove

MASS_REMOVAL_MIN = 10  # removing up to this many published feeds at once is never held


def feed_fingerprint(site: SiteInfo, plan: FeedPlan, digest: Callable[[Article], str]) -> str:
    """Changes whenever any byte of the feed's files would (`digest`: of everything shown of one article)."""
    items = [(digest(a), site.source_of(a)) for a in plan.items]
    text = repr((plan.spec, site.title, site.base_url, site.description, site.language, site.author, site.hubs,
                 items))
    return hashlib.sha1(text.encode()).hexdigest()


class Published:
    def __init__(self, output: Path, store: Store) -> None:
        self.output, self.store = output, store
        self.feeds = store.published_feeds()  # feed path → (fingerprint of its published files, items shown)
        self.pages = store.pages_fingerprint()  # of what index.html and feeds.opml show, as published
        self.retry: set[str] = set()  # feeds whose last render or write failed
        self._stale_removed = False  # files left from before this record removed (a walk of the output folder)

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

    def mass_removal(self, gone: set[str], all_emptied: bool) -> str | None:
        """Why publishing a build that removes `gone` (and, when `all_emptied`, leaves the all feed empty) would
        lose too much to be anything but a mistake (a mount that failed, a folder emptied), or None."""
        published = len(self.feeds)
        in_all = self.feeds.get(feed_path("all", "all"), ("", 0))[1]
        if len(gone) > MASS_REMOVAL_MIN and len(gone) > published / 2:
            why = f"this build would remove {len(gone)} of the {published} published feeds"
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

    def write(self, outputs: dict[str, bytes], fingerprints: dict[str, tuple[str, int] | None],
              report: BuildReport) -> None:
        """Publish files; a feed whose file could not be written is not recorded as published (retried)."""
        written, unchanged, failed = publish_many(self.output, outputs)
        report.written += written
        report.unchanged += unchanged
        for rel, reason in failed.items():
            report.failed.append(rel)
            report.diagnostics.append(Diagnostic(rel, "error", f"{reason}; previous file kept"))
            fingerprints.pop(rel.rsplit(".", 1)[0], None)
            self.retry.add(rel.rsplit(".", 1)[0])

    def unpublish(self, fingerprints: dict[str, tuple[str, int] | None], current: set[str], full: bool,
                  report: BuildReport) -> None:
        """Remove the files of feeds that are gone (None), and record what is published now: each written feed's
        fingerprint and the number of items it shows."""
        gone = {f"{path}.{ext}" for path, fp in fingerprints.items() if fp is None and path not in current
                for ext in FEED_FILES}
        if full and not self._stale_removed:  # once per record: anything a previous config or version left behind
            produced = {f"{p}.{ext}" for p in current for ext in FEED_FILES}
            gone |= managed_files(self.output) - produced - set(PAGES)
            self._stale_removed = not report.failed
        for rel in sorted(gone):
            if (self.output / rel).exists():
                try:
                    remove(self.output, rel)
                    report.removed.append(rel)
                except OSError as exc:
                    report.diagnostics.append(Diagnostic(rel, "warning", f"cannot remove stale file: {exc}"))
        self.feeds.update({p: fp for p, fp in fingerprints.items() if fp is not None})
        for path in [p for p, fp in fingerprints.items() if fp is None]:
            self.feeds.pop(path, None)
        self.store.save_published_feeds(fingerprints)

    def pages_fingerprint(self, site: SiteInfo, feeds: list[FeedSummary]) -> str:
        """Changes whenever index.html or feeds.opml would: each feed's fingerprint covers its spec and items,
        so with the count shown it says all the pages show of it (cheaper than rendering them to compare)."""
        lines = [repr((site.title, site.base_url, site.description, site.language, site.author))]
        lines += [f"{s.spec.path}\t{self._fingerprint(s.spec.path)}\t{s.count}" for s in feeds]
        return hashlib.sha1("\n".join(lines).encode()).hexdigest()

    def _fingerprint(self, path: str) -> str | None:
        published = self.feeds.get(path)
        return published[0] if published else None

    def pages_are_current(self, fingerprint: str) -> bool:
        return fingerprint == self.pages and all(is_complete(self.output / page) for page in PAGES)

    def record_pages(self, fingerprint: str) -> None:
        if fingerprint != self.pages:
            self.pages = fingerprint
            self.store.save_pages_fingerprint(fingerprint)
