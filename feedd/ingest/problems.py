"""What only the whole folder shows about its files: two files with one link, full texts that no article has
(orphans) or that another text already gives an article (unused). The index keeps their counts current; this
lists them, for `feedd check` and the log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from feedd.ingest.parse import Parsed
from feedd.models import Article, Diagnostic


class Folder(Protocol):
    """What of the article index these lists are made from."""

    files: Mapping[str, Parsed]
    by_id: Mapping[str, tuple[str, ...]]  # article id → files that claim it
    texts_by_key: Mapping[str, tuple[str, ...]]  # title key → plain-text files
    ids_by_key: Mapping[str, tuple[str, ...]]  # title key → winning article ids
    winners: Mapping[str, Article]

    def has_article(self, key: str) -> bool: ...

    def body_source(self, article: Article) -> str | None: ...


class Change(Protocol):
    changed: set[str]
    ids: set[str]
    keys: set[str]


def folder_diagnostics(index: Folder) -> list[Diagnostic]:
    """Every file's own diagnostics, then what only the whole folder shows."""
    # sorting only what has something to say, not every path and id of the folder
    found = [d for rel in sorted(r for r, p in index.files.items() if p.diagnostics)
             for d in index.files[rel].diagnostics]
    for article_id in sorted(i for i, rels in index.by_id.items() if len(rels) > 1):
        found += _duplicates(index, article_id)
    for key in sorted(index.texts_by_key):
        found += _texts(index, key)
    return found


def changed_diagnostics(index: Folder, changes: Change) -> list[Diagnostic]:
    """What one refresh changed: the diagnostics of the files it read, and those it may have caused
    elsewhere (a link now shared, a full text now orphan or unused)."""
    found = [d for rel in sorted(changes.changed) if rel in index.files for d in index.files[rel].diagnostics]
    for article_id in sorted(changes.ids):
        found += _duplicates(index, article_id)
    for key in sorted(changes.keys):
        found += _texts(index, key)
    return found

def _duplicates(index: Folder, article_id: str) -> list[Diagnostic]:
    rels = index.by_id.get(article_id, ())
    first = min(rels, default=None)
    return [Diagnostic(rel, "warning", f"ignored: same link as {first}, which is kept")
            for rel in sorted(rels) if rel != first]

def _texts(index: Folder, key: str) -> list[Diagnostic]:
    rels = index.texts_by_key.get(key, ())
    if not rels:
        return []
    if not index.has_article(key):
        return [Diagnostic(rel, "warning", f"orphan text: first line {index.files[rel].first_line[:60]!r} is "
                           "no article's title") for rel in sorted(rels)]
    found = []
    for article_id in sorted(index.ids_by_key[key]):
        article = index.winners[article_id]
        used = index.body_source(article)
        found += [Diagnostic(rel, "warning", f"ignored: {article.source} already has a full text")
                  for rel in sorted(rels) if rel != used]
    return found
