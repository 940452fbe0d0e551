"""PIPELINE: load → select/rank → render → publish. The only module that knows the whole pipeline."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from feedd.config import Config
from feedd.corpus import load_corpus
from feedd.errors import PublishError
from feedd.models import BuildReport, Diagnostic, Family, FeedSummary
from feedd.pages import render_index, render_opml, render_preview
from feedd.publish import clean_temp_files, managed_files, remove, write_if_changed
from feedd.render import SiteInfo, render_feed, updated
from feedd.selection import is_visible, next_embargo, plan_feeds

log = logging.getLogger("feedd")


def _count_articles(corpus, now: datetime) -> dict[str, int]:
    counts = {"published": 0, "withheld": 0, "embargoed": 0}
    for article in corpus.articles:
        if not article.published:
            counts["withheld"] += 1
        elif is_visible(article, now):
            counts["published"] += 1
        else:
            counts["embargoed"] += 1
    counts["rejected"] = corpus.rejected
    counts["orphan_texts"] = corpus.orphans
    return counts


def build(config: Config, now: datetime | None = None, write: bool = True) -> BuildReport:
    """One full build. With write=False nothing touches the disk (`feedd check`)."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    report = BuildReport(started=now)
    corpus = load_corpus(config)
    report.diagnostics = corpus.diagnostics
    report.articles = _count_articles(corpus, now)
    report.next_embargo = next_embargo(corpus.articles, now)
    plans = plan_feeds(config, corpus.articles, now)

    site = SiteInfo(title=config.site.title, base_url=config.site.base_url, description=config.site.description,
                    language=config.site.language, author=config.site.author or config.site.title)
    site.provider_feeds.update({
        plan.items[0].provider.key: site.url(f"{plan.spec.path}.rss")
        for plan in plans if plan.spec.family is Family.PROVIDERS and "rss" in plan.spec.formats and plan.items})

    outputs: dict[str, bytes] = {}
    kept: set[str] = set()  # files of feeds that failed to render: their previous version stays online
    for plan in plans:
        spec, shown = plan.spec, len(plan.items)
        try:
            rendered = {fmt: render_feed(site, spec, plan.items, fmt) for fmt in spec.formats}
        except Exception as exc:  # one feed's failure never stops the others
            report.failed.append(spec.path)
            report.diagnostics.append(Diagnostic(spec.path, "error", f"render failed, previous files kept: {exc}"))
            kept.update(f"{spec.path}.{fmt}" for fmt in spec.formats)
            kept.add(f"{spec.path}.html")
            # still listed on the index and in the OPML: its previous files are still served
            report.feeds.append(FeedSummary(spec, len(plan.items), updated(plan.items) if plan.items else None))
            continue
        for fmt, (data, count) in rendered.items():
            outputs[f"{spec.path}.{fmt}"] = data
            shown = min(shown, count)
        items = plan.items[:shown]
        summary = FeedSummary(spec, len(items), updated(items) if items else None)
        report.feeds.append(summary)
        outputs[f"{spec.path}.html"] = render_preview(site, summary, items)
    outputs["index.html"] = render_index(site, report.feeds)
    outputs["feeds.opml"] = render_opml(site, report.feeds)

    if write:
        _publish(config, outputs, kept, report)
    report.duration = time.perf_counter() - started
    return report


def _publish(config: Config, outputs: dict[str, bytes], kept: set[str], report: BuildReport) -> None:
    root = config.paths.output
    root.mkdir(parents=True, exist_ok=True)
    clean_temp_files(root)
    for rel, data in sorted(outputs.items()):
        try:
            changed = write_if_changed(root, rel, data)
        except PublishError as exc:
            report.failed.append(rel)
            report.diagnostics.append(Diagnostic(rel, "error", f"{exc.reason}; previous file kept"))
            continue
        (report.written if changed else report.unchanged).append(rel)
    for rel in sorted(managed_files(root) - outputs.keys() - kept):
        try:
            remove(root, rel)
            report.removed.append(rel)
        except OSError as exc:
            report.diagnostics.append(Diagnostic(rel, "warning", f"cannot remove stale file: {exc}"))
