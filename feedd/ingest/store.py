"""The state database, `paths.state/index.sqlite`: the one owner of SQLite and of the record format.

It holds every file's signature and parsed record (a slim one for memory, the full one and the body for
rendering), and the record of what is published (each feed's fingerprint, and the index pages'). Those are a
cache of what the articles folder says and of what was published, so starting over is always safe: the next
build parses every file again and renders every feed once.

It also holds the slug given to each topic, category and provider (feeds.slugs): those are promises to
subscribers, not a cache, so they outlive everything the rest is dropped for (other parse settings, a new
SCHEMA, another feedd version, an unreadable record); only deleting the state folder (or a database SQLite
cannot open) forgets them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sqlite3
import sys
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from feedd.config import Config
from feedd.ingest.corpus import Entry, Signature, compare, list_files
from feedd.ingest.fields import article_id
from feedd.ingest.parse import Parsed, parse_entry
from feedd.models import Article, Diagnostic, Provider

log = logging.getLogger("feedd")
SCHEMA = 5  # raise when parsing or the tables change: every index made before is then started over (not slugs)
IN_MEMORY = ":memory:"
UNREADABLE = (pickle.UnpicklingError, AttributeError, TypeError, ValueError, EOFError, sqlite3.DatabaseError)

Row = tuple[str, bytes, str, bytes, str | None, tuple[str, ...]]  # rel, slim record, digest, full record, body,
# and the ids of the articles its related links lead to
Wanted = tuple[Article, str | None]  # a slim article, and the file its full text comes from (None: none wanted)
SlugRow = tuple[str, str, str, str, str]  # family, name, slug, plain slug, spelling (feeds.slugs.Assignment)


def fingerprint(config: Config) -> str:
    """Parsing depends on these settings: when they change, every file is parsed again."""
    key = f"{SCHEMA}|{config.paths.articles}|{config.site.timezone}|{config.limits.max_file_bytes}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@cache
def code_fingerprint() -> str:
    """feedd's own code and the libraries that write its bytes. The feeds table says which feeds are published
    as they would be rendered now; after an upgrade that is unknown, so every feed is rendered once again
    (publishing rewrites only files whose bytes changed: readers keep their ETags)."""
    digest = hashlib.sha256()
    package = Path(__file__).parent.parent
    for path in sorted([*package.rglob("*.py"), *package.rglob("templates/*")]):
        digest.update(f"{path.relative_to(package).as_posix()}\0".encode() + path.read_bytes())
    for dist in ("feedgen", "jinja2", "lxml", "markupsafe"):
        digest.update(f"{dist}={version(dist)}\0".encode())
    return digest.hexdigest()[:16]


class Store:
    """The state database of one articles folder and one output, opened (or started over) for a config."""

    def __init__(self, config: Config, persist: bool = True) -> None:
        self.key = fingerprint(config)
        if persist:
            config.paths.state.mkdir(parents=True, exist_ok=True)
            self.path = str(config.paths.state / "index.sqlite")
        else:
            self.path = IN_MEMORY
        self._db = _open(self.path, self.key)
        if not persist:  # `feedd check` names feeds as the state does, and writes nothing there
            self._copy_slugs(config.paths.state / "index.sqlite")

    @property
    def shared(self) -> bool:
        """Whether other processes can open it (read-only, by its path)."""
        return self.path != IN_MEMORY

    def close(self) -> None:
        self._db.close()

    def start_over(self) -> None:
        """Drop everything but the slugs: the next connection starts with fresh tables."""
        self._db.execute("DELETE FROM meta")
        self._db.close()
        self._db = _connect(self.path, self.key)

    # -- files ---------------------------------------------------------------------------------------
    def has_files(self) -> bool:
        return bool(self._db.execute("SELECT EXISTS (SELECT 1 FROM files)").fetchone()[0])

    def files(self) -> Iterator[Parsed]:
        """Every file's slim record. Raises one of UNREADABLE when the index is damaged."""
        for rel, blob, digest in self._db.execute("SELECT rel, record, digest FROM files"):
            yield from_record(rel, blob, digest)

    def save(self, rows: list[Row]) -> list[Parsed]:
        """Store parsed files (as parse_rows made them); returns their slim records."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)", [row[:5] for row in rows])
            self._db.executemany("DELETE FROM links WHERE source = ?", [(row[0],) for row in rows])
            self._db.executemany("INSERT INTO links VALUES (?, ?)",
                                 [(row[0], target) for row in rows for target in row[5]])
        return [from_record(rel, record, digest) for rel, record, digest, *_ in rows]

    def forget(self, rels: Iterable[str]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM files WHERE rel = ?", [(r,) for r in rels])
            self._db.executemany("DELETE FROM links WHERE source = ?", [(r,) for r in rels])

    # -- related links -------------------------------------------------------------------------------
    def links(self) -> Iterator[tuple[str, str]]:
        """Every (file, id of the article a related link of it leads to)."""
        return iter(self._db.execute("SELECT source, target FROM links"))

    def targets(self, rel: str) -> list[str]:
        """The ids of the articles one file's related links lead to."""
        return [t for (t,) in self._db.execute("SELECT target FROM links WHERE source = ?", (rel,))]

    def linking(self, target: str) -> list[str]:
        """The files with a related link to this article id."""
        return [s for (s,) in self._db.execute("SELECT source FROM links WHERE target = ?", (target,))]

    def read_whole(self, article: Article, body_source: str | None) -> Article:
        return read_whole(self._db, article, body_source)

    # -- what is published ---------------------------------------------------------------------------
    def published_feeds(self) -> dict[str, tuple[str, int, str]]:
        """Feed path → (fingerprint of its published files, how many items they show, the name it is listed by)."""
        return {path: (fingerprint, shown, name) for path, fingerprint, shown, name in
                self._db.execute("SELECT path, fingerprint, shown, name FROM feeds")}

    def save_published_feeds(self, feeds: dict[str, tuple[str, int, str] | None]) -> None:
        """Record what was published; None: the feed is gone."""
        with self._db:
            self._db.execute("BEGIN")
            for path, value in feeds.items():
                if value is None:
                    self._db.execute("DELETE FROM feeds WHERE path = ?", (path,))
                else:
                    self._db.execute("INSERT OR REPLACE INTO feeds VALUES (?, ?, ?, ?)", (path, *value))

    def retained(self) -> dict[str, tuple[str, datetime]]:
        """Feed path → (name, since when) of each feed kept published after it lost its articles."""
        return {path: (name, datetime.fromisoformat(since))
                for path, name, since in self._db.execute("SELECT path, name, since FROM retained")}

    def save_retained(self, feeds: dict[str, tuple[str, datetime] | None]) -> None:
        """Record feeds retained (name, since) or no longer retained (None)."""
        with self._db:
            self._db.execute("BEGIN")
            for path, value in feeds.items():
                if value is None:
                    self._db.execute("DELETE FROM retained WHERE path = ?", (path,))
                else:
                    self._db.execute("INSERT OR REPLACE INTO retained VALUES (?, ?, ?)",
                                     (path, value[0], value[1].isoformat()))

    def pages_fingerprint(self) -> str | None:
        """Of what index.html and feeds.opml show, as published."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'pages'").fetchone()
        return row[0] if row else None

    def save_pages_fingerprint(self, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('pages', ?)", (value,))

    # -- the slugs given to names --------------------------------------------------------------------
    def slugs(self) -> list[SlugRow]:
        return self._db.execute("SELECT family, name, slug, plain, spelling FROM slugs").fetchall()

    def save_slugs(self, rows: list[SlugRow]) -> None:
        """Keep newly given slugs, all in one transaction. A slug once kept is never replaced."""
        if rows:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT OR IGNORE INTO slugs VALUES (?, ?, ?, ?, ?)", rows)

    def _copy_slugs(self, path: Path) -> None:
        """The slugs of the state database at path, if there is one that has them."""
        if not path.is_file():
            return
        try:
            db = _connect_read_only(str(path.resolve()))
            try:
                rows = db.execute("SELECT family, name, slug, plain, spelling FROM slugs").fetchall()
            finally:
                db.close()
        except sqlite3.Error:  # none yet, from an older feedd, or unreadable: as without a state
            return
        self.save_slugs(rows)


def _open(path: str, key: str) -> sqlite3.Connection:
    try:
        return _connect(path, key)
    except sqlite3.DatabaseError as exc:  # not a database, or damaged
        log.warning("article index %s is unusable (%s); starting a new one", path, exc)
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        return _connect(path, key)


def _connect_read_only(path: str) -> sqlite3.Connection:
    """A connection for another process to read the index with while feedd writes it (WAL allows both)."""
    return sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True, check_same_thread=False)


def _connect(path: str, key: str) -> sqlite3.Connection:
    """A connection with the current tables; those of another schema or other parse settings are dropped."""
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
    row = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
    if not row or row[0] != key:
        db.execute("DROP TABLE IF EXISTS files")
        db.execute("DROP TABLE IF EXISTS links")
        db.execute("DROP TABLE IF EXISTS feeds")
        db.execute("DELETE FROM meta WHERE key = 'pages'")
        db.execute("INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (key,))
    row = db.execute("SELECT value FROM meta WHERE key = 'code'").fetchone()
    if not row or row[0] != code_fingerprint():  # published by another version: render everything once
        db.execute("DROP TABLE IF EXISTS feeds")
        db.execute("DELETE FROM meta WHERE key = 'pages'")
        db.execute("INSERT OR REPLACE INTO meta VALUES ('code', ?)", (code_fingerprint(),))
    db.execute("CREATE TABLE IF NOT EXISTS files (rel TEXT PRIMARY KEY, record BLOB, digest TEXT, full BLOB, "
               "body TEXT)")
    # A restart reads every slim record, never the full records and bodies beside them: from this covering
    # index, not from the table (with a cold page cache, scanning the table reads every body from disk).
    db.execute("CREATE INDEX IF NOT EXISTS files_slim ON files (rel, record, digest)")
    db.execute("CREATE TABLE IF NOT EXISTS feeds (path TEXT PRIMARY KEY, fingerprint TEXT, shown INTEGER, name TEXT)")
    # feeds kept published after they lost their articles: URLs subscribers hold, kept whatever else is dropped
    db.execute("CREATE TABLE IF NOT EXISTS retained (path TEXT PRIMARY KEY, name TEXT, since TEXT)")
    db.execute("CREATE TABLE IF NOT EXISTS links (source TEXT, target TEXT)")  # related links, by article id
    db.execute("CREATE INDEX IF NOT EXISTS links_source ON links (source)")
    db.execute("CREATE INDEX IF NOT EXISTS links_target ON links (target)")
    # Never dropped above: change it by migrating its rows, never by starting over (see the module docstring).
    db.execute("CREATE TABLE IF NOT EXISTS slugs (family TEXT, name TEXT, slug TEXT, plain TEXT, spelling TEXT, "
               "PRIMARY KEY (family, slug), UNIQUE (family, name))")
    return db


# -- the record format: a slim record for memory, the full one for rendering ------------------------------
# Selection needs a few fields of every article; rendering needs everything of the few it shows. Keeping
# the full records of a large folder in memory would not fit the memory budget, and unpickling nested objects
# would dominate a warm restart: slim records are plain tuples.

_providers: dict[tuple, Provider] = {}


def _provider(fields: tuple | None) -> Provider | None:
    """Many articles share a provider: keep one object per provider."""
    if fields is None:
        return None
    if (provider := _providers.get(fields)) is None:
        provider = _providers[fields] = Provider(*fields)
    return provider


def slim(article: Article) -> Article:
    """The article as selection and ranking see it: the rest is read back when it is rendered."""
    return replace(article, excerpt=None, images=(), related=(), body=None)


def to_record(parsed: Parsed) -> bytes:
    a = parsed.article
    article = None if a is None else (
        a.id, a.source, a.title, a.link, a.published_at.isoformat(), a.published, a.heat, a.quality, a.category,
        a.type, None if a.provider is None else (a.provider.name, a.provider.domain, a.provider.logo),
        a.topics, a.title_key)
    diagnostics = tuple((d.level, d.reason) for d in parsed.diagnostics)
    return pickle.dumps((parsed.signature, article, parsed.has_body, parsed.title_key, parsed.first_line,
                         diagnostics, parsed.rejected, parsed.claimed_id), protocol=pickle.HIGHEST_PROTOCOL)


def from_record(rel: str, blob: bytes, digest: str) -> Parsed:
    """A restart makes one per file: positional arguments, and no work for what most records lack."""
    signature, a, has_body, title_key, first_line, diagnostics, rejected, claimed = pickle.loads(blob)
    article = None
    if a is not None:
        (id_, source, title, link, moment, published, heat, quality, category, type_, provider, topics,
         key) = a
        article = Article(id_, source, title, link, datetime.fromisoformat(moment), published, None, heat, quality,
                          category, type_, _provider(provider), tuple(map(sys.intern, topics)), (), (), None, key)
    return Parsed(rel, signature, article, has_body, None, title_key, first_line,
                  [Diagnostic(rel, level, reason) for level, reason in diagnostics] if diagnostics else [],
                  rejected, digest, claimed)


def _signature_of(blob: bytes) -> Signature | None:
    """The file signature stored in a slim record (see to_record)."""
    return pickle.loads(blob)[0]


def _full_article(blob: bytes) -> Article | None:
    """The whole article from its full record (excerpt, images, related)."""
    parsed: Any = pickle.loads(blob)
    return parsed.article


def to_row(parsed: Parsed) -> Row:
    """A parsed file as stored: the slim record for memory, the full one and the body for rendering."""
    body, parsed.body = parsed.body, None
    full = pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL)
    digest = hashlib.sha1(full).hexdigest()[:16]  # the signature in it covers the body
    targets: tuple[str, ...] = ()
    if parsed.article is not None:
        targets = tuple(dict.fromkeys(article_id(r.link, "") for r in parsed.article.related))
        parsed.article = slim(parsed.article)
    return parsed.rel, to_record(parsed), digest, full, body, targets


# -- in worker processes, which share none of the parent's memory ----------------------------------------

def parse_rows(job: tuple[list[Entry], int, str]) -> list[Row]:
    """Parse and serialise, so the parent only stores bytes."""
    entries, max_bytes, timezone = job
    return [to_row(parse_entry(entry, max_bytes, timezone)) for entry in entries]


def read_whole(db: sqlite3.Connection, article: Article, body_source: str | None) -> Article:
    """The whole article (excerpt, images, related) from its full record, with the full text if one is given:
    its own (then one query reads both), or another file's whose first line is its title."""
    own_body = body_source == article.source
    row = db.execute("SELECT full, body FROM files WHERE rel = ?" if own_body else
                     "SELECT full FROM files WHERE rel = ?", (article.source,)).fetchone()
    whole = (_full_article(row[0]) if row else None) or article
    body = None
    if own_body:
        body = row[1] or None if row else None
    elif body_source is not None:
        other = db.execute("SELECT body FROM files WHERE rel = ?", (body_source,)).fetchone()
        body = other[0] or None if other else None
    return replace(whole, title_key=article.title_key, body=body)


def compare_with_index(root: Path, path: str) -> tuple[dict[str, Entry], set[str]]:
    """corpus.compare() in a helper process, against the index on disk (as ArticleIndex loads it)."""
    db = _connect_read_only(path)
    try:
        signatures = {rel: _signature_of(record) for rel, record in db.execute("SELECT rel, record FROM files")}
    finally:
        db.close()
    return compare(list_files(root), signatures)


_readers: dict[tuple[int, str], sqlite3.Connection] = {}


def read_items(path: str, wanted: Iterable[Wanted]) -> tuple[Article, ...]:
    """read_whole in a render worker, on its own read-only connection to the index (one per process)."""
    key = (os.getpid(), path)  # never a connection inherited through fork
    if (db := _readers.get(key)) is None:
        db = _readers[key] = _connect_read_only(path)
    return tuple(read_whole(db, article, body_source) for article, body_source in wanted)
