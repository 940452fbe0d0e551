"""LOAD, one file at a time: one listed file → a Parsed record (an article, a full text, or diagnostics).

Parsing one file depends on nothing but that file (and two settings), so it can run in a worker process.
What only the whole folder shows (duplicate ids, which full text belongs to which article) is the index's.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from feedd.ingest.corpus import Entry, Signature
from feedd.ingest.fields import claimed_id, to_article
from feedd.ingest.files import FileContent, read_file
from feedd.ingest.text import match_key, repair
from feedd.models import Article, Diagnostic


@dataclass(slots=True)  # one per file, kept for every file: no per-instance __dict__
class Parsed:
    """One file, read: an article (without its body), a full text, or nothing but diagnostics."""

    rel: str
    signature: Signature | None
    article: Article | None = None
    has_body: bool = False
    body: str | None = None  # in transit only: the index moves bodies to SQLite
    title_key: str | None = None  # plain-text files: the key of their first line
    first_line: str = ""
    diagnostics: list[Diagnostic] | tuple[Diagnostic, ...] = field(default_factory=list)  # a tuple once stored
    rejected: bool = False
    digest: str = ""  # of the stored record and body: set by the index
    claimed_id: str | None = None  # a rejected article's id, from its link (see fields.claimed_id)



def _clean_body(rel: str, text: str, diagnostics: list[Diagnostic]) -> str:
    cleaned, notes = repair(text)
    diagnostics.extend(Diagnostic(rel, "info" if n == "repaired mojibake" else "warning", f"body: {n}")
                       for n in notes)
    return cleaned.strip()


def _read(entry: Entry, max_bytes: int) -> FileContent | None:
    rel = entry.rel
    if entry.path is None:
        return FileContent(rel, diagnostics=[Diagnostic(rel, "error", entry.problem or "skipped")])
    try:
        mode = os.stat(entry.path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return FileContent(rel, diagnostics=[Diagnostic(rel, "error", f"skipped: {exc.strerror or exc}")])
    if not stat.S_ISREG(mode):
        return FileContent(rel, diagnostics=[Diagnostic(rel, "warning", "skipped: not a regular file")])
    return read_file(Path(entry.path), rel, max_bytes)


def parse_entry(entry: Entry, max_bytes: int, timezone: str) -> Parsed:
    """One file → Parsed. Never raises for anything a file can contain: one bad file is one diagnostic."""
    parsed = Parsed(entry.rel, entry.signature)
    content = _read(entry, max_bytes)
    if content is None:  # vanished between listing and reading: not an error
        return parsed
    parsed.diagnostics.extend(content.diagnostics)
    failed = any(d.level == "error" for d in content.diagnostics)  # a decoding warning still reads it
    if content.meta is None:
        if failed:
            parsed.rejected = True
        elif not content.text.strip():
            parsed.diagnostics.append(Diagnostic(entry.rel, "warning", "skipped: empty file"))
        else:
            first, _, rest = content.text.strip().partition("\n")
            parsed.first_line, parsed.title_key = first.strip(), match_key(first)
            parsed.body = _clean_body(entry.rel, rest, parsed.diagnostics)
        return parsed
    body = _clean_body(entry.rel, content.text, parsed.diagnostics)
    article, notes = to_article(entry.rel, content.meta, ZoneInfo(timezone), None)
    parsed.diagnostics.extend(notes)
    if article is None:
        parsed.rejected = True
        parsed.claimed_id = claimed_id(entry.rel, content.meta, ZoneInfo(timezone))
    else:
        parsed.article = replace(article, title_key=match_key(article.title))
        parsed.body, parsed.has_body = body or None, bool(body)
    return parsed
