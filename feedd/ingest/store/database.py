"""The state database, `paths.state/index.sqlite`: its tables, and every SQL statement feedd runs.

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
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from functools import cache
from importlib.metadata import version
from pathlib import Path

from feedd.config import Config
from feedd.ingest.corpus import Signature
from feedd.ingest.parse import Parsed
from feedd.ingest.store.records import UNREADABLE_RECORD, Row, from_record, full_article, signature_of
from feedd.models import Article

log = logging.getLogger("feedd")
SCHEMA = 6  # raise when parsing, the tables or the records change: every index made before is then started over
# (not slugs), and an older feedd meeting this one's state starts over too (6: full records as plain values)
IN_MEMORY = ":memory:"
UNREADABLE = (*UNREADABLE_RECORD, sqlite3.DatabaseError)
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
    for name, data in package_files():
        digest.update(f"{name}\0".encode() + data)
    for dist in ("feedgen", "jinja2", "lxml", "markupsafe"):
        digest.update(f"{dist}={version(dist)}\0".encode())
    return digest.hexdigest()[:16]


def package_files() -> list[tuple[str, bytes]]:
    """Every module and template of the feedd package, by its path in the package."""
    package = Path(__file__).resolve().parents[2]  # feedd/ (this is feedd/ingest/store/database.py)
    return [(path.relative_to(package).as_posix(), path.read_bytes())
            for path in sorted([*package.rglob("*.py"), *package.rglob("templates/*")])]


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
            db = connect_read_only(str(path.resolve()))
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


def connect_read_only(path: str) -> sqlite3.Connection:
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


def read_whole(db: sqlite3.Connection, article: Article, body_source: str | None) -> Article:
    """The whole article (excerpt, images, related) from its full record, with the full text if one is given:
    its own (then one query reads both), or another file's whose first line is its title."""
    own_body = body_source == article.source
    row = db.execute("SELECT full, body FROM files WHERE rel = ?" if own_body else
                     "SELECT full FROM files WHERE rel = ?", (article.source,)).fetchone()
    body = None
    if own_body:
        body = row[1] or None if row else None
    elif body_source is not None:
        other = db.execute("SELECT body FROM files WHERE rel = ?", (body_source,)).fetchone()
        body = other[0] or None if other else None
    whole = full_article(row[0], body) if row else None
    if whole is None:
        return replace(article, body=body)
    return whole if whole.title_key == article.title_key else replace(whole, title_key=article.title_key)


def signatures(path: str) -> dict[str, Signature | None]:
    """Every file's signature, read by another process (see workers.compare_with_index)."""
    db = connect_read_only(path)
    try:
        return {rel: signature_of(record) for rel, record in db.execute("SELECT rel, record FROM files")}
    finally:
        db.close()
