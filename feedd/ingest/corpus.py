"""LOAD, the listing: every candidate file of the articles folder, safely, and how it differs from the index.

Nothing outside the folder is listed (symlinks out of it are refused, directory loops cut); a file's
signature (size, mtime_ns, inode) tells whether the index must read it again.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from feedd.ingest.files import IGNORED_PREFIXES, IGNORED_SUFFIXES, is_ignored

_CONTROL = re.compile("[\x00-\x1f\x7f]")
Signature = tuple[int, int, int]  # size, mtime_ns, inode: a changed file changes at least one


class Entry(NamedTuple):
    """A candidate file found in the articles folder."""

    rel: str
    path: Path | str | None  # None: refused before reading (see problem)
    signature: Signature | None
    problem: str | None = None
    is_dir: bool = False


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
            names = sorted(os.listdir(folder))  # names, not DirEntry objects: far less memory for a large folder
        except FileNotFoundError:
            return
        except OSError as exc:  # permissions, I/O errors: the index keeps what it knew of the folder
            yield Entry(rel.rstrip("/") or ".", None, None, f"skipped: cannot read this folder "
                        f"({exc.strerror or exc}); its articles stay as they were", is_dir=True)
            return
        if (info.st_dev, info.st_ino) in seen:
            return
        seen.add((info.st_dev, info.st_ino))
        for base in names:  # the listing is most of a no-op rescan of a large folder: kept lean
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


def compare(entries: Iterable[Entry], signatures: dict[str, Signature | None]) -> tuple[dict[str, Entry], set[str]]:
    """The listed entries that differ from the index (new, changed, unreadable), and the indexed files no longer
    listed. Only what changed is kept: an Entry for every file of a large folder would be a lot of memory."""
    listing, seen = {}, set()
    for entry in entries:
        seen.add(entry.rel)
        if entry.signature is None or signatures.get(entry.rel) != entry.signature:
            listing[entry.rel] = entry
    return listing, signatures.keys() - seen
