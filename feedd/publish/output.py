"""PUBLISH: confined paths, atomic write-if-changed, pre-compressed siblings, stale-file removal.

A reader never sees a half-written file: bytes go to a temp file in the same folder, are fsynced, then
renamed over the old one. Unchanged bytes are never rewritten, so ETag and Last-Modified stay put.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from zlib_ng import gzip_ng

from feedd.errors import PublishError
from feedd.layout import COMPRESSED, FEEDS_DIR, PAGES

TEMP_SUFFIX = ".feedd-tmp"


def confined(root: Path, rel: str) -> Path:
    """root/rel, refusing anything that would land outside root."""
    root = root.resolve()
    if "\x00" in rel or rel.startswith(("/", "\\")):
        raise PublishError(rel, "refusing an absolute output path")
    path = (root / rel).resolve()
    if path == root or not path.is_relative_to(root):
        raise PublishError(rel, "refusing an output path outside the output folder")
    return path


def _stage(path: Path, data: bytes, sync: bool) -> str:
    """Write data to a temp file beside path (fsynced if asked); returns the temp file's name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return temp


def _same_time(gz: Path | str, source: Path | str) -> None:
    """Give a .gz sibling its file's mtime: servers skip a sibling older than its file (a stale one), and
    nginx's Last-Modified for gzip then equals the identity one."""
    mtime = os.stat(source).st_mtime_ns
    os.utime(gz, ns=(mtime, mtime))


def has_sibling(path: Path | str) -> bool:
    """Whether this output file is published with a .gz sibling."""
    return os.path.splitext(path)[1][1:] in COMPRESSED


def is_complete(path: Path | str) -> bool:
    """The file exists and so does its .gz sibling (if it has one) with the file's mtime, which publishing
    gives it: a build killed between the two renames leaves a sibling of other bytes, rewritten next time."""
    path = os.fspath(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return False
        return not has_sibling(path) or os.stat(path + ".gz").st_mtime_ns == info.st_mtime_ns
    except OSError:
        return False


def _current(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


BATCH_SYNC = 8  # from this many files on, one sync() for the batch beats one fsync() per file


def publish_many(root: Path, outputs: dict[str, bytes]) -> tuple[list[str], list[str], dict[str, str]]:
    """Publish many files at once: (written, unchanged, failed with reasons).

    Every changed file (and .gz sibling) is staged in a temp file first, the batch is made durable with a
    single sync, and only then renamed into place: a crash leaves the old files, never a torn one.
    """
    written: list[str] = []
    unchanged: list[str] = []
    failed: dict[str, str] = {}
    staged: list[tuple[str, bool, list[tuple[str, Path]]]] = []
    sync_each = len(outputs) < BATCH_SYNC
    todo: list[tuple[str, Path, bool, Path | None]] = []  # rel, path, bytes changed, .gz sibling to write
    for rel, data in sorted(outputs.items()):
        try:
            path = confined(root, rel)
            changed = _current(path) != data
            sibling = has_sibling(path) and (changed or not is_complete(path))
            todo.append((rel, path, changed, path.with_name(path.name + ".gz") if sibling else None))
        except (OSError, PublishError) as exc:
            failed[rel] = _reason(exc)
    compressed = _compress({rel: outputs[rel] for rel, _, _, gz in todo if gz})
    for rel, path, changed, gz in todo:
        moves: list[tuple[str, Path]] = []
        try:
            if changed:
                moves.append((_stage(path, outputs[rel], sync_each), path))
            if gz:
                temp = _stage(gz, compressed[rel], sync_each)
                _same_time(temp, moves[0][0] if changed else path)
                moves.insert(0, (temp, gz))
        except (OSError, PublishError) as exc:
            for temp, _ in moves:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
            failed[rel] = _reason(exc)
            continue
        if moves:
            staged.append((rel, changed, moves))
        else:
            unchanged.append(rel)
    if staged and not sync_each:
        os.sync()
    for rel, changed, moves in staged:
        try:
            for temp, final in moves:  # the .gz first: a reader never gets a stale sibling of a new file
                os.replace(temp, final)
            (written if changed else unchanged).append(rel)  # a restored .gz alone changes no bytes served
        except OSError as exc:
            for temp, _ in moves:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
            failed[rel] = _reason(exc)
    return written, unchanged, failed


def _reason(exc: OSError | PublishError) -> str:
    return exc.reason if isinstance(exc, PublishError) else f"cannot write: {exc.strerror or exc}"


GZIP_LEVEL = 6  # zlib-ng at 6 is as small as zlib at 9 on feeds, in about half the time (BENCHMARKS.md)


def _compress(files: dict[str, bytes]) -> dict[str, bytes]:
    """The .gz bytes of each file, on two threads (zlib-ng lets go of the GIL): an edit re-renders a few
    feeds, each in several files, and compressing them one after the other is a visible part of its delay."""
    def gz(data: bytes) -> bytes:
        return gzip_ng.compress(data, compresslevel=GZIP_LEVEL, mtime=0)

    if len(files) < 2:
        return {rel: gz(data) for rel, data in files.items()}
    with ThreadPoolExecutor(2, thread_name_prefix="feedd-gzip") as pool:
        return dict(zip(files, pool.map(gz, files.values()), strict=True))


def managed_files(root: Path) -> set[str]:
    """Every published file feedd owns under root (relative names, without .gz siblings)."""
    found = {name for name in PAGES if (root / name).is_file()}
    for where, _, names in os.walk(root / FEEDS_DIR):  # os.walk: Path.rglob is several times slower
        prefix = Path(where).relative_to(root).as_posix() + "/"
        found.update(prefix + name for name in names if not name.endswith((".gz", TEMP_SUFFIX)))
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
    for where, _, names in os.walk(root):
        for name in names:
            if name.endswith(TEMP_SUFFIX):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(where, name))
                    count += 1
    return count
