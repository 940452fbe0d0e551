"""The state database from worker processes, which share none of the parent's memory: parsing into rows
(the parent only stores bytes), reading whole articles for rendering, comparing the folder with the index."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path

from feedd.config import Config
from feedd.ingest.corpus import Entry, compare, list_files
from feedd.ingest.parse import Parsed, parse_entry
from feedd.ingest.store.database import Store, connect_read_only, read_whole, signatures
from feedd.ingest.store.records import Row, to_row
from feedd.models import Article
from feedd.workers import process_pool

Wanted = tuple[Article, str | None]  # a slim article, and the file its full text comes from (None: none wanted)

PARALLEL_THRESHOLD = 400  # files: below this, worker start-up costs more than it saves
CHUNK = 256  # files per job


def parse_into(store: Store, entries: list[Entry], config: Config, workers: int) -> Iterator[Parsed]:
    """Parse files, store them and yield their slim records; in worker processes when there are many."""
    max_bytes, tz = config.limits.max_file_bytes, config.site.timezone
    jobs = [(entries[i:i + CHUNK], max_bytes, tz) for i in range(0, len(entries), CHUNK)]
    if len(entries) < PARALLEL_THRESHOLD or workers < 2:
        for job in jobs:
            yield from store.save(parse_rows(job))
        return
    with process_pool(workers) as pool:
        pending: set[Future] = set()
        for job in jobs:  # a bounded number in flight: finished rows never pile up in memory
            pending.add(pool.submit(parse_rows, job))
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield from store.save(future.result())
        for future in pending:
            yield from store.save(future.result())


def parse_rows(job: tuple[list[Entry], int, str]) -> list[Row]:
    """Parse and serialise, so the parent only stores bytes."""
    entries, max_bytes, timezone = job
    return [to_row(parse_entry(entry, max_bytes, timezone)) for entry in entries]


def compare_with_index(root: Path, path: str) -> tuple[dict[str, Entry], set[str]]:
    """corpus.compare() in a helper process, against the index on disk (as ArticleIndex loads it)."""
    return compare(list_files(root), signatures(path))


_readers: dict[tuple[int, str], sqlite3.Connection] = {}


def read_items(path: str, wanted: Iterable[Wanted]) -> tuple[Article, ...]:
    """read_whole in a render worker, on its own read-only connection to the index (one per process)."""
    key = (os.getpid(), path)  # never a connection inherited through fork
    if (db := _readers.get(key)) is None:
        db = _readers[key] = connect_read_only(path)
    return tuple(read_whole(db, article, body_source) for article, body_source in wanted)
