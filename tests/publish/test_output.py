"""PUBLISH: atomic write-if-changed, .gz siblings, confinement, failures that keep the previous file."""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path

import pytest

from feedd.errors import PublishError
from feedd.publish import output as publish
from feedd.publish.output import TEMP_SUFFIX, clean_temp_files, confined, managed_files, publish_many, remove

FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>\n"


def write_if_changed(root: Path, rel: str, data: bytes) -> bool:
    """Publish one file (and its .gz sibling); True when the bytes on disk changed."""
    written, _, failed = publish_many(root, {rel: data})
    if rel in failed:
        raise PublishError(rel, failed[rel])
    return bool(written)


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(TEMP_SUFFIX)]


def test_write_creates_the_file_and_its_folders(tmp_path):
    assert write_if_changed(tmp_path, "feeds/topics/ai.rss", FEED) is True
    assert (tmp_path / "feeds/topics/ai.rss").read_bytes() == FEED
    assert leftovers(tmp_path) == []


def test_identical_bytes_are_not_rewritten(tmp_path):
    write_if_changed(tmp_path, "feeds/all.rss", FEED)
    target = tmp_path / "feeds/all.rss"
    gz = tmp_path / "feeds/all.rss.gz"
    past = 1_600_000_000
    os.utime(target, (past, past))
    os.utime(gz, (past, past))
    inode = target.stat().st_ino
    assert write_if_changed(tmp_path, "feeds/all.rss", FEED) is False
    assert target.stat().st_mtime == past
    assert gz.stat().st_mtime == past
    assert target.stat().st_ino == inode


def test_changed_bytes_replace_the_file_and_its_gz(tmp_path):
    write_if_changed(tmp_path, "feeds/all.rss", FEED)
    newer = FEED.replace(b"<title>t</title>", b"<title>t2</title>")
    assert write_if_changed(tmp_path, "feeds/all.rss", newer) is True
    assert (tmp_path / "feeds/all.rss").read_bytes() == newer
    assert gzip.decompress((tmp_path / "feeds/all.rss.gz").read_bytes()) == newer


@pytest.mark.parametrize("name", ["feeds/all.rss", "feeds/all.atom", "feeds/all.json", "feeds/all.html",
                                  "feeds.opml", "index.html"])
def test_gz_sibling_holds_the_same_bytes(tmp_path, name):
    write_if_changed(tmp_path, name, FEED)
    assert gzip.decompress((tmp_path / f"{name}.gz").read_bytes()) == FEED


def test_gz_is_deterministic(tmp_path):
    write_if_changed(tmp_path / "a", "feeds/all.rss", FEED)
    write_if_changed(tmp_path / "b", "feeds/all.rss", FEED)
    first = (tmp_path / "a/feeds/all.rss.gz").read_bytes()
    assert first == (tmp_path / "b/feeds/all.rss.gz").read_bytes()
    assert first[4:8] == b"\x00\x00\x00\x00"  # gzip header mtime: none


def test_a_missing_gz_is_restored_even_when_the_file_is_unchanged(tmp_path):
    write_if_changed(tmp_path, "feeds/all.rss", FEED)
    (tmp_path / "feeds/all.rss.gz").unlink()
    assert write_if_changed(tmp_path, "feeds/all.rss", FEED) is False
    assert gzip.decompress((tmp_path / "feeds/all.rss.gz").read_bytes()) == FEED


def test_other_files_get_no_gz(tmp_path):
    write_if_changed(tmp_path, "feeds/notes.txt", b"hello")
    assert not (tmp_path / "feeds/notes.txt.gz").exists()


def test_files_are_world_readable(tmp_path):
    old = os.umask(0o077)  # even under a strict umask a static server must be able to read them
    try:
        write_if_changed(tmp_path, "feeds/all.rss", FEED)
    finally:
        os.umask(old)
    for name in ("feeds/all.rss", "feeds/all.rss.gz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644


@pytest.mark.parametrize("rel", ["../x", "feeds/../../x", "/etc/passwd", "\\etc\\passwd", "feeds/a\x00b",
                                 "", ".", "feeds/.."])
def test_confined_refuses_paths_outside_the_root(tmp_path, rel):
    with pytest.raises(PublishError):
        confined(tmp_path, rel)


def test_confined_refuses_a_symlink_out(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "feeds").symlink_to(outside)
    with pytest.raises(PublishError):
        write_if_changed(root, "feeds/all.rss", FEED)
    assert list(outside.iterdir()) == []


def test_confined_accepts_paths_inside(tmp_path):
    assert confined(tmp_path, "feeds/topics/ai.rss") == tmp_path.resolve() / "feeds/topics/ai.rss"


def test_write_outside_the_root_is_refused_and_writes_nothing(tmp_path):
    root = tmp_path / "public"
    root.mkdir()
    with pytest.raises(PublishError):
        write_if_changed(root, "../escaped.rss", FEED)
    assert not (tmp_path / "escaped.rss").exists()


def test_a_target_that_is_a_directory_raises_publish_error(tmp_path):
    (tmp_path / "feeds/all.rss").mkdir(parents=True)
    with pytest.raises(PublishError) as info:
        write_if_changed(tmp_path, "feeds/all.rss", FEED)
    assert info.value.path == "feeds/all.rss"
    assert (tmp_path / "feeds/all.rss").is_dir()
    assert leftovers(tmp_path) == []


def test_a_failing_rename_keeps_the_previous_file(tmp_path, monkeypatch):
    write_if_changed(tmp_path, "feeds/all.rss", FEED)

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publish.os, "replace", refuse)
    with pytest.raises(PublishError) as info:
        write_if_changed(tmp_path, "feeds/all.rss", b"<rss>new</rss>")
    assert "No space left on device" in info.value.reason
    assert (tmp_path / "feeds/all.rss").read_bytes() == FEED
    assert gzip.decompress((tmp_path / "feeds/all.rss.gz").read_bytes()) == FEED
    assert leftovers(tmp_path) == []


def test_a_failing_fsync_keeps_the_previous_file(tmp_path, monkeypatch):
    write_if_changed(tmp_path, "feeds/all.rss", FEED)

    def broken(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(publish.os, "fsync", broken)
    with pytest.raises(PublishError):
        write_if_changed(tmp_path, "feeds/all.rss", b"<rss>new</rss>")
    assert (tmp_path / "feeds/all.rss").read_bytes() == FEED
    assert leftovers(tmp_path) == []


def test_clean_temp_files_removes_leftovers_only(tmp_path):
    (tmp_path / "feeds/topics").mkdir(parents=True)
    killed = [tmp_path / f".index.html.abc{TEMP_SUFFIX}", tmp_path / f"feeds/topics/.ai.rss.x1{TEMP_SUFFIX}"]
    for path in killed:
        path.write_bytes(b"half a feed")
    write_if_changed(tmp_path, "feeds/topics/ai.rss", FEED)
    assert clean_temp_files(tmp_path) == 2
    assert leftovers(tmp_path) == []
    assert (tmp_path / "feeds/topics/ai.rss").read_bytes() == FEED
    assert clean_temp_files(tmp_path) == 0
    assert clean_temp_files(tmp_path / "missing") == 0


def test_managed_files_lists_published_files_without_siblings(tmp_path):
    for rel in ("index.html", "feeds.opml", "feeds/all.rss", "feeds/topics/ai.json"):
        write_if_changed(tmp_path, rel, FEED)
    (tmp_path / f"feeds/.all.rss.x{TEMP_SUFFIX}").write_bytes(b"x")
    (tmp_path / "robots.txt").write_bytes(b"not ours")
    assert managed_files(tmp_path) == {"index.html", "feeds.opml", "feeds/all.rss", "feeds/topics/ai.json"}


def test_managed_files_of_an_empty_root(tmp_path):
    assert managed_files(tmp_path) == set()


def test_remove_unpublishes_the_file_and_its_gz(tmp_path):
    write_if_changed(tmp_path, "feeds/topics/ai.rss", FEED)
    write_if_changed(tmp_path, "feeds/topics/ml.rss", FEED)
    remove(tmp_path, "feeds/topics/ai.rss")
    assert not (tmp_path / "feeds/topics/ai.rss").exists()
    assert not (tmp_path / "feeds/topics/ai.rss.gz").exists()
    assert (tmp_path / "feeds/topics/ml.rss.gz").exists()
    assert managed_files(tmp_path) == {"feeds/topics/ml.rss"}
    remove(tmp_path, "feeds/topics/ai.rss")  # already gone: not an error


def test_remove_refuses_paths_outside_the_root(tmp_path):
    root = tmp_path / "public"
    root.mkdir()
    victim = tmp_path / "keep.rss"
    victim.write_bytes(FEED)
    with pytest.raises(PublishError):
        remove(root, "../keep.rss")
    assert victim.read_bytes() == FEED


def test_publish_many_writes_the_batch_and_reports_the_file_that_failed(tmp_path):
    from feedd.publish.output import publish_many

    (tmp_path / "feeds" / "blocked.rss").mkdir(parents=True)  # a folder where a file should go
    (tmp_path / "feeds" / "same.rss").write_bytes(b"<rss/>")
    (tmp_path / "feeds" / "same.rss.gz").write_bytes(gzip.compress(b"<rss/>", mtime=0))
    outputs = {f"feeds/f{n}.rss": f"<rss>{n}</rss>".encode() for n in range(20)}
    outputs |= {"feeds/blocked.rss": b"<rss/>", "feeds/same.rss": b"<rss/>"}
    written, unchanged, failed = publish_many(tmp_path, outputs)
    assert sorted(written) == sorted(f"feeds/f{n}.rss" for n in range(20))
    assert unchanged == ["feeds/same.rss"]
    assert list(failed) == ["feeds/blocked.rss"] and "cannot write" in failed["feeds/blocked.rss"]
    for n in range(20):  # compressed side by side: each sibling holds its own file
        assert gzip.decompress((tmp_path / "feeds" / f"f{n}.rss.gz").read_bytes()) == f"<rss>{n}</rss>".encode()
    assert not list(tmp_path.rglob("*.feedd-tmp"))


def test_gz_siblings_are_never_older_than_their_file(tmp_path):
    """The server skips a .gz older than its file as stale: a fresh publish must not look stale."""
    from feedd.publish.output import publish_many
    from feedd.serve.app import FileCache

    outputs = {f"feeds/t{n}.rss": (f"<rss>{n}</rss>" + "x" * 5000).encode() for n in range(12)}
    for _ in range(2):
        publish_many(tmp_path, outputs)
        outputs = {rel: data + b" " for rel, data in outputs.items()}
    write_if_changed(tmp_path, "feeds/single.rss", b"<rss>one</rss>")
    cache = FileCache(tmp_path)
    for rel in [*outputs, "feeds/single.rss"]:
        path = tmp_path / rel
        assert os.stat(str(path) + ".gz").st_mtime_ns == path.stat().st_mtime_ns
        assert cache.get(rel).gzip is not None


# -- durability: one sync for a batch, one fsync per file below it ---------------------------------------------

@pytest.fixture
def io_log(monkeypatch):
    """Records, in order, every fsync, sync, finished temp file and rename that publishing does (and does them)."""
    log: list[tuple[str, str]] = []
    real_fsync, real_sync, real_replace, real_stage = os.fsync, os.sync, os.replace, publish._stage

    def fsync(fd):
        log.append(("fsync", ""))
        return real_fsync(fd)

    def sync():
        log.append(("sync", ""))
        return real_sync()

    def replace(src, dst):
        log.append(("rename", os.path.basename(dst)))
        return real_replace(src, dst)

    def stage(path, data, sync_):
        temp = real_stage(path, data, sync_)
        log.append(("staged", path.name))
        return temp

    monkeypatch.setattr(publish.os, "fsync", fsync)
    monkeypatch.setattr(publish.os, "sync", sync)
    monkeypatch.setattr(publish.os, "replace", replace)
    monkeypatch.setattr(publish, "_stage", stage)
    return log


def kinds(log: list[tuple[str, str]]) -> list[str]:
    return [kind for kind, _ in log]


@pytest.mark.parametrize("count", [publish.BATCH_SYNC, publish.BATCH_SYNC + 5])
def test_a_batch_is_synced_once_after_every_temp_file_and_before_any_rename(tmp_path, io_log, count):
    """From BATCH_SYNC files on: a crash before the renames leaves the old files, and after the sync every new
    byte is on disk before any name points at it."""
    outputs = {f"feeds/f{n}.rss": f"<rss>{n}</rss>".encode() for n in range(count)}
    written, _, failed = publish_many(tmp_path, outputs)
    assert sorted(written) == sorted(outputs) and failed == {}
    sequence = kinds(io_log)
    assert sequence.count("sync") == 1 and sequence.count("fsync") == 0
    synced = sequence.index("sync")
    assert sequence[:synced] == ["staged"] * (2 * count)  # every file and its .gz sibling, then the sync
    assert sequence[synced + 1:] == ["rename"] * (2 * count)  # then every rename, the .gz first each time
    renamed = [name for kind, name in io_log if kind == "rename"]
    assert renamed[:2] == ["f0.rss.gz", "f0.rss"]
    for rel, data in outputs.items():
        assert (tmp_path / rel).read_bytes() == data


def test_fewer_files_are_each_fsynced_and_nothing_is_synced(tmp_path, io_log):
    """sync() flushes every dirty page of the machine: a few files (an edit) are cheaper fsynced one by one."""
    count = publish.BATCH_SYNC - 1
    outputs = {f"feeds/f{n}.rss": f"<rss>{n}</rss>".encode() for n in range(count)}
    written, _, _ = publish_many(tmp_path, outputs)
    assert len(written) == count
    sequence = kinds(io_log)
    assert "sync" not in sequence
    assert sequence.count("fsync") == 2 * count  # each temp file, .gz siblings included
    first_rename = sequence.index("rename")
    assert sequence[:first_rename].count("fsync") == 2 * count  # all before any rename


def test_a_batch_that_changes_nothing_syncs_nothing(tmp_path, io_log):
    outputs = {f"feeds/f{n}.rss": f"<rss>{n}</rss>".encode() for n in range(publish.BATCH_SYNC + 2)}
    publish_many(tmp_path, outputs)
    io_log.clear()
    written, unchanged, _ = publish_many(tmp_path, outputs)
    assert written == [] and len(unchanged) == len(outputs)
    assert io_log == []


@pytest.mark.parametrize("changed", [1, 3, publish.BATCH_SYNC])
def test_every_new_file_is_durable_before_its_name_points_at_it(tmp_path, io_log, changed):
    """Whichever way a batch is made durable, no rename comes before its bytes are on disk."""
    outputs = {f"feeds/f{n}.rss": f"<rss>{n}</rss>".encode() for n in range(publish.BATCH_SYNC)}
    publish_many(tmp_path, outputs)
    io_log.clear()
    outputs.update({f"feeds/f{n}.rss": f"<rss>changed {n}</rss>".encode() for n in range(changed)})
    written, _, _ = publish_many(tmp_path, outputs)
    assert len(written) == changed
    sequence = kinds(io_log)
    before = sequence[:sequence.index("rename")]
    assert before.count("staged") == 2 * changed
    last_staged = len(before) - 1 - before[::-1].index("staged")
    assert "sync" in before[last_staged:] or before.count("fsync") == 2 * changed
