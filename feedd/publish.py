"""PUBLISH: confined paths, atomic write-if-changed, pre-compressed siblings, stale-file removal.

A reader never sees a half-written file: bytes go to a temp file in the same folder, are fsynced, then
renamed over the old one. Unchanged bytes are never rewritten, so ETag and Last-Modified stay put.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
from pathlib import Path

from feedd.errors import PublishError

COMPRESSIBLE = (".rss", ".atom", ".json", ".html", ".opml", ".xml")
TEMP_SUFFIX = ".feedd-tmp"
MANAGED_DIRS = ("feeds",)
MANAGED_FILES = ("index.html", "feeds.opml")


def confined(root: Path, rel: str) -> Path:
    """root/rel, refusing anything that would land outside root."""
    root = root.resolve()
    if "\x00" in rel or rel.startswith(("/", "\\")):
        raise PublishError(rel, "refusing an absolute output path")
    path = (root / rel).resolve()
    if path == root or not path.is_relative_to(root):
        raise PublishError(rel, "refusing an output path outside the output folder")
    return path


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _current(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def write_if_changed(root: Path, rel: str, data: bytes) -> bool:
    """Publish one file (and its .gz sibling); True when the bytes on disk changed."""
    path = confined(root, rel)
    try:
        changed = _current(path) != data
        gz = path.with_name(path.name + ".gz")
        if changed:
            _atomic_write(path, data)
        if path.suffix in COMPRESSIBLE and (changed or not gz.exists()):
            _atomic_write(gz, gzip.compress(data, compresslevel=9, mtime=0))
    except OSError as exc:
        raise PublishError(rel, f"cannot write: {exc.strerror or exc}") from None
    return changed


def managed_files(root: Path) -> set[str]:
    """Every published file feedd owns under root (relative names, without .gz siblings)."""
    found = {name for name in MANAGED_FILES if (root / name).is_file()}
    for folder in MANAGED_DIRS:
        for path in (root / folder).rglob("*"):
            if path.is_file() and not path.name.endswith((".gz", TEMP_SUFFIX)):
                found.add(path.relative_to(root).as_posix())
    return found


def remove(root: Path, rel: str) -> None:
    """Unpublish a file and its .gz sibling."""
    path = confined(root, rel)
    for victim in (path, path.with_name(path.name + ".gz")):
        with contextlib.suppress(FileNotFoundError):
            victim.unlink()


def clean_temp_files(root: Path) -> int:
    """Remove temp files a killed build left behind; they are never served."""
    count = 0
    if root.is_dir():
        for path in root.rglob(f"*{TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                path.unlink()
                count += 1
    return count
