"""The article index: every file's signature and parsed article, kept in SQLite across restarts.

A refresh re-parses only files whose (size, mtime_ns, inode) changed, in worker processes when there are
many. In memory it keeps what selection and rendering need (articles without their bodies); bodies stay in
SQLite and are read when a full-text feed is rendered.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cachetools import LRUCache

from feedd.collector import collector_paused
from feedd.config import Config
from feedd.ingest.corpus import Entry, compare, list_files, rel_name, stat_entry
from feedd.ingest.files import is_ignored
from feedd.ingest.multimap import Multimap
from feedd.ingest.parse import Parsed
from feedd.ingest.problems import changed_diagnostics, folder_diagnostics
from feedd.ingest.store import UNREADABLE, Store, Wanted, compare_with_index, parse_into
from feedd.models import Article, Diagnostic
from feedd.workers import process_pool

log = logging.getLogger("feedd")
FULL_CACHE = 512  # whole articles kept for rendering (see ArticleIndex.full), full texts included


@dataclass
class Changes:
    """What one refresh found: relative paths, and the article ids whose winning version may differ."""

    changed: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)  # title keys whose full texts may now go to another article


class ArticleIndex:
    """Files → articles, persisted; resolves duplicate ids and finds each article's full text."""

    def __init__(self, config: Config, persist: bool = True, workers: int | None = None) -> None:
        self.config = config
        self.workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
        self.files: dict[str, Parsed] = {}
        self.by_id = Multimap()  # article id → rels that claim it
        self.texts_by_key = Multimap()  # title key → plain-text rels
        self.winners: dict[str, Article] = {}  # article id → the article every feed sees
        self.ids_by_key = Multimap()  # title key → winning article ids
        self.claims = Multimap()  # article id → rejected files whose link gives that id
        # running counts, for every build's report: rejected files, the files' own warnings and errors, and the
        # warnings only the whole folder shows (orphan texts, files with another's link, unused full texts)
        self.rejected = self.open_diagnostics = self.orphans = self.duplicates = self.unused = 0
        self._unused: dict[str, int] = {}  # title key → full texts of it that no article uses
        self._diagnostics: list[Diagnostic] | None = None  # the whole folder's, until a file changes
        self._full: LRUCache[tuple[str, str, bool], Article] = LRUCache(FULL_CACHE)  # see full()
        self.store = Store(config, persist)
        self._ahead: tuple[dict[str, Entry], set[str]] | None = None  # see _load_and_compare
        self._folders: set[str] | None = None  # of indexed files, once needed: see _may_hold_files
        self._load_and_compare()

    # -- persistence ---------------------------------------------------------------------------------
    def _load_and_compare(self) -> None:
        """Load the index, and meanwhile compare the folder with it in another process, for the first full
        refresh: a warm restart's two longest steps, side by side."""
        if self.workers < 2 or not self.store.shared or not self.store.has_files():
            self._load()
            return
        with process_pool(1) as pool:
            ahead = pool.submit(compare_with_index, self.config.paths.articles, self.store.path)
            loaded = self._load()
            try:
                self._ahead = ahead.result() if loaded else None
            except Exception as exc:  # noqa: BLE001 - the first refresh lists the folder itself
                log.warning("comparing the articles folder ahead failed (%s); listing it again", exc)

    def _load(self) -> bool:
        """Whether the index on disk was read (else it is started over). All at once, as _remember and _resolve
        would leave it, without their bookkeeping of one change (orphan texts are counted once, at the end)."""
        files, by_id, texts = self.files, self.by_id, self.texts_by_key
        try:
            with collector_paused():
                for parsed in self.store.files():
                    files[parsed.rel] = parsed
                    self._count(parsed, +1)
                    if parsed.article is not None:
                        by_id.add(parsed.article.id, parsed.rel)
                    if parsed.title_key is not None:
                        texts.add(parsed.title_key, parsed.rel)
                    if parsed.claimed_id is not None:
                        self.claims.add(parsed.claimed_id, parsed.rel)
                for article_id, rels in by_id.items():  # two files, one id: the file whose path sorts first wins
                    article = files[min(rels)].article
                    assert article is not None
                    self.winners[article_id] = article
                    self.ids_by_key.add(article.title_key, article_id)
                    self.duplicates += len(rels) - 1
        except UNREADABLE:
            log.warning("article index in %s is unreadable; rebuilding it", self.config.paths.state)
            self.store.start_over()
            for table in (self.files, self.by_id, self.texts_by_key, self.winners, self.ids_by_key, self._unused,
                          self.claims):
                table.clear()
            self.rejected = self.open_diagnostics = self.orphans = self.duplicates = self.unused = 0
            return False
        self.orphans = sum(len(rels) for key, rels in texts.items() if not self.ids_by_key.get(key))
        for key in texts:
            self._count_unused(key)
        return True

    # -- refresh -------------------------------------------------------------------------------------
    def refresh(self, paths: Iterable[str] | None = None) -> Changes:
        """Bring the index up to date: the whole folder (paths=None) or just the given absolute paths."""
        root = self.config.paths.articles
        changes = Changes()
        ahead, self._ahead = self._ahead, None  # only ever the first refresh's
        if not root.is_dir():  # deleted (or unmounted) for a moment: keep every article, the build reports it
            return changes
        if paths is None:
            listing, missing = ahead or compare(list_files(root), {r: p.signature for r, p in self.files.items()})
            changes.removed = self._gone(missing, listing)
        else:
            listing, gone_folders = {}, []
            for path in paths:
                entry = stat_entry(root, Path(path))
                if entry is None:  # gone: a file we know, or a folder with files under it
                    absolute = Path(os.path.abspath(path))
                    if absolute.is_relative_to(root.resolve()):
                        rel = rel_name(absolute.relative_to(root.resolve()).as_posix())
                        if rel in self.files:
                            changes.removed.add(rel)
                        elif self._may_hold_files(rel):
                            gone_folders.append(rel + "/")
                    continue
                if entry.is_dir:
                    sub = {e.rel: e for e in list_files(root, Path(entry.path), entry.rel + "/")}
                    changes.removed |= self._gone({r for r in self.files if r.startswith(entry.rel + "/")} - set(sub),
                                                  sub)
                    listing.update(sub)
                else:
                    listing[entry.rel] = entry
            if gone_folders:  # one pass over the index for all of them, not one per deleted path
                prefixes = tuple(gone_folders)
                changes.removed |= {r for r in self.files if r.startswith(prefixes)}
        stale = [e for rel, e in listing.items()
                 if (old := self.files.get(rel)) is None or old.signature != e.signature or e.signature is None]
        for parsed in parse_into(self.store, stale, self.config, self.workers):
            changes.changed.add(parsed.rel)
            self._store(parsed, changes)
        for rel in changes.removed:
            self._forget(rel, changes)
        if changes.removed:
            self.store.forget(changes.removed)
        self._resolve(changes.ids, changes.keys)
        for key in changes.keys:
            self._count_unused(key)
        if changes.changed or changes.removed:
            self._diagnostics = None
        return changes

    def _may_hold_files(self, rel: str) -> bool:
        """Whether a path that is gone and no file of the index could have been a folder of indexed files. An
        editor's temp file (`.name.swp`, `name.txt.edit`) is neither, and a pass over every path of a large
        index for each would be a visible part of an edit's delay."""
        if any(is_ignored(part) for part in rel.split("/")):  # never listed, nor anything under it
            return False
        if self._folders is None:  # made once, then kept a superset: a folder that empties only costs a pass
            self._folders = {r.rpartition("/")[0] for r in self.files}
        inside = rel + "/"
        return any(f == rel or f.startswith(inside) for f in self._folders)

    @staticmethod
    def _gone(missing: set[str], listing: dict[str, Entry]) -> set[str]:
        """The missing files that are really gone: not those inside a folder that could not be read."""
        unreadable = tuple("" if rel == "." else rel + "/" for rel, e in listing.items() if e.is_dir and e.problem)
        return {rel for rel in missing if not rel.startswith(unreadable)} if unreadable else set(missing)

    def _store(self, parsed: Parsed, changes: Changes) -> None:
        self._forget(parsed.rel, changes)
        self._remember(parsed, changes)
        if parsed.article is not None:
            changes.ids.add(parsed.article.id)
        if parsed.title_key is not None:  # a new full text may change which article has a body
            changes.ids.update(self.ids_by_key.get(parsed.title_key, ()))

    def _orphans(self, key: str | None) -> int:
        return len(self.texts_by_key.get(key, ())) if key is not None and not self.ids_by_key.get(key) else 0

    def _count(self, parsed: Parsed, sign: int) -> None:
        if parsed.rejected or parsed.diagnostics:  # most files have neither (one call per file on a restart)
            self.rejected += sign * parsed.rejected
            self.open_diagnostics += sign * sum(d.level != "info" for d in parsed.diagnostics)

    def _count_unused(self, key: str) -> None:
        """Recount the full texts of one title key that no article uses (each is a warning)."""
        texts, unused = self.texts_by_key.get(key, ()), 0
        if texts:
            for article_id in self.ids_by_key.get(key, ()):
                used = self.body_source(self.winners[article_id])
                unused += sum(rel != used for rel in texts)
        self.unused += unused - self._unused.pop(key, 0)
        if unused:
            self._unused[key] = unused

    def _remember(self, parsed: Parsed, changes: Changes) -> None:
        self.files[parsed.rel] = parsed
        if self._folders is not None:
            self._folders.add(parsed.rel.rpartition("/")[0])
        self._count(parsed, +1)
        if parsed.article is not None:
            self.by_id.add(parsed.article.id, parsed.rel)
            self.duplicates += len(self.by_id[parsed.article.id]) > 1
        if parsed.claimed_id is not None:
            self.claims.add(parsed.claimed_id, parsed.rel)
            changes.ids.add(parsed.claimed_id)
        if parsed.title_key is not None:
            changes.keys.add(parsed.title_key)
            before = self._orphans(parsed.title_key)
            self.texts_by_key.add(parsed.title_key, parsed.rel)
            self.orphans += self._orphans(parsed.title_key) - before

    def _forget(self, rel: str, changes: Changes) -> None:
        old = self.files.pop(rel, None)
        if old is None:
            return
        self._count(old, -1)
        if old.article is not None:
            self.duplicates -= len(self.by_id.get(old.article.id, ())) > 1
            self.by_id.discard(old.article.id, rel)
            changes.ids.add(old.article.id)
        if old.claimed_id is not None:
            self.claims.discard(old.claimed_id, rel)
            changes.ids.add(old.claimed_id)
        if old.title_key is not None:
            changes.keys.add(old.title_key)
            before = self._orphans(old.title_key)
            self.texts_by_key.discard(old.title_key, rel)
            self.orphans += self._orphans(old.title_key) - before
            changes.ids.update(self.ids_by_key.get(old.title_key, ()))

    def _resolve(self, ids: Iterable[str], keys: set[str]) -> None:
        """Two files, one id: the file whose path sorts first wins. `keys` gets the title keys involved."""
        for article_id in ids:
            if (old := self.winners.pop(article_id, None)) is not None:
                keys.add(old.title_key)
                before = self._orphans(old.title_key)
                self.ids_by_key.discard(old.title_key, article_id)
                self.orphans += self._orphans(old.title_key) - before
            rels = self.by_id.get(article_id)
            if rels:
                new = self.files[min(rels)].article
                assert new is not None
                self.winners[article_id] = new
                keys.add(new.title_key)
                before = self._orphans(new.title_key)
                self.ids_by_key.add(new.title_key, article_id)
                self.orphans += self._orphans(new.title_key) - before

    def has_article(self, key: str) -> bool:
        return bool(self.ids_by_key.get(key))

    # -- reading -------------------------------------------------------------------------------------
    def articles(self) -> list[Article]:
        return list(self.winners.values())

    def wanted(self, article: Article, with_body: bool = False) -> Wanted:
        """What read_whole needs to read the whole article: its slim form and where its full text is."""
        return article, self.body_source(article) if with_body else None

    def full(self, article: Article, with_body: bool = False) -> Article:
        """The whole article (excerpt, images, related; and its full text if asked) for rendering.

        The last few hundred are kept: an edit re-renders the same big feeds again and again, and reading
        their items back from SQLite would be a large part of the time from an edit to its feeds."""
        key = (article.source, self.digest(article), with_body)
        if (whole := self._full.get(key)) is not None:
            return whole
        whole = self._full[key] = self.store.read_whole(*self.wanted(article, with_body))
        return whole

    def body_source(self, article: Article) -> str | None:
        if self.files[article.source].has_body:
            return article.source
        texts = self.texts_by_key.get(article.title_key)
        return min(texts) if texts else None

    def digest(self, article: Article) -> str:
        """Changes whenever anything a feed shows of the article changes, its full text included."""
        source = self.body_source(article)
        own = self.files[article.source].digest
        return own if source in (None, article.source) else own + self.files[source].digest

    def diagnostics(self) -> list[Diagnostic]:
        """Every file's own diagnostics, then what only the whole folder shows (kept while nothing changes:
        sorting them would be a large part of a no-op rescan of a large folder)."""
        if self._diagnostics is None:
            self._diagnostics = folder_diagnostics(self)
        return list(self._diagnostics)

    def diagnostics_of(self, changes: Changes) -> list[Diagnostic]:
        """What one refresh changed: the diagnostics of the files it read, and those it may have caused
        elsewhere (a link now shared, a full text now orphan or unused)."""
        return changed_diagnostics(self, changes)

    def counts(self) -> tuple[int, int]:
        """(rejected files, orphan texts), kept current by every change."""
        return self.rejected, self.orphans

    def open_count(self) -> int:
        """How many warnings and errors diagnostics() holds, kept current by every change (listing them all
        after each edit would cost more than the edit)."""
        return self.open_diagnostics + self.orphans + self.duplicates + self.unused

    def close(self) -> None:
        self.store.close()
