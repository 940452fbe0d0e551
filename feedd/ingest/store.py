"""The state database, `paths.state/index.sqlite`: its tables, starting over when it is stale or damaged, and
the record of what is published (the feeds table and the index pages' fingerprint, kept by the Builder).

It is a cache of what the articles folder says and of what was published, so starting over is always safe:
the next build parses every file again and renders every feed once.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from functools import cache
from importlib.metadata import version
from pathlib import Path

from feedd.config import Config

log = logging.getLogger("feedd")
SCHEMA = 3  # raise when parsing or the tables change: every index made before is then started over


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


def db_path(config: Config, persist: bool) -> str:
    if not persist:
        return ":memory:"
    config.paths.state.mkdir(parents=True, exist_ok=True)
    return str(config.paths.state / "index.sqlite")


def open_db(path: str, key: str) -> sqlite3.Connection:
    try:
        return connect(path, key)
    except sqlite3.DatabaseError as exc:  # not a database, or damaged
        log.warning("article index %s is unusable (%s); starting a new one", path, exc)
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        return connect(path, key)


def connect_read_only(path: str) -> sqlite3.Connection:
    """A connection for another process to read the index with while feedd writes it (WAL allows both)."""
    return sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True, check_same_thread=False)


def connect(path: str, key: str) -> sqlite3.Connection:
    """A connection with the current tables; those of another schema or other parse settings are dropped."""
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
    row = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
    if not row or row[0] != key:
        db.execute("DROP TABLE IF EXISTS files")
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
    # index, not from the table (at 100k articles, with a cold page cache: 0.23 s to scan, not 9.3 s).
    db.execute("CREATE INDEX IF NOT EXISTS files_slim ON files (rel, record, digest)")
    db.execute("CREATE TABLE IF NOT EXISTS feeds (path TEXT PRIMARY KEY, fingerprint TEXT)")
    return db


def feed_fingerprints(db: sqlite3.Connection) -> dict[str, str]:
    """Feed path → fingerprint of its published files (see Builder._fingerprint)."""
    return dict(db.execute("SELECT path, fingerprint FROM feeds").fetchall())


def save_feed_fingerprints(db: sqlite3.Connection, fingerprints: dict[str, str | None]) -> None:
    """Record what was published; None: the feed is gone."""
    with db:
        db.execute("BEGIN")
        for path, fingerprint in fingerprints.items():
            if fingerprint is None:
                db.execute("DELETE FROM feeds WHERE path = ?", (path,))
            else:
                db.execute("INSERT OR REPLACE INTO feeds VALUES (?, ?)", (path, fingerprint))


def pages_fingerprint(db: sqlite3.Connection) -> str | None:
    """Of what index.html and feeds.opml show, as published (see Builder._pages_fingerprint)."""
    row = db.execute("SELECT value FROM meta WHERE key = 'pages'").fetchone()
    return row[0] if row else None


def save_pages_fingerprint(db: sqlite3.Connection, fingerprint: str) -> None:
    db.execute("INSERT OR REPLACE INTO meta VALUES ('pages', ?)", (fingerprint,))
