"""Faults while building and publishing: kill -9 mid-build, a full or read-only output folder, and a config
file that breaks while feedd runs. Real processes on loopback; the tmpfs tests need root (CI runs as root)."""

from __future__ import annotations

import contextlib
import errno
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from lxml import etree, html

import feedd.publish.output as publish
from feedd.errors import StateLocked
from feedd.lock import state_lock
from feedd.pipeline import Builder
from feedd.publish.output import TEMP_SUFFIX, has_sibling, publish_many
from feedd.serve.app import create_app
from tests.helpers import make_config
from tests.running import Daemon, free_port, wait_for, write_config

TOPICS = [f"Topic {n}" for n in range(30)]
PROVIDERS = [f"provider{n}.example" for n in range(40)]
CATEGORIES = ["news", "research", "business", "opinion", "video", "podcast"]


# --- helpers ----------------------------------------------------------------------------------------------

def write_corpus_article(folder: Path, n: int, revision: int = 0, rng: random.Random | None = None) -> None:
    """Article n (its topics, provider and category fixed by n); revision changes its title and text."""
    pick = random.Random(n)
    topics = ", ".join(repr(t) for t in pick.sample(TOPICS, 3))
    provider = PROVIDERS[n % len(PROVIDERS)]
    body = " ".join(f"Sentence {i} of article {n}, revision {revision}." for i in range(40))
    (folder / f"a{n:04}.md").write_text(
        f"---\ntitle: 'Article {n}, revision {revision}'\nwebUrl: 'https://example.com/{n}'\n"
        f"excerpt: 'About article {n}, revision {revision} — ünïcödé ✓'\n"
        f"publishedDateTime: 2021-03-{1 + n % 28:02}T{n % 24:02}:{n % 60:02}:00Z\ncategory: {CATEGORIES[n % 6]}\n"
        f"heat: {(n * 37 + revision) % 500}\nquality: {n % 100}\ntopics: [{topics}]\n"
        f"provider: {{name: 'Provider {n % len(PROVIDERS)}', domain: {provider}}}\n---\n{body}\n",
        encoding="utf-8")


def check_document(name: str, data: bytes) -> None:
    """One published document is complete and parses."""
    assert data, f"{name} is empty"
    suffix = Path(name).suffix
    if suffix in (".rss", ".atom", ".opml", ".xml"):
        etree.fromstring(data)  # a torn XML file never parses
    elif suffix == ".json":
        assert "items" in json.loads(data), name
    elif suffix == ".html":
        assert data.rstrip().endswith(b"</html>"), f"{name} is truncated"
        html.document_fromstring(data)
    else:
        pytest.fail(f"unexpected file in the output folder: {name}")


def check_output(root: Path, strict: bool) -> list[Path]:
    """Every published file parses, and so does every .gz sibling; returns the temp files left behind.

    strict: also every .gz decompresses to its file's bytes (after a completed build). A kill between
    the two renames of one file may leave them apart until the next build, each complete and valid.
    """
    temps = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        if name.endswith(TEMP_SUFFIX):
            assert path.name.startswith("."), name  # hidden: never served, never listed
            temps.append(path)
        elif name.endswith(".gz"):
            inner = gzip.decompress(path.read_bytes())
            check_document(name[:-3], inner)
            sibling = path.with_name(path.name[:-3])
            assert sibling.is_file(), f"{name} without its file"
            if strict:
                assert inner == sibling.read_bytes(), f"{name} holds other bytes than its file"
        else:
            check_document(name, path.read_bytes())
            if strict and has_sibling(path):
                assert path.with_name(path.name + ".gz").is_file(), f"{name} without its .gz sibling"
    return temps


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run_build(config: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "feedd", "build", "-c", str(config)], capture_output=True,
                          text=True, timeout=timeout)


def kill_leftovers(marker: str) -> None:
    """SIGKILL the processes whose command line holds marker (a path of this test's own): the workers a
    killed build may leave behind when the guard that ends them is missing."""
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError):
            if proc.name.isdigit() and marker.encode() in (proc / "cmdline").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)


def lock_is_free(state: Path) -> bool:
    try:
        with state_lock(state):
            return True
    except StateLocked:
        return False


# --- kill -9 ----------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_kill_9_at_random_moments_never_tears_a_feed_and_the_next_build_converges(tmp_path: Path):
    rng = random.Random(20261122)
    articles = tmp_path / "articles"
    articles.mkdir()
    revisions = dict.fromkeys(range(220), 0)
    for n in revisions:
        write_corpus_article(articles, n)
    config = write_config(tmp_path / "feedd.yaml", articles, 8080)
    output, state = tmp_path / "public", tmp_path / "state"

    # how long one whole build takes here, in a folder of its own: the kills land anywhere in it
    (tmp_path / "timing").mkdir()
    timing = write_config(tmp_path / "timing" / "feedd.yaml", articles, 8080)
    started = time.monotonic()
    assert run_build(timing).returncode == 0
    whole = min(time.monotonic() - started, 2.5)  # a loaded machine: kills land earlier, the test stays short

    client = create_app(output).test_client()
    killed = 0
    try:
        for round_ in range(15):
            for n in rng.sample(sorted(revisions), 25):  # every build has feeds to write
                revisions[n] += 1
                write_corpus_article(articles, n, revisions[n])
            if round_ % 3 == 2:  # articles come and go too, and with them whole feeds
                gone = rng.choice(sorted(revisions))
                (articles / f"a{gone:04}.md").unlink()
                del revisions[gone]
                revisions[1000 + round_] = 0
                write_corpus_article(articles, 1000 + round_)
            with open(tmp_path / "stderr", "wb") as log:  # a file, not a pipe: a leftover worker may hold it
                proc = subprocess.Popen([sys.executable, "-m", "feedd", "build", "-c", str(config)],
                                        stdout=subprocess.DEVNULL, stderr=log)
            time.sleep(rng.uniform(0.05, 1.5) * whole)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.wait(timeout=30)
            stderr = (tmp_path / "stderr").read_text()
            assert proc.returncode in (0, -signal.SIGKILL), stderr
            assert "Traceback" not in stderr and "in use" not in stderr and "locked" not in stderr, stderr
            if output.is_dir():
                temps = check_output(output, strict=proc.returncode == 0)
                for temp in temps:
                    rel = temp.relative_to(output).as_posix()
                    assert client.get("/" + rel).status_code == 404, rel
                assert proc.returncode != 0 or temps == [], "a whole build left temp files behind"
            # the kernel releases the state lock with the process: its render workers must not keep it
            assert wait_for(lambda: lock_is_free(state), timeout=3), "a killed build's workers hold the state lock"
    finally:  # whatever a failure leaves running
        kill_leftovers(str(config))
    assert killed >= 5, f"only {killed} of 15 builds were killed mid-way"

    finished = run_build(config)  # the restart: SQLite state and output are usable as the kills left them
    assert finished.returncode == 0, finished.stderr
    for problem in ("Traceback", "locked", "unusable", "unreadable", "malformed"):
        assert problem not in finished.stderr, finished.stderr
    assert check_output(output, strict=True) == []  # a full build removes what killed builds left behind

    again = run_build(config)
    assert again.returncode == 0
    assert again.stdout.startswith("files: 0 written,") and " 0 removed," in again.stdout, again.stdout

    fresh = tmp_path / "fresh"  # the same articles from scratch: the same files, byte for byte
    fresh.mkdir()
    assert run_build(write_config(fresh / "feedd.yaml", articles, 8080)).returncode == 0
    assert snapshot(output) == snapshot(fresh / "public")


def test_a_crash_between_the_gz_and_the_file_renames_is_repaired_even_when_the_input_goes_back(
        seeds_dir: Path, monkeypatch):
    """The .gz is renamed first; dying before the file's rename leaves a sibling of other bytes. The next
    build must rewrite it, also when the article went back to what the published file already holds."""
    config = make_config(seeds_dir, defaults={"content": "full"})
    builder = Builder(config)
    builder.build()
    builder.close()
    originals = {path: path.read_bytes() for path in seeds_dir.iterdir()}

    class Killed(BaseException):
        pass

    calls, real_replace = [], os.replace

    def dies_after_the_first_rename(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise Killed
        real_replace(src, dst)

    monkeypatch.setattr(publish.os, "replace", dies_after_the_first_rename)
    for path, data in originals.items():
        path.write_bytes(data.replace(b'title: "', b'title: "Changed ', 1))
    builder = Builder(config)
    with pytest.raises(Killed):
        builder.build()
    builder.close()
    monkeypatch.setattr(publish.os, "replace", real_replace)
    assert str(calls[0]).endswith(".gz")
    assert check_output(config.paths.output, strict=False)  # a temp file and a gz apart from its file

    for path, data in originals.items():  # the edit is undone before the restart
        path.write_bytes(data)
    builder = Builder(config)  # the restart
    builder.build()
    builder.close()
    assert check_output(config.paths.output, strict=True) == []


def test_render_workers_die_with_a_killed_feedd_and_free_the_state_lock(tmp_path: Path):
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from feedd.lock import state_lock
        from feedd.workers import process_pool
        with state_lock(Path({str(tmp_path / 'state')!r})):
            pool = process_pool(2)
            assert list(pool.map(abs, [-1, -2, -3, -4])) == [1, 2, 3, 4]
            print(" ".join(str(p) for p in pool._processes), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    out = tmp_path / "stdout"
    with open(out, "wb") as handle:  # a file, not a pipe: a leftover worker would hold a pipe open
        done = subprocess.run([sys.executable, "-c", script], stdout=handle, stderr=handle, timeout=30)
    try:
        assert done.returncode == -signal.SIGKILL, out.read_text()
        workers = [int(pid) for pid in out.read_text().split()]
        assert workers
        assert wait_for(lambda: lock_is_free(tmp_path / "state"), timeout=3), "orphaned workers hold the lock"
        assert wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), timeout=3)
    finally:
        kill_leftovers(str(tmp_path / "state"))


# --- a full or read-only output folder: unit level ---------------------------------------------------------

@pytest.mark.parametrize("count", [3, 12])  # one fsync per file, and one sync() for a batch
def test_publish_many_on_a_full_disk_keeps_every_previous_file_and_no_temp_file(tmp_path: Path, monkeypatch,
                                                                                 count: int):
    root = tmp_path / "public"
    old = {f"feeds/f{n}.rss": f"<rss>{n}</rss>".encode() for n in range(count)}
    publish_many(root, old)
    before = snapshot(root)
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            self.handle.write(data[: len(data) // 2])  # a part lands on disk, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(publish.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    written, unchanged, failed = publish_many(root, {rel: data + b"new" for rel, data in old.items()})
    monkeypatch.undo()
    assert written == [] and unchanged == []
    assert set(failed) == set(old)
    assert all("No space left on device" in reason for reason in failed.values())
    assert snapshot(root) == before  # old bytes, old .gz siblings, and not one temp file


# --- a full or read-only output folder: the running service ------------------------------------------------

@pytest.fixture
def tmpfs_output(tmp_path: Path):
    """tmp_path/public as a small tmpfs of its own (root only); always unmounted afterwards."""
    mount_point = tmp_path / "public"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs these tests as root)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mount -t tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(mount_point)], capture_output=True)
        if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], check=True)


@pytest.fixture
def service_on_tmpfs(tmpfs_output: Path, seeds_dir: Path, tmp_path: Path):
    port = free_port()
    process = Daemon(write_config(tmp_path / "feedd.yaml", seeds_dir, port), port)
    try:
        yield process, tmpfs_output
    finally:
        process.stop()  # before the tmpfs fixture unmounts the folder


def health(daemon: Daemon) -> tuple[int | None, dict]:
    try:
        with urllib.request.urlopen(daemon.base + "/healthz", timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def fill(folder: Path) -> Path:
    filler = folder / ".filler"
    with open(filler, "wb") as handle:
        with contextlib.suppress(OSError):
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
    with contextlib.suppress(OSError), open(filler, "ab") as handle:  # the last partial page too
        while True:
            handle.write(b"\0" * 512)
            handle.flush()
    return filler


def new_article(folder: Path, title: str) -> None:
    (folder / "fault.md").write_text(
        f"---\ntitle: {title!r}\nwebUrl: 'https://example.com/fault'\npublishedDateTime: 2021-02-01T10:00:00Z\n"
        f"topics: [Robots]\n---\n", encoding="utf-8")


def served(daemon: Daemon) -> dict[str, bytes]:
    return {path: daemon.get(path) for path in ("/feeds/all.rss", "/feeds/all.json", "/index.html", "/feeds.opml")}


def assert_failure_is_visible_then_recovers(daemon: Daemon, seeds_dir: Path, output: Path, problem: str,
                                            restore) -> None:
    before = served(daemon)
    new_article(seeds_dir, "Written while the output folder is unwritable")
    assert wait_for(lambda: health(daemon)[1]["status"] == "degraded", timeout=5), daemon.log
    code, details = health(daemon)
    assert code == 200  # feeds are still served: a load balancer keeps this instance
    assert problem in details["error"], details
    assert details["retry_in"] and details["last_build"]["outcome"] == "partial failure"
    assert any(problem in line and "feeds/all.rss" in line for line in daemon.log), daemon.log
    assert any("retrying in" in line for line in daemon.log)
    assert served(daemon) == before  # the previous feeds, byte for byte
    assert "Written while the output folder is unwritable" not in daemon.titles()
    assert not [p for p in output.rglob(f"*{TEMP_SUFFIX}")]

    restore()  # no file event anywhere: the retry notices on its own
    assert wait_for(lambda: "Written while the output folder is unwritable" in daemon.titles(), timeout=10), \
        daemon.log
    assert wait_for(lambda: health(daemon)[1]["status"] == "ok", timeout=3)
    code, details = health(daemon)
    assert code == 200 and details["error"] is None and details["retry_in"] is None
    assert check_output(output, strict=True) == []


@pytest.mark.slow
def test_a_full_disk_keeps_the_old_feeds_shows_on_healthz_and_recovers_by_itself(service_on_tmpfs, seeds_dir):
    daemon, output = service_on_tmpfs
    filler = fill(output)
    assert_failure_is_visible_then_recovers(daemon, seeds_dir, output, "No space left on device", filler.unlink)


@pytest.mark.slow
def test_a_read_only_output_keeps_the_old_feeds_shows_on_healthz_and_recovers_by_itself(service_on_tmpfs,
                                                                                        seeds_dir):
    daemon, output = service_on_tmpfs
    subprocess.run(["mount", "-o", "remount,ro", str(output)], check=True)

    def writable() -> None:
        subprocess.run(["mount", "-o", "remount,rw", str(output)], check=True)

    assert_failure_is_visible_then_recovers(daemon, seeds_dir, output, "Read-only file system", writable)


# --- the config file breaks while feedd runs --------------------------------------------------------------

def config_problem(daemon: Daemon, config: Path, problem: str) -> bool:
    return any("keeping the current config" in line and str(config) in line and problem in line
               for line in daemon.log)


@pytest.mark.slow
def test_a_config_file_broken_deleted_or_garbage_on_disk_keeps_the_old_config_until_fixed(seeds_dir: Path,
                                                                                         tmp_path: Path):
    port = free_port()
    config = write_config(tmp_path / "feedd.yaml", seeds_dir, port, title="Good config")
    daemon = Daemon(config, port)
    try:
        garbage = [
            (b"\xff\xfe\x00\x81garbage\x00\x9c", "cannot read"),
            (b"- a YAML list\n- not a mapping\n", "expected a mapping of settings, got list"),
            (b"", "the file is empty"),
            (None, "file not found"),
        ]
        for number, (content, problem) in enumerate(garbage):
            if content is None:
                config.unlink()
            else:
                config.write_bytes(content)
            assert wait_for(lambda p=problem: config_problem(daemon, config, p), timeout=3), (problem, daemon.log)
            code, details = health(daemon)
            assert code == 200 and details["status"] == "degraded", details
            assert problem in details["config_error"] and str(config) in details["config_error"]
            # the old config stays in force: articles are still published, under the old title
            title = f"Published under a broken config {number}"
            new_article(seeds_dir, title)
            assert wait_for(lambda t=title: t in daemon.titles(), timeout=3), daemon.log
            assert daemon.feed().feed.title == "Good config"
            assert daemon.feed().feed.link.startswith(f"http://127.0.0.1:{port}/")
            assert problem in (health(daemon)[1]["config_error"] or ""), "a successful build hid it"

        # an editor saves by writing a new file and renaming it over the (deleted) old one
        replacement = tmp_path / ".feedd.yaml.swp"
        write_config(replacement, seeds_dir, port, title="Fixed config")
        replacement.rename(config)
        assert wait_for(lambda: daemon.feed().feed.title == "Fixed config", timeout=3), daemon.log
        code, details = health(daemon)
        assert code == 200 and details["status"] == "ok" and details["config_error"] is None, details
    finally:
        assert daemon.stop() == 0


@pytest.mark.slow
def test_sighup_with_a_deleted_or_garbage_config_keeps_the_old_one_until_fixed(seeds_dir: Path, tmp_path: Path):
    port = free_port()
    config = write_config(tmp_path / "feedd.yaml", seeds_dir, port, title="Good config",
                          extra="service:\n  rescan_interval: 1s\n")
    daemon = Daemon(config, port, "--no-watch")  # only SIGHUP (and the rescan of articles) sees changes
    try:
        for number, (content, problem) in enumerate([(None, "file not found"), (b"\x00\x01\x02", "invalid YAML"),
                                                     (b"", "the file is empty")]):
            if content is None:
                config.unlink()
            else:
                config.write_bytes(content)
            daemon.signal(signal.SIGHUP)
            assert wait_for(lambda p=problem: config_problem(daemon, config, p), timeout=3), (problem, daemon.log)
            assert problem in health(daemon)[1]["config_error"]
            title = f"Published after SIGHUP {number}"
            new_article(seeds_dir, title)
            assert wait_for(lambda t=title: t in daemon.titles(), timeout=4), daemon.log
            assert daemon.feed().feed.title == "Good config"
            assert problem in (health(daemon)[1]["config_error"] or ""), "a successful build hid it"
        write_config(config, seeds_dir, port, title="Fixed config", extra="service:\n  rescan_interval: 1s\n")
        daemon.signal(signal.SIGHUP)
        assert wait_for(lambda: daemon.feed().feed.title == "Fixed config", timeout=3), daemon.log
        assert health(daemon)[1]["config_error"] is None
    finally:
        assert daemon.stop() == 0


def test_a_missing_or_out_of_step_gz_sibling_is_restored_by_the_next_build(seeds_dir: Path):
    """Nothing changed in the articles, so every feed's fingerprint matches: the files are still checked."""
    config = make_config(seeds_dir)
    builder = Builder(config)
    builder.build()
    builder.close()
    out = config.paths.output
    (out / "feeds/all.rss.gz").unlink()
    (out / "feeds/all.atom.gz").write_bytes(gzip.compress(b"<feed>other bytes</feed>"))
    builder = Builder(config)  # a restart
    builder.build()
    builder.close()
    assert check_output(out, strict=True) == []
