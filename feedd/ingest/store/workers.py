"""The state database from worker processes, which share none of the parent's memory: parsing into rows
(the parent only stores bytes), reading whole articles for rendering, comparing the folder with the index."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from feedd.ingest.corpus import Entry, compare, list_files
from feedd.ingest.parse import parse_entry
from feedd.ingest.store.database import connect_read_only, read_whole, signatures
from feedd.ingest.store.records import Row, to_row
from feedd.models import Article

Wanted = tuple[Article, str | None]  # a slim article, and the file its full text comes from (None: none wanted)

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
