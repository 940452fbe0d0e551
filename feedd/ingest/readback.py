"""LOAD, from the index on disk: whole articles for rendering and file signatures for a restart, read by
ArticleIndex or, on their own read-only connections, by worker processes (which share none of its memory)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from feedd.ingest.corpus import Entry, Signature, list_files
from feedd.ingest.records import full_article, signature_of
from feedd.ingest.store import connect_read_only
from feedd.models import Article

Wanted = tuple[Article, str | None]  # a slim article, and the file its full text comes from (None: none wanted)


def read_whole(db: sqlite3.Connection, article: Article, body_source: str | None) -> Article:
    """The whole article (excerpt, images, related) from its full record, with the full text if one is given:
    its own (then one query reads both), or another file's whose first line is its title."""
    own_body = body_source == article.source
    row = db.execute("SELECT full, body FROM files WHERE rel = ?" if own_body else
                     "SELECT full FROM files WHERE rel = ?", (article.source,)).fetchone()
    whole = (full_article(row[0]) if row else None) or article
    body = None
    if own_body:
        body = row[1] or None if row else None
    elif body_source is not None:
        other = db.execute("SELECT body FROM files WHERE rel = ?", (body_source,)).fetchone()
        body = other[0] or None if other else None
    return replace(whole, title_key=article.title_key, body=body)


def compare(entries: Iterable[Entry], signatures: dict[str, Signature | None]) -> tuple[dict[str, Entry], set[str]]:
    """The listed entries that differ from the index (new, changed, unreadable), and the indexed files no longer
    listed. Only what changed is kept: every Entry would be 60 MB at 100k articles."""
    listing, seen = {}, set()
    for entry in entries:
        seen.add(entry.rel)
        if entry.signature is None or signatures.get(entry.rel) != entry.signature:
            listing[entry.rel] = entry
    return listing, signatures.keys() - seen


def compare_with_index(root: Path, path: str) -> tuple[dict[str, Entry], set[str]]:
    """compare() in a helper process, against the index on disk (as ArticleIndex._load reads it)."""
    db = connect_read_only(path)
    try:
        signatures = {rel: signature_of(record) for rel, record in db.execute("SELECT rel, record FROM files")}
    finally:
        db.close()
    return compare(list_files(root), signatures)


_readers: dict[tuple[int, str], sqlite3.Connection] = {}


def read_items(path: str, wanted: Iterable[Wanted]) -> tuple[Article, ...]:
    """read_whole in a render worker, on its own read-only connection to the index (one per process)."""
    key = (os.getpid(), path)  # never a connection inherited through fork
    if (db := _readers.get(key)) is None:
        db = _readers[key] = connect_read_only(path)
    return tuple(read_whole(db, article, body_source) for article, body_source in wanted)
