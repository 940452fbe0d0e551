"""RENDER, dispatched: the feeds a build must render, in this process or, when there are many, in worker
processes, a few feeds ahead, handed back a batch at a time (a build of thousands of feeds never holds all
their articles or bytes at once).

Workers read the whole articles (excerpts, images, full texts) from the index on disk themselves: reading
and pickling them in this process for every feed would make it the bottleneck of a cold build.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, replace

from feedd.errors import RenderError
from feedd.feeds.pages import render_preview
from feedd.feeds.render import SiteInfo, render_formats, summarize
from feedd.ingest.fields import article_id
from feedd.ingest.index import ArticleIndex
from feedd.ingest.store import read_items
from feedd.models import Article, FeedPlan, FeedSpec
from feedd.workers import process_pool

PARALLEL_RENDER = 64  # feeds to render before worker processes pay for themselves
RENDER_BATCH = 16  # feeds rendered, then published, at a time


@dataclass(frozen=True, slots=True)
class Job:
    """A feed to render: its ranked items, and the fingerprint it is published under once written."""

    plan: FeedPlan
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Rendered:
    """A feed's files (its formats within the byte budget, and its preview) and how many items they show."""

    files: dict[str, bytes]
    shown: int


def render_job(site: SiteInfo, spec: FeedSpec, items: tuple[Article, ...]) -> Rendered:
    """Every file of one feed."""
    files, shown = {}, len(items)
    for fmt, (data, count) in render_formats(site, spec, items).items():
        files[f"{spec.path}.{fmt}"] = data
        shown = min(shown, count)
    summary = summarize(spec, items[:shown])
    files[f"{spec.path}.html"] = render_preview(site, summary, items[:shown])
    return Rendered(files, shown)


def _render_one(site: SiteInfo, spec: FeedSpec, items: tuple, index_path: str | None,
                hidden: tuple[tuple[str, ...], ...]) -> Rendered:
    """render_job; given the index's path, `items` are what read_items wants (in a worker); `hidden`: per item,
    the articles its related links must not lead to. Any failure is a RenderError naming the feed: the build
    keeps the feed's previous files and goes on with the others."""
    try:
        whole = items if index_path is None else read_items(index_path, items)
        return render_job(site, spec, tuple(map(_without_links, whole, hidden)))
    except Exception as exc:
        raise RenderError(spec.path, f"{type(exc).__name__}: {exc}") from None


def _without_links(article: Article, hidden: tuple[str, ...]) -> Article:
    if not hidden or not article.related:
        return article
    return replace(article, related=tuple(r for r in article.related if article_id(r.link, "") not in hidden))


def _in_worker(args: tuple) -> Rendered:
    return _render_one(*args)


def _outcome(future: Future) -> Rendered | RenderError:
    try:
        return future.result()
    except RenderError as exc:
        return exc


def render(site: SiteInfo, jobs: list[Job], index: ArticleIndex, hidden: Callable[[Article], tuple[str, ...]],
           workers: int) -> Iterator[list[tuple[Job, Rendered | RenderError]]]:
    """Each job with its files or its RenderError, in order, RENDER_BATCH at a time. `hidden(article)`: the
    articles its related links must not lead to."""
    batch: list[tuple[Job, Rendered | RenderError]] = []
    for done in _rendered(site, jobs, index, hidden, workers):
        batch.append(done)
        if len(batch) == RENDER_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _rendered(site: SiteInfo, jobs: list[Job], index: ArticleIndex, hidden: Callable[[Article], tuple[str, ...]],
              workers: int) -> Iterator[tuple[Job, Rendered | RenderError]]:
    in_process = len(jobs) < PARALLEL_RENDER or workers < 2
    worker_reads = not in_process and index.store.shared  # an index on disk, which workers open

    def work(plan: FeedPlan) -> tuple:
        with_body = plan.spec.settings.content == "full"
        masks = tuple(map(hidden, plan.items))
        if worker_reads:
            return site, plan.spec, tuple(index.wanted(a, with_body) for a in plan.items), index.store.path, masks
        return site, plan.spec, tuple(index.full(a, with_body) for a in plan.items), None, masks

    if in_process:
        for job in jobs:
            try:
                yield job, _render_one(*work(job.plan))
            except RenderError as exc:
                yield job, exc
        return
    with process_pool(workers) as pool:
        running: deque[tuple[Job, Future]] = deque()
        for job in jobs:
            running.append((job, pool.submit(_in_worker, work(job.plan))))
            if len(running) > 2 * workers:
                first, future = running.popleft()
                yield first, _outcome(future)
        yield from ((waiting, _outcome(future)) for waiting, future in running)
