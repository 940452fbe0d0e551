"""LOAD, per file: list the articles folder safely, and turn one file into a Parsed record.

Parsing one file depends on nothing but that file (and two settings), so it can run in a worker process.
What only the whole folder shows (duplicate ids, which full text belongs to which article) is the index's.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

from feedd.ingest.fields import to_article
from feedd.ingest.files import IGNORED_PREFIXES, IGNORED_SUFFIXES, FileContent, is_ignored, read_file
from feedd.ingest.text import match_key, repair
from feedd.models import Article, Diagnostic

_CONTROL = re.compile("[\x00-\x1f\x7f]")
Signature = tuple[int, int, int]  # size, mtime_ns, inode: a changed file changes at least one


class Entry(NamedTuple):
    """A candidate file found in the articles folder."""

    rel: str
    path: Path | str | None  # None: refused before reading (see problem)
    signature: Signature | None
    problem: str | None = None
    is_dir: bool = False


@dataclass(slots=True)  # one per file, 133k at 100k articles: no per-instance __dict__
class Parsed:
    """One file, read: an article (without its body), a full text, or nothing but diagnostics."""

    rel: str
    signature: Signature | None
    article: Article | None = None
    has_body: bool = False
    body: str | None = None  # in transit only: the index moves bodies to SQLite
    title_key: str | None = None  # plain-text files: the key of their first line
    first_line: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    rejected: bool = False
    digest: str = ""  # of the stored record and body: set by the index


def rel_name(name: str) -> str:
    """A file name as the index can store it: bytes that are not UTF-8 (os.fsdecode's surrogates) as \\xNN.

    SQLite, JSON logs and stdout refuse lone surrogates: one such name used to crash every build. Control
    characters are escaped too (`\\n`), so a name cannot forge a line of `feedd check` or of the log.
    """
    if name.isprintable():  # no control characters, no surrogates: nearly every name, kept as it is
        return name
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _signature(info: os.stat_result) -> Signature:
    return (info.st_size, info.st_mtime_ns, info.st_ino)


def stat_entry(root: Path, path: Path) -> Entry | None:
    """The Entry for one path under root (a watcher event), or None when it is gone or not ours."""
    root = root.resolve()
    absolute = Path(os.path.abspath(path))
    if not absolute.is_relative_to(root) or absolute == root:
        return None
    rel = rel_name(absolute.relative_to(root).as_posix())
    if any(is_ignored(part) for part in rel.split("/")):
        return None
    try:
        info = absolute.lstat()
    except OSError:
        return None
    if stat.S_ISLNK(info.st_mode):
        try:
            target = absolute.resolve(strict=True)
        except (OSError, RuntimeError):
            return Entry(rel, absolute, None)
        if not target.is_relative_to(root):
            return Entry(rel, None, None, "skipped: symlink leads outside the articles folder")
        absolute, info = target, target.stat()
    if stat.S_ISDIR(info.st_mode):
        return Entry(rel, absolute, None, is_dir=True)
    return Entry(rel, absolute, _signature(info))


def list_files(root: Path, folder: Path | None = None, prefix: str = "") -> Iterator[Entry]:
    """Every candidate file under root (or one of its folders), sorted, never leaving root.

    Symlinks are resolved and kept only when their target is inside root; directory loops are cut.
    """
    root = root.resolve()
    seen: set[tuple[int, int]] = set()

    def walk(folder: str, rel: str) -> Iterator[Entry]:
        try:
            info = os.stat(folder)
            names = sorted(os.listdir(folder))  # names, not DirEntry objects: 133k of those were 120 MB
        except FileNotFoundError:
            return
        except OSError as exc:  # permissions, I/O errors: the index keeps what it knew of the folder
            yield Entry(rel.rstrip("/") or ".", None, None, f"skipped: cannot read this folder "
                        f"({exc.strerror or exc}); its articles stay as they were", is_dir=True)
            return
        if (info.st_dev, info.st_ino) in seen:
            return
        seen.add((info.st_dev, info.st_ino))
        for base in names:  # 133k names at 100k articles: the listing is most of a no-op rescan, kept lean
            if base.startswith(IGNORED_PREFIXES) or base.endswith(IGNORED_SUFFIXES):  # is_ignored, inlined
                continue
            name = rel + base if base.isprintable() else rel + rel_name(base)
            path = f"{folder}/{base}"  # folder is absolute and never ends in "/" (os.path.join: 2x slower)
            try:
                info = os.lstat(path)
                if stat.S_ISREG(info.st_mode):  # nearly every name: nothing more to decide
                    yield Entry(name, path, (info.st_size, info.st_mtime_ns, info.st_ino))
                    continue
                if stat.S_ISLNK(info.st_mode):
                    try:
                        target = Path(path).resolve(strict=True)
                    except FileNotFoundError:
                        if os.path.islink(path):  # else it vanished since the listing: not an error
                            yield Entry(name, None, None, "skipped: symlink to a file that does not exist")
                        continue
                    except (OSError, RuntimeError):
                        yield Entry(name, Path(path), None)  # looping: reported when read
                        continue
                    if not target.is_relative_to(root):
                        yield Entry(name, None, None, "skipped: symlink leads outside the articles folder")
                        continue
                    path, info = str(target), target.stat()
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                yield from walk(path, name + "/")
            else:
                yield Entry(name, path, _signature(info))

    yield from walk(str(folder or root), prefix)


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
    else:
        parsed.article = replace(article, title_key=match_key(article.title))
        parsed.body, parsed.has_body = body or None, bool(body)
    return parsed
