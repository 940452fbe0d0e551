#!/usr/bin/env python3
"""feedd benchmark suite (issues 4 and 16): `make bench` updates BENCHMARKS.md.

    .venv/bin/python benchmarks/bench.py [--sizes 10000,100000] [--runs 3] [--quick] [--out BENCHMARKS.md]
                                         [--configs defaults,shipped] [--no-hugo] [--no-wrk] [--keep]

Per corpus size (bench/corpus-<N>, generated with ../shared/tools/gen_corpus.py --seed 1 when missing or
incomplete), the corpus is first converted into two Hugo sites (benchmarks/hugo_site.py, untimed: the YAML
front matter as written, and trimmed TOML). Each run then gets, for each of two feedd configurations, a fresh
config and empty output/state folders under bench/work/:

- `defaults`: the built-in defaults (plus `defaults.content: full`, as every earlier run of this bench);
- `shipped`:  config/feedd.yaml as shipped (byte budget, trending and top feeds), with only its paths
              pointed at the corpus and the run's folder and its base_url at the run's port;

both with `server.processes` = --processes. Then it measures:

1. cold build          `feedd build -c CFG` with empty output and state, for both configurations, alternating
                       in the same run with `hugo` on the YAML site and on the trimmed TOML site (the order
                       rotates from run to run): wall time, CPU user+sys and peak RSS from os.wait4 in a small
                       launcher process (the largest process of the tree; children count once they are
                       reaped; not the bench's own size, which a direct child inherits), and the summed RSS
                       of the process tree, sampled every 0.1 s
2. warm restart        the same command again, state present, nothing changed
3. no-op rescan        one Python process: Builder(load_config(CFG)).build() once, then time build() N times
4. edit → served       `feedd run` running; 50 title edits (temp file + os.replace, as editors do) of articles
                       in the largest topic feeds and in small provider feeds; poll the feed over HTTP
                       (keep-alive, ~2 ms apart, 10 s timeout) until the new title is served
5. 1,000 files burst   1,000 new articles written as fast as possible; poll /healthz until the published count
                       grew by exactly 1,000 and /feeds/topics/bench-burst.rss is served (60 s limit); removed
                       afterwards (and the count waited for) so runs are repeatable
6. peak RSS            VmHWM of the `feedd run` process after 4-5
7. HTTP                wrk -t2 -c50 --latency for 10 s on a ~60 KB feed: 200, 304 (If-None-Match) and gzip,
                       feedd and nginx (contrib/nginx.conf) side by side in the same run, alternating order;
                       `feedd run` has `server.processes` = --processes (default: one per core, as nginx's
                       `worker_processes auto`)
8. Hugo, one edit      the title of the newest article changed in each Hugo site, then `hugo` again on the
                       same output folder (Hugo has no incremental build outside `hugo server`): its wall time
                       against feedd's edit → served
9. where the time goes once per size and configuration after the runs: benchmarks/phases.py, one cold build in
                       one process timed by stage (load, select, render, publish; CPU per file and per item)
10. WebSub fan-out     once per bench: benchmarks/websub_fanout.py, `feedd run` as the hub of all.rss with
                       --websub N loopback subscribers, edit → last delivery (its own current section)

Hugo is Debian's `hugo` (0.111); when it is missing the bench tries `apt-get install hugo` and, when that
fails, skips the Hugo rows with one line. The machine is shared and noisy: every figure is a median over
several samples, with min-max. Only the standard library, PyYAML (the project's venv) and hugo_site.py;
loopback only; every wait is bounded. The corpus is restored after the edit and burst scenarios (also after a
crash: see _recover()).

The report keeps one current section per corpus size at the top of the --out file: a size's section is
replaced by the next run of that size, and the replaced one moves, unchanged, to the top of the history below
(a --quick run's section is provisional: it is dropped instead).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from hugo_site import PROVIDER, TOPICS, edit_title, restore, scalar, write_sites
from websub_fanout import measure as websub_fanout

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
WORK = BENCH / "work"
GEN = ROOT.parent / "shared" / "tools" / "gen_corpus.py"
PY = Path(sys.executable)
FEEDD = PY.parent / "feedd"
CONTRIB_NGINX = ROOT / "contrib" / "nginx.conf"
SHIPPED_CONFIG = ROOT / "config" / "feedd.yaml"
CONFIGS = {"defaults": "built-in defaults", "shipped": "`config/feedd.yaml` as shipped"}
HUGO_MODES = {"yaml": "Hugo, the YAML front matter as written", "toml": "Hugo, trimmed TOML front matter"}
BUILD_TIMEOUT = 1800.0  # one cold build (feedd or Hugo) of a 100k corpus
BACKUP = WORK / "edit-backup.json"  # originals of edited files, until they are restored
BURST_PREFIX = "zz-bench-burst-"  # new article files of scenario 5
BURST_TOPIC = "Bench Burst"
EDITS = 50
EDIT_POLL, EDIT_TIMEOUT, EDIT_PAUSE = 0.002, 10.0, 0.25
BURST, BURST_TIMEOUT = 1000, 60.0
START_TIMEOUT = 900.0  # feedd run: first build of a 100k corpus before /healthz answers 200
TARGET_FEED_BYTES = 60_000

NOOP_SCRIPT = r"""
import json, sys, time
from feedd.pipeline import Builder
from feedd.config import load_config
cfg, n = sys.argv[1], int(sys.argv[2])
t = time.perf_counter()
b = Builder(load_config(cfg))
setup = time.perf_counter() - t
t = time.perf_counter()
first = b.build()
first_s = time.perf_counter() - t
times, written = [], []
for _ in range(n):
    t = time.perf_counter()
    r = b.build()
    times.append(time.perf_counter() - t)
    written.append(len(r.written) + len(r.removed))
b.close()
print(json.dumps({"setup": setup, "first": first_s, "first_written": len(first.written), "times": times,
                  "written": written, "articles": r.articles}))
"""


class BenchFailure(RuntimeError):
    """A scenario did not finish as the issue requires (e.g. files lost): reported loudly, exit status 1."""


# -- small helpers -------------------------------------------------------------------------------------------
def log(msg: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def label(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def expected_files(n: int, bodies: float = 0.3, orphans: float = 0.1) -> int:
    """What gen_corpus.py writes for --count n with its default fractions."""
    n_body = round(n * bodies)
    return n + n_body + min(n, round(n_body * orphans))


def run_cmd(cmd: list[str], timeout: float, **kw) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    return time.perf_counter() - t, proc


# -- one process, measured -----------------------------------------------------------------------------------
def vm_kb(pid: int, key: str) -> int | None:
    """A /proc/<pid>/status value in kB (VmHWM, VmRSS); None once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def children(pid: int) -> list[int]:
    pids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return pids


def process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo += children(p)
    return pids


class TreeRSS(threading.Thread):
    """The peak of the summed VmRSS of a process and its descendants, sampled every `every` seconds."""

    def __init__(self, pid: int, every: float = 0.1, *, skip_root: bool = False) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.peak_kb, self.skip = pid, every, 0, int(skip_root)
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            pids = process_tree(self.pid)[self.skip:]
            self.peak_kb = max(self.peak_kb, sum(vm_kb(p, "VmRSS") or 0 for p in pids))
            self._done.wait(self.every)

    def finish(self) -> int:
        self._done.set()
        self.join()
        return self.peak_kb


@dataclass
class Usage:
    """What one command cost: wall seconds, CPU seconds (user, sys: the process and every descendant it
    reaped, from wait4), the largest resident set of any of them (ru_maxrss) and the sampled tree sum, in MB."""

    wall: float
    user: float
    sys: float
    maxrss_mb: float
    tree_mb: float
    code: int
    stdout: str
    stderr: str

    @property
    def cpu(self) -> float:
        return self.user + self.sys

    def as_dict(self) -> dict:
        return {"wall": self.wall, "cpu": self.cpu, "user": self.user, "sys": self.sys, "rss": self.maxrss_mb,
                "tree_rss": self.tree_mb, "code": self.code}


# Linux keeps, in the ru_maxrss of a process, the peak of the memory it had before exec: a child of the bench
# (forked or vforked) would report the bench's own resident set (1 GB after scanning the 100k corpus) when its
# own is smaller. So the measured command is the child of a small launcher (a bare Python, ~10 MB), which
# reports the command's wait4 figures in a file.
LAUNCHER = """\
import os, sys
pid = os.fork()
if pid == 0:
    os.dup2(int(sys.argv[2]), 1)
    os.execvp(sys.argv[3], sys.argv[3:])
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{ru.ru_utime} {ru.ru_stime} {ru.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def run_measured(cmd: list[str], timeout: float, logfile: Path) -> Usage:
    """Run `cmd` to its end (stdout and stderr into logfile) and measure it with os.wait4 in a small launcher
    process: what /usr/bin/time -f '%e %U %S %M' reports, without needing GNU time."""
    figures = logfile.with_suffix(".rusage")
    figures.unlink(missing_ok=True)
    with open(logfile, "w+b") as out, open(logfile.with_suffix(".err"), "w+b") as err:
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", LAUNCHER, str(figures), str(out.fileno()), *cmd],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                pass_fds=(out.fileno(),), start_new_session=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        sampler = TreeRSS(proc.pid, skip_root=True)
        sampler.start()
        expired = threading.Event()

        def kill() -> None:
            if proc.poll() is None:
                expired.set()
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            proc.wait()
            wall = time.perf_counter() - t
        finally:
            timer.cancel()
            tree_kb = sampler.finish()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if expired.is_set():
        raise BenchFailure(f"{' '.join(cmd[:2])} did not finish within {timeout:.0f}s; log: {logfile}")
    try:
        user, system, maxrss_kb, code = figures.read_text().split()
    except (OSError, ValueError):
        raise BenchFailure(f"{' '.join(cmd[:2])}: the launcher gave no figures; log: {err.name}") from None
    return Usage(wall, float(user), float(system), int(maxrss_kb) * 1024 / 1e6, tree_kb * 1024 / 1e6,
                 int(code), stdout, stderr)


# -- Hugo ----------------------------------------------------------------------------------------------------
def ensure_hugo() -> str | None:
    """The hugo binary; installed with apt-get (Debian's package) when missing and we may; else None."""
    found = shutil.which("hugo")
    if found:
        return found
    apt = shutil.which("apt-get")
    prefix = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if apt and prefix is not None:
        log("hugo is missing: apt-get install hugo")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in ([apt, "install", "-y", "-q", "hugo"], [apt, "update", "-q"], [apt, "install", "-y", "-q", "hugo"]):
            try:
                proc = subprocess.run(prefix + cmd, capture_output=True, text=True, timeout=900, env=env)
            except (OSError, subprocess.TimeoutExpired):
                break
            if "install" in cmd and proc.returncode == 0:
                break
    return shutil.which("hugo")


def hugo_version(hugo: str) -> str:
    out = subprocess.run([hugo, "version"], capture_output=True, text=True).stdout.strip()
    m = re.search(r"hugo (v[\w.+-]+)", out)
    return m.group(1) if m else out


@dataclass
class HugoSites:
    binary: str
    version: str
    sites: dict[str, Path]  # mode → site folder


def prepare_hugo(hugo: str, corpus: Path, n: int) -> HugoSites:
    sites = {mode: BENCH / f"hugo-{label(n)}" / mode for mode in HUGO_MODES}
    log(f"writing the Hugo sites under {sites['yaml'].parent.relative_to(ROOT)} (untimed)")
    stats = write_sites(corpus, sites)
    log(f"  {stats.articles} articles ({stats.drafts} drafts), {stats.bodies} with a body, {stats.orphans} "
        f"full-text files matching none, {len(stats.skipped)} skipped, in {stats.seconds:.1f}s")
    if stats.skipped:
        raise BenchFailure(f"the Hugo converter could not read {len(stats.skipped)} article file(s), e.g. "
                           f"{stats.skipped[:3]}")
    return HugoSites(hugo, hugo_version(hugo), sites)


def hugo_cmd(hugo: str, site: Path, dest: Path) -> list[str]:
    return [hugo, "--source", str(site), "--destination", str(dest), "--cacheDir", str(WORK / "hugo-cache"),
            "--noBuildLock"]


def hugo_build(hugo: str, site: Path, dest: Path, logfile: Path) -> dict:
    usage = run_measured(hugo_cmd(hugo, site, dest), BUILD_TIMEOUT, logfile)
    if usage.code != 0:
        raise BenchFailure(f"hugo exited {usage.code} on {site}; log: {logfile}\n{usage.stderr[-2000:]}")
    feeds = sum(1 for _ in dest.rglob("index.xml"))
    if not (dest / "index.xml").exists() or feeds < 2:
        raise BenchFailure(f"hugo wrote {feeds} feed(s) to {dest}; log: {logfile}")
    return {**usage.as_dict(), "feeds": feeds, "files": sum(1 for p in dest.rglob("*") if p.is_file())}


def hugo_edit(hugo: str, site: Path, dest: Path, logfile: Path) -> dict:
    """Change the title of the newest article (the first item of the home feed) and run hugo again on the
    same output folder; check that the home feed shows the new title, then restore the article."""
    link = ET.parse(dest / "index.xml").getroot().find("channel/item/link")
    if link is None or not link.text:
        raise BenchFailure(f"{dest / 'index.xml'} has no item to edit")
    name = link.text.rstrip("/").rsplit("/", 1)[-1]
    title = f"Bench edit {uuid.uuid4().hex[:12]}"
    path = site / "content" / "posts" / f"{name}.md"
    old = edit_title(site, name, title)
    try:
        usage = run_measured(hugo_cmd(hugo, site, dest), BUILD_TIMEOUT, logfile)
        served = title.encode() in (dest / "index.xml").read_bytes()
    finally:
        restore(path, old)
    if usage.code != 0:
        raise BenchFailure(f"hugo exited {usage.code} after one edit on {site}; log: {logfile}")
    if not served:
        raise BenchFailure(f"hugo ran again after the edit of {path} but {dest / 'index.xml'} lacks the new title")
    return {**usage.as_dict(), "article": name}


# -- corpus --------------------------------------------------------------------------------------------------
def _recover(corpus: Path) -> None:
    """Undo what an interrupted earlier run may have left in the corpus: edited titles, burst files."""
    if BACKUP.exists():
        saved = json.loads(BACKUP.read_text(encoding="utf-8"))
        for rel, text in saved.get("files", {}).items():
            path = Path(saved["corpus"]) / rel
            tmp = path.with_name(f".{path.name}.bench-restore")
            tmp.write_bytes(text.encode("utf-8"))
            os.replace(tmp, path)
        log(f"restored {len(saved.get('files', {}))} edited file(s) left by an interrupted run")
        BACKUP.unlink()
    stale = list(corpus.glob(BURST_PREFIX + "*")) + list(corpus.glob(".*.bench-tmp"))
    for path in stale:
        path.unlink()
    if stale:
        log(f"removed {len(stale)} leftover burst/temp file(s) from {corpus}")


def ensure_corpus(n: int) -> Path:
    corpus = BENCH / f"corpus-{label(n)}"
    want = expected_files(n)
    if corpus.is_dir():
        _recover(corpus)
        have = sum(1 for p in corpus.iterdir() if p.is_file())
        if have == want:
            log(f"reusing {corpus.relative_to(ROOT)} ({have} files)")
            return corpus
        log(f"{corpus.relative_to(ROOT)} has {have} files, expected {want}: regenerating")
        shutil.rmtree(corpus)
    cmd = [str(PY), str(GEN), str(corpus), "--count", str(n), "--seed", "1"]
    log("generating corpus: " + " ".join(cmd))
    took, proc = run_cmd(cmd, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"gen_corpus.py failed:\n{proc.stderr}")
    log(f"generated in {took:.1f}s: {proc.stderr.strip()}")
    return corpus


_WEBURL = re.compile(r"^webUrl:\s*(.+?)\s*$", re.M)


@dataclass
class CorpusMap:
    by_url: dict[str, str]  # webUrl → file name (relative to the corpus)
    topic_counts: dict[str, int]
    provider_counts: dict[str, int]
    template: str  # one article file's text, to copy its shape


def scan_corpus(corpus: Path) -> CorpusMap:
    """webUrl → file, and how many articles each topic and provider has, from the front matter (regexes)."""
    by_url: dict[str, str] = {}
    topics: dict[str, int] = {}
    providers: dict[str, int] = {}
    template = ""
    for path in sorted(corpus.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if not text.startswith("---"):
            continue
        head = text.split("\n---", 1)[0]
        m = _WEBURL.search(head)
        if m:
            by_url[scalar(m.group(1))] = path.name
        if not template and "\npublished: true" in head and "\nampWebUrl:" in head:
            template = head + "\n---\n"
        t = TOPICS.search(head)
        if t:
            for line in t.group(1).splitlines():
                name = scalar(line.strip()[1:])
                topics[name] = topics.get(name, 0) + 1
        p = PROVIDER.search(head)
        if p:
            name = scalar(p.group(1))
            providers[name] = providers.get(name, 0) + 1
    return CorpusMap(by_url, topics, providers, template)


# -- HTTP ----------------------------------------------------------------------------------------------------
class Client:
    """One keep-alive connection; reconnects when the server closes it."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.port, self.timeout = port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request("GET", path, headers=headers or {})
                resp = self.conn.getresponse()
                body = resp.read()
                result = resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
                if resp.will_close:
                    self.close()
                return result
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def health(self) -> dict:
        status, _, body = self.get("/healthz")
        data = json.loads(body)
        data["_status"] = status
        return data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def published_count(client: Client) -> int | None:
    build = client.health().get("last_build") or {}
    return (build.get("articles") or {}).get("published")


# -- feedd run -----------------------------------------------------------------------------------------------
class FeeddRun:
    def __init__(self, cfg: Path, port: int, logfile: Path) -> None:
        self.port, self.logfile = port, logfile
        self.cmd = [str(FEEDD), "run", "-c", str(cfg), "--port", str(port)]
        self._log = open(logfile, "wb")
        t = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.client = Client(port)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise BenchFailure(f"feedd run exited with {self.proc.returncode} before /healthz answered; "
                                   f"log: {logfile}\n{self.tail()}")
            try:
                if self.client.get("/healthz")[0] == 200:
                    break
            except (OSError, http.client.HTTPException):
                self.client.close()
            if time.monotonic() > deadline:
                self.stop()
                raise BenchFailure(f"feedd run: no /healthz 200 within {START_TIMEOUT:.0f}s; log: {logfile}")
            time.sleep(0.05)
        self.startup = time.perf_counter() - t

    def tail(self, n: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-n:])

    def vm(self, key: str, pid: int | None = None) -> int | None:
        return vm_kb(pid or self.proc.pid, key)

    def children(self) -> list[int]:
        return children(self.proc.pid)

    def settle(self, quiet: float = 1.0, timeout: float = 120.0, since: str | None = None) -> dict:
        """Wait until no build has finished for `quiet` seconds (and, with `since`, one finished after it)."""
        deadline = time.monotonic() + timeout
        last, changed_at = None, time.monotonic()
        while time.monotonic() < deadline:
            build = self.client.health().get("last_build") or {}
            stamp = f"{build.get('time')}|{build.get('duration')}"
            if stamp != last:
                last, changed_at = stamp, time.monotonic()
            elif time.monotonic() - changed_at >= quiet and (since is None or stamp != since):
                return build
            time.sleep(0.05)
        raise BenchFailure(f"feedd run did not settle within {timeout:.0f}s")

    def build_stamp(self) -> str:
        build = self.client.health().get("last_build") or {}
        return f"{build.get('time')}|{build.get('duration')}"

    def stop(self) -> int | None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self._log.close()
        return self.proc.returncode


# -- nginx ---------------------------------------------------------------------------------------------------
class Nginx:
    """contrib/nginx.conf (listen and root replaced) inside a foreground main config under `work`."""

    def __init__(self, root: Path, work: Path) -> None:
        self.binary = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
        if not self.binary:
            raise FileNotFoundError("nginx is not installed")
        work.mkdir(parents=True, exist_ok=True)
        self.work = work
        last_error = ""
        for _attempt in range(3):
            self.port = free_port()
            self.config = self._render(root)
            self.cmd = [self.binary, "-p", str(work), "-c", str(self.config), "-e", str(work / "error.log")]
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=open(work / "stderr.log", "wb"))
            deadline = time.monotonic() + 10
            while self.proc.poll() is None and time.monotonic() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        return
                except OSError:
                    time.sleep(0.05)
            self.stop()
            last_error = (work / "error.log").read_text(errors="replace") if (work / "error.log").exists() else ""
        raise RuntimeError(f"nginx did not start:\n{last_error}")

    def _render(self, root: Path) -> Path:
        server = CONTRIB_NGINX.read_text(encoding="utf-8")
        server, listens = re.subn(r"^(\s*)listen\s+[^;]+;", rf"\g<1>listen 127.0.0.1:{self.port};", server,
                                  flags=re.M)
        server, roots = re.subn(r"^(\s*)root\s+[^;]+;", lambda m: f'{m.group(1)}root "{root}";', server,
                                flags=re.M)
        if (listens, roots) != (1, 1):
            raise RuntimeError("contrib/nginx.conf must have exactly one listen and one root line")
        for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.work / name).mkdir(exist_ok=True)
        user = "user root;\n" if os.geteuid() == 0 else ""
        w = self.work
        # Debian's stock nginx.conf settings (worker_processes auto, sendfile, tcp_nopush); no access log, as
        # feedd writes none per request.
        text = (f"{user}daemon off;\nworker_processes auto;\npid \"{w}/nginx.pid\";\n"
                f"error_log \"{w}/error.log\" warn;\nevents {{ worker_connections 1024; }}\n"
                f"http {{\n    access_log off;\n    sendfile on;\n    tcp_nopush on;\n"
                + "".join(f'    {n}_temp_path "{w}/{n}";\n' for n in ("fastcgi", "uwsgi", "scgi"))
                + f'    client_body_temp_path "{w}/body";\n    proxy_temp_path "{w}/proxy";\n'
                f"{server}}}\n")
        path = w / "nginx.conf"
        path.write_text(text, encoding="utf-8")
        return path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: master waits for its workers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


# -- wrk -----------------------------------------------------------------------------------------------------
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"cannot parse wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url: str, headers: list[str], seconds: int) -> dict:
    cmd = ["wrk", "-t2", "-c50", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(url)
    took, proc = run_cmd(cmd, timeout=seconds + 60)
    out = proc.stdout
    if proc.returncode != 0:
        raise BenchFailure(f"wrk failed ({proc.returncode}): {proc.stderr}{out}")
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    errors = re.search(r"Socket errors:(.*)", out)
    return {"rps": float(rps.group(1)), "p99_ms": _ms(p99.group(1)), "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(1).strip() if errors else "", "cmd": cmd}


def pick_feed(output: Path) -> Path:
    """The .rss file closest to ~60 KB (the biggest when none is that big)."""
    files = [(p.stat().st_size, p) for p in output.rglob("*.rss") if not p.name.startswith(".")]
    biggest = max(files)
    if biggest[0] < TARGET_FEED_BYTES:
        return biggest[1]
    return min(files, key=lambda sp: (abs(sp[0] - TARGET_FEED_BYTES), str(sp[1])))[1]


# -- scenarios 4 and 5 ---------------------------------------------------------------------------------------
def _channel(path: Path) -> tuple[str, list[str]]:
    """A feed file's channel title and its items' links."""
    root = ET.parse(path).getroot()
    channel = root.find("channel")
    return channel.findtext("title") or "", [item.findtext("link") or "" for item in channel.findall("item")]


def pick_edits(output: Path, cmap: CorpusMap, site_title: str, rng: random.Random) -> list[tuple[str, str]]:
    """(feed URL path, article file) pairs: half in the largest topic feeds, half in small provider feeds."""
    prefix = site_title + ": "

    def feeds(family: str, counts: dict[str, int]) -> list[tuple[int, str, list[str]]]:
        rows = []
        for path in sorted((output / "feeds" / family).glob("*.rss")):
            title, links = _channel(path)
            name = title[len(prefix):] if title.startswith(prefix) else title
            files = [cmap.by_url[link] for link in links if link in cmap.by_url]
            if files:
                rows.append((counts.get(name, len(links)), "/" + path.relative_to(output).as_posix(), files))
        return rows

    half = EDITS // 2
    used: set[str] = set()
    pairs: list[tuple[str, str]] = []
    topics = sorted(feeds("topics", cmap.topic_counts), key=lambda r: (-r[0], r[1]))[:5]
    for k in range(half):  # round-robin over the 5 largest topic feeds, a random item each time
        _, url, files = topics[k % len(topics)]
        choice = rng.choice([f for f in files if f not in used])
        used.add(choice)
        pairs.append((url, choice))
    providers = feeds("providers", cmap.provider_counts)
    rng.shuffle(providers)  # the smallest first; among equally small ones, a different pick each run
    providers.sort(key=lambda r: r[0])
    for _, url, files in providers:
        if len(pairs) == EDITS:
            break
        free = [f for f in files if f not in used]
        if free:
            choice = rng.choice(free)
            used.add(choice)
            pairs.append((url, choice))
    return pairs


def _replace_title(text: str, title: str) -> str:
    new, n = re.subn(r"^title:.*$", lambda _m: "title: " + json.dumps(title, ensure_ascii=False), text, count=1,
                     flags=re.M)
    if n != 1:
        raise RuntimeError("no top-level title line")
    return new


def _write_like_editor(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.bench-tmp")
    with open(tmp, "wb") as fh:
        fh.write(text.encode("utf-8"))
    os.replace(tmp, path)


def scenario_edits(run: FeeddRun, corpus: Path, output: Path, cmap: CorpusMap, site_title: str,
                   seed: int) -> dict:
    rng = random.Random(seed)
    pairs = pick_edits(output, cmap, site_title, rng)
    originals: dict[str, str] = {}
    latencies: list[float] = []
    lost: list[str] = []
    kinds: dict[str, list[float]] = {}
    poller = Client(run.port)
    tag = uuid.uuid4().hex[:8]
    try:
        for i, (url, name) in enumerate(pairs):
            path = corpus / name
            text = path.read_bytes().decode("utf-8")
            if name not in originals:
                originals[name] = text
                BACKUP.write_text(json.dumps({"corpus": str(corpus), "files": originals}), encoding="utf-8")
            title = f"Bench edit {tag} {i:02d} {uuid.uuid4().hex[:12]}"
            needle = title.encode()
            t0 = time.perf_counter()
            _write_like_editor(path, _replace_title(text, title))
            deadline = t0 + EDIT_TIMEOUT
            seen = None
            while time.perf_counter() < deadline:
                status, _, body = poller.get(url)
                if status == 200 and needle in body:
                    seen = time.perf_counter() - t0
                    break
                time.sleep(EDIT_POLL)
            if seen is None:
                lost.append(f"{name} in {url}")
                log(f"  edit {i}: {name} not served in {url} within {EDIT_TIMEOUT:.0f}s")
            else:
                latencies.append(seen)
                kinds.setdefault(url.split("/")[2], []).append(seen)
            time.sleep(EDIT_PAUSE)
    finally:
        poller.close()
        since = run.build_stamp()
        for name, text in originals.items():
            _write_like_editor(corpus / name, text)
        BACKUP.unlink(missing_ok=True)
        if originals:
            try:
                run.settle(quiet=1.0, timeout=120, since=since)
            except BenchFailure as exc:
                log(f"  after restoring the edited files: {exc}")
    return {"latencies": latencies, "lost": lost, "pairs": pairs, "kinds": kinds}


def _burst_text(template: str, k: int, tag: str, when: datetime) -> str:
    url = f"https://bench-burst.example.org/{tag}/article-{k:04d}"
    subs = [
        (r"^title:.*$", "title: " + json.dumps(f"Bench burst {tag} article {k:04d}")),
        (r"^webUrl:.*$", f'webUrl: "{url}"'),
        (r"^originalUrl:.*$", f'originalUrl: "{url}"'),
        (r"^ampWebUrl:.*$", f'ampWebUrl: "{url}/amp"'),
        (r"^cdnAmpWebUrl:.*$", f'cdnAmpWebUrl: "{url}/cdn-amp"'),
        (r"^publishedDateTime:.*$", "publishedDateTime: " + when.strftime("%Y-%m-%dT%H:%M:%SZ")),
        (r"^published:.*$", "published: true"),
        (r"^topics:[ \t]*\n(?:[ \t]+-[^\n]*\n)+", f"topics:\n  - {BURST_TOPIC}\n"),
    ]
    text = template
    for pattern, repl in subs:
        text, n = re.subn(pattern, lambda _m, r=repl: r, text, count=1, flags=re.M)
        if n != 1 and not pattern.startswith("^amp") and not pattern.startswith("^cdn"):
            raise RuntimeError(f"template has no {pattern!r}")
    return text


def _holds_items(response: tuple[int, dict[str, str], bytes]) -> bool:
    """The feed is served with items in it (an emptied feed stays published, empty, for its subscribers)."""
    status, _, body = response
    return status == 200 and b"<item>" in body


def scenario_burst(run: FeeddRun, corpus: Path, template: str) -> dict:
    feed = "/feeds/topics/bench-burst.rss"
    run.settle(quiet=1.0, timeout=120)
    base = published_count(run.client)
    tag = uuid.uuid4().hex[:8]
    now = datetime.now(UTC).replace(microsecond=0)
    texts = [(corpus / f"{BURST_PREFIX}{tag}-{k:04d}.txt",
              _burst_text(template, k, tag, now - timedelta(seconds=60 + k))) for k in range(BURST)]
    poller = Client(run.port)
    result: dict = {"base": base}
    try:
        t0 = time.perf_counter()
        for path, text in texts:
            with open(path, "wb") as fh:
                fh.write(text.encode("utf-8"))
        result["write_s"] = time.perf_counter() - t0
        deadline, count = t0 + BURST_TIMEOUT, None
        while time.perf_counter() < deadline:
            count = published_count(poller)
            if count == base + BURST and _holds_items(poller.get(feed)):
                result["visible_s"] = time.perf_counter() - t0
                break
            time.sleep(0.01)
        result["count"] = count
        if "visible_s" not in result:
            status = poller.get(feed)[0]
            raise BenchFailure(f"1,000 new files: after {BURST_TIMEOUT:.0f}s the published count is {count} "
                               f"(expected {base} + {BURST} = {base + BURST}) and {feed} answers {status}")
    finally:
        t1 = time.perf_counter()
        for path, _ in texts:
            path.unlink(missing_ok=True)
        deadline, count = t1 + BURST_TIMEOUT, None
        while time.perf_counter() < deadline:
            count = published_count(poller)
            if count == base and not _holds_items(poller.get(feed)):  # kept published, empty (families.*.retain)
                result["removed_s"] = time.perf_counter() - t1
                break
            time.sleep(0.01)
        poller.close()
    if "removed_s" not in result:
        raise BenchFailure(f"1,000 files removed: after {BURST_TIMEOUT:.0f}s the published count is {count}, "
                           f"expected {base} again")
    return result


# -- one run -------------------------------------------------------------------------------------------------
def write_config(work: Path, corpus: Path, port: int, processes: int, config: str) -> tuple[Path, str]:
    """The run's config file and its site title: the built-in defaults, or config/feedd.yaml as shipped with
    only its paths, base_url and server.processes replaced."""
    if config == "defaults":
        data: dict = {"site": {"title": "Bench"}, "defaults": {"content": "full"}}
    else:
        data = yaml.safe_load(SHIPPED_CONFIG.read_text(encoding="utf-8")) or {}
    data.setdefault("site", {})["base_url"] = f"http://127.0.0.1:{port}/"
    data["paths"] = {**(data.get("paths") or {}), "articles": str(corpus), "output": str(work / "public"),
                     "state": str(work / "state")}
    data["server"] = {**(data.get("server") or {}), "processes": processes}
    cfg = work / "feedd.yaml"
    cfg.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return cfg, data["site"].get("title", "feedd")


@dataclass
class Setup:
    config: str
    work: Path
    port: int
    cfg: Path
    title: str
    tag: str  # for log file names


def cold_build(s: Setup, logs: Path) -> dict:
    usage = run_measured([str(FEEDD), "build", "-c", str(s.cfg)], BUILD_TIMEOUT, logs / f"{s.tag}-cold.log")
    if usage.code != 0:
        raise BenchFailure(f"cold build exited {usage.code}:\n{usage.stdout[-2000:]}{usage.stderr[-2000:]}")
    return {**usage.as_dict(), "summary": usage.stdout.strip()}


def feedd_scenarios(s: Setup, res: dict, corpus: Path, cmap: CorpusMap, n: int, k: int,
                    args: argparse.Namespace, logs: Path) -> None:
    """Scenarios 2-7 for one configuration, after its cold build; results and problems go into `res`."""
    log(f"{s.tag}: warm restart")
    usage = run_measured([str(FEEDD), "build", "-c", str(s.cfg)], BUILD_TIMEOUT, logs / f"{s.tag}-warm.log")
    if usage.code != 0:
        raise BenchFailure(f"warm build exited {usage.code}:\n{usage.stdout[-2000:]}{usage.stderr[-2000:]}")
    res["warm"] = usage.wall
    res["warm_usage"] = usage.as_dict()
    res["warm_summary"] = usage.stdout.strip()
    log(f"  warm restart {usage.wall:.2f}s (CPU {usage.cpu:.1f}s, peak RSS {usage.maxrss_mb:.0f} MB)")

    log(f"{s.tag}: no-op rescan ×{args.noop}")
    took, proc = run_cmd([str(PY), "-c", NOOP_SCRIPT, str(s.cfg), str(args.noop)], timeout=BUILD_TIMEOUT)
    if proc.returncode != 0:
        raise BenchFailure(f"no-op rescan failed:\n{proc.stderr[-3000:]}")
    noop = json.loads(proc.stdout.strip().splitlines()[-1])
    res["noop"] = noop["times"]
    res["noop_first"] = noop["first"]
    if any(noop["written"]):
        res["errors"].append(f"no-op rescan wrote/removed files: {noop['written']}")
    log(f"  no-op rescan {', '.join(f'{t:.3f}' for t in noop['times'])}s (first build in process {noop['first']:.2f}s)")

    log(f"{s.tag}: feedd run")
    run = FeeddRun(s.cfg, s.port, logs / f"{s.tag}-feedd-run.log")
    res["startup"] = run.startup
    log(f"  /healthz 200 after {run.startup:.2f}s")
    try:
        run.settle(quiet=1.0, timeout=300)
        log(f"{s.tag}: {EDITS} edits")
        edits = scenario_edits(run, corpus, s.work / "public", cmap, s.title, seed=1000 * n + k)
        res["edits"] = edits["latencies"]
        res["edits_lost"] = edits["lost"]
        res["edits_kinds"] = edits["kinds"]
        if edits["latencies"]:
            log(f"  edit→served median {statistics.median(edits['latencies']):.3f}s "
                f"p95 {percentile(edits['latencies'], 95):.3f}s, lost {len(edits['lost'])}")
        if edits["lost"]:
            res["errors"].append(f"{len(edits['lost'])} edit(s) never served: {edits['lost'][:5]}")

        log(f"{s.tag}: {BURST} files burst")
        try:
            burst = scenario_burst(run, corpus, cmap.template)
            res["burst"] = burst["visible_s"]
            res["burst_removed"] = burst["removed_s"]
            log(f"  all visible after {burst['visible_s']:.2f}s (writes took {burst['write_s']:.2f}s); "
                f"removed after {burst['removed_s']:.2f}s")
        except BenchFailure as exc:
            log(f"  FAILED: {exc}")
            res["errors"].append(str(exc))
            res["burst_failed"] = True

        res["rss_kb"] = run.vm("VmHWM")
        res["children_rss_kb"] = sum(run.vm("VmHWM", pid) or 0 for pid in run.children())
        log(f"  peak RSS {res['rss_kb'] / 1024:.0f} MiB (children {res['children_rss_kb'] / 1024:.0f} MiB)")

        if args.wrk:
            try:
                res["http"] = http_scenario(run, s.work, args.wrk_seconds, k)
            except (BenchFailure, RuntimeError, OSError) as exc:
                log(f"  HTTP scenario FAILED: {exc}")
                res["errors"].append(f"HTTP scenario: {exc}")
            for mode in res.get("http", {}).get("modes", {}).values():
                res["errors"] += [f"HTTP: {r['anomaly']}" for r in mode.values() if r.get("anomaly")]
    finally:
        code = run.stop()
        res["exit"] = code
        if code != 0:
            res["errors"].append(f"feedd run exited {code} on SIGTERM")
        text = (logs / f"{s.tag}-feedd-run.log").read_text(errors="replace")
        if "Traceback" in text:
            res["errors"].append(f"traceback in {logs / f'{s.tag}-feedd-run.log'}")


def one_run(n: int, corpus: Path, cmap: CorpusMap, k: int, args: argparse.Namespace, logs: Path,
            hugo: HugoSites | None) -> dict:
    """One run: the cold builds (feedd with each configuration, Hugo on each site) in a rotating order, then
    scenarios 2-7 for each configuration, then Hugo's one-edit rebuilds."""
    res: dict = {"errors": [], "processes": args.processes, "configs": {}, "hugo": {}}
    setups: dict[str, Setup] = {}
    for config in args.configs:
        work = WORK / f"{label(n)}-run{k}-{config}"
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        port = free_port()
        cfg, title = write_config(work, corpus, port, args.processes, config)
        setups[config] = Setup(config, work, port, cfg, title, f"{label(n)}-run{k}-{config}")
        res["configs"][config] = {"errors": []}
    hugo_out = {mode: WORK / f"{label(n)}-run{k}-hugo-{mode}" for mode in (hugo.sites if hugo else {})}

    contenders = [("feedd", c) for c in args.configs] + [("hugo", m) for m in hugo_out]
    shift = (k - 1) % len(contenders)
    order = contenders[shift:] + contenders[:shift]
    res["order"] = [f"{who} {what}" for who, what in order]
    log(f"{label(n)} run {k}: cold builds in this order: {', '.join(res['order'])}")
    for who, what in order:
        try:
            if who == "feedd":
                r = cold_build(setups[what], logs)
                res["configs"][what]["cold"] = r["wall"]
                res["configs"][what]["cold_usage"] = r
                res["configs"][what]["build_summary"] = r.pop("summary")
            else:
                if hugo_out[what].exists():
                    shutil.rmtree(hugo_out[what])
                r = hugo_build(hugo.binary, hugo.sites[what], hugo_out[what],
                               logs / f"{label(n)}-run{k}-hugo-{what}.log")
                res["hugo"][what] = r
            log(f"  {who} {what}: {r['wall']:.2f}s wall, CPU {r['cpu']:.1f}s, peak RSS {r['rss']:.0f} MB "
                f"(tree {r['tree_rss']:.0f} MB)")
        except BenchFailure as exc:
            log(f"  {who} {what} FAILED: {exc}")
            (res["configs"][what] if who == "feedd" else res)["errors"].append(f"{who} {what} cold build: {exc}")

    for config in (args.configs if k % 2 else args.configs[::-1]):
        c = res["configs"][config]
        if "cold" not in c:
            continue
        try:
            feedd_scenarios(setups[config], c, corpus, cmap, n, k, args, logs)
        except BenchFailure as exc:
            log(f"{setups[config].tag} FAILED: {exc}")
            c["errors"].append(str(exc))
        finally:
            _recover(corpus)

    for mode, dest in hugo_out.items():
        if mode not in res["hugo"]:
            continue
        log(f"{label(n)} run {k}: hugo {mode}, one edit")
        try:
            r = hugo_edit(hugo.binary, hugo.sites[mode], dest, logs / f"{label(n)}-run{k}-hugo-{mode}-edit.log")
            res["hugo"][mode]["edit"] = r
            log(f"  rebuilt in {r['wall']:.2f}s (CPU {r['cpu']:.1f}s)")
        except BenchFailure as exc:
            log(f"  FAILED: {exc}")
            res["errors"].append(f"hugo {mode} one edit: {exc}")

    if not args.keep:
        for path in [s.work for s in setups.values()] + list(hugo_out.values()):
            shutil.rmtree(path, ignore_errors=True)
    return res


def http_scenario(run: FeeddRun, work: Path, seconds: int, k: int) -> dict:
    output = work / "public"
    feed = pick_feed(output)
    rel = "/" + feed.relative_to(output).as_posix()
    nginx = Nginx(output, work / "nginx")
    try:
        ports = {"feedd": run.port, "nginx": nginx.port}
        result: dict = {"feed": rel, "bytes": feed.stat().st_size, "nginx_cmd": nginx.cmd, "modes": {}}
        for i, mode in enumerate(("200", "304", "gzip")):
            order = ("feedd", "nginx") if (i + k) % 2 == 0 else ("nginx", "feedd")
            result["modes"][mode] = {}
            for server in order:
                client = Client(ports[server])
                status, headers, _ = client.get(rel)
                etag = headers.get("etag", "")
                hdrs = {"200": [], "304": [f"If-None-Match: {etag}"], "gzip": ["Accept-Encoding: gzip"]}[mode]
                check = dict(h.split(": ", 1) for h in hdrs)
                status, headers, body = client.get(rel, check)
                client.close()
                want = 304 if mode == "304" else 200
                anomaly = None
                if status != want or (mode == "gzip" and headers.get("content-encoding") != "gzip"):
                    # measured anyway (it is what clients get), but flagged in the report
                    anomaly = (f"{server} answered `{' '.join(hdrs) or 'GET'}` on {rel} with {status}, "
                               f"Content-Encoding {headers.get('content-encoding')}, {len(body)} bytes")
                    log(f"  ANOMALY: {anomaly}")
                log(f"  wrk {mode} {server} {rel} ({len(body)} bytes)")
                r = wrk(f"http://127.0.0.1:{ports[server]}{rel}", hdrs, seconds)
                r["anomaly"], r["bytes"] = anomaly, len(body)
                if r["non2xx"]:
                    log(f"    {r['non2xx']} non-2xx/3xx responses")
                result["modes"][mode][server] = r
                log(f"    {r['rps']:.0f} req/s, p99 {r['p99_ms']:.2f} ms")
        return result
    finally:
        nginx.stop()


# -- report --------------------------------------------------------------------------------------------------
def fmt(v: float, unit: str) -> str:
    if unit == "s":
        return f"{v:.3f} s" if v < 10 else f"{v:.1f} s"
    if unit == "MB":
        return f"{v:,.0f} MB"
    if unit == "req/s":
        return f"{v:,.0f}"
    if unit == "ms":
        return f"{v:.2f} ms" if v < 100 else f"{v:.0f} ms"
    if unit == "x":
        return f"{v:.2f}×"
    return f"{v:g}"


def cell(values: list[float], unit: str, target: tuple[str, float] | None = None,
         value: float | None = None, every: bool = False) -> tuple[str, bool | None]:
    """'median (min–max)', and ': met' or ': **missed**' against (op, limit): judged on the median (or
    `value`), or with `every` on the worst sample."""
    if not values:
        return "n/a", None
    med = statistics.median(values) if value is None else value
    text = fmt(med, unit)
    if len(values) > 1:
        text += f" ({fmt(min(values), unit)}–{fmt(max(values), unit)})"
    met = None
    if target:
        op, limit = target
        judged = (max(values) if op == "<=" else min(values)) if every else med
        met = judged <= limit if op == "<=" else judged >= limit
        if unit == "x" and fmt(med, unit) == fmt(limit, unit) and med != limit:
            text = f"{med:.3f}×" + text[len(fmt(med, unit)):]  # 0.0994× is not "0.10×, missed"
        text += ": met" if met else ": **missed**"
    return text, met


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]


@dataclass
class Row:
    name: str
    unit: str
    target_text: str = ""
    target: tuple[str, float] | None = None
    short: str = ""  # in the list of missed targets
    every: bool = False  # the target holds in every run (judged on the worst sample), not on the median


def config_rows(runs: list[dict], config: str) -> dict[str, tuple[list[float], float | None, str]]:
    """Row name → (samples, the value judged when not their median, a note) for one configuration."""
    xs = [r["configs"][config] for r in runs if config in r.get("configs", {})]

    def vals(key: str) -> list[float]:
        return [x[key] for x in xs if x.get(key) is not None]

    def ratio(mode: str, key: str = "wall") -> list[float]:
        return [r["configs"][config]["cold_usage"][key] / r["hugo"][mode][key] for r in runs
                if r.get("configs", {}).get(config, {}).get("cold_usage") and r.get("hugo", {}).get(mode)]

    edits = [t for x in xs for t in x.get("edits", [])]
    lost = sum(len(x.get("edits_lost", [])) for x in xs)
    failed = sum(1 for x in xs if x.get("burst_failed"))
    http = [x["http"] for x in xs if x.get("http")]

    def http_ratio(mode: str) -> list[float]:
        return [h["modes"][mode]["feedd"]["rps"] / h["modes"][mode]["nginx"]["rps"] for h in http]

    return {
        "yaml": (ratio("yaml"), None, ""),
        "toml": (ratio("toml"), None, ""),
        "yaml_cpu": (ratio("yaml", "cpu"), None, ""),
        "cold": (vals("cold"), None, ""),
        "cold_cpu": ([x["cold_usage"]["cpu"] for x in xs if x.get("cold_usage")], None, ""),
        "cold_rss": ([x["cold_usage"]["rss"] for x in xs if x.get("cold_usage")], None, ""),
        "warm": (vals("warm"), None, ""),
        "noop": ([t for x in xs for t in x.get("noop", [])], None, ""),
        "edit_median": (edits, None, f"{lost} of {len(edits) + lost} lost" if lost else ""),
        "edit_p95": ([percentile(x["edits"], 95) for x in xs if x.get("edits")],
                     percentile(edits, 95) if edits else None, ""),
        "edit_topics": ([t for x in xs for t in x.get("edits_kinds", {}).get("topics", [])], None, ""),
        "edit_providers": ([t for x in xs for t in x.get("edits_kinds", {}).get("providers", [])], None, ""),
        "burst": (vals("burst"), None, f"{failed} run(s) failed" if failed else ""),
        "burst_removed": (vals("burst_removed"), None, ""),
        "rss": ([x["rss_kb"] * 1024 / 1e6 for x in xs if x.get("rss_kb")], None, ""),
        "children_rss": ([x["children_rss_kb"] * 1024 / 1e6 for x in xs if x.get("children_rss_kb")], None, ""),
        "startup": (vals("startup"), None, ""),
        "http200": (http_ratio("200"), None, ""),
        "http304": (http_ratio("304"), None, ""),
        "httpgzip": (http_ratio("gzip"), None, ""),
    }


ROWS = {
    "yaml": Row("cold build ÷ Hugo on the same YAML files, same run", "x", "≤ 0.8×", ("<=", 0.8),
                "cold ÷ Hugo YAML"),
    "toml": Row("cold build ÷ Hugo on trimmed TOML front matter, same run (stretch)", "x", "≤ 1×", ("<=", 1.0),
                "cold ÷ Hugo TOML (stretch)"),
    "yaml_cpu": Row("cold build CPU ÷ Hugo's CPU on the YAML files, same run (info: CPU time minds a busy "
                    "machine less than wall time)", "x"),
    "cold": Row("cold build (`feedd build`, empty output and state), wall", "s"),
    "cold_cpu": Row("cold build, CPU user+sys (info)", "s"),
    "cold_rss": Row("cold build, peak RSS (largest process)", "MB", "≤ 400 MB", ("<=", 400), "cold build RSS"),
    "warm": Row("warm restart (`feedd build` again, nothing changed)", "s", "≤ 5 s in every run", ("<=", 5),
                "warm restart", every=True),
    "noop": Row("no-op rescan (`Builder.build()` in one process)", "s", "≤ 1 s", ("<=", 1), "no-op rescan"),
    "edit_median": Row("edit → served, median", "s", "≤ 0.2 s", ("<=", 0.2), "edit median"),
    "edit_p95": Row("edit → served, p95 (min–max: per-run p95)", "s", "≤ 0.5 s", ("<=", 0.5), "edit p95"),
    "edit_topics": Row("edit → served, median, 5 largest topic feeds only (info)", "s"),
    "edit_providers": Row("edit → served, median, small provider feeds only (info)", "s"),
    "burst": Row("1,000 files added → all visible, none lost", "s", "≤ 10 s", ("<=", 10), "1,000 files"),
    "burst_removed": Row("1,000 files removed → gone from the feeds (info)", "s"),
    "rss": Row("peak RSS of `feedd run` (VmHWM, main process)", "MB", "≤ 400 MB", ("<=", 400), "`feedd run` RSS"),
    "children_rss": Row("peak RSS of its child processes, summed (info)", "MB"),
    "startup": Row("`feedd run` start → /healthz 200 (info)", "s"),
    "http200": Row("HTTP 200: feedd / nginx req/s", "x", "≥ 0.1×", (">=", 0.1), "HTTP 200"),
    "http304": Row("HTTP 304 (If-None-Match): feedd / nginx req/s", "x", "≥ 0.1×", (">=", 0.1), "HTTP 304"),
    "httpgzip": Row("HTTP gzip: feedd / nginx req/s (info)", "x"),
}


def usage_cells(samples: list[dict]) -> list[str]:
    return [cell([u[key] for u in samples], unit)[0]
            for key, unit in (("wall", "s"), ("cpu", "s"), ("rss", "MB"), ("tree_rss", "MB"))]


def report_size(n: int, runs: list[dict], configs: list[str], env: dict) -> tuple[list[str], list[str]]:
    """The current section of one corpus size, and the targets it missed."""
    lbl = label(n)
    missed: list[str] = []
    missed_here: dict[str, list[str]] = {}
    per = {c: config_rows(runs, c) for c in configs}
    body = []
    for key, spec in ROWS.items():
        cells = []
        for c in configs:
            values, value, note = per[c][key]
            if key in ("yaml", "toml", "yaml_cpu", "http200", "http304", "httpgzip") and not values:
                text, met = "not measured", None
            else:
                text, met = cell(values, spec.unit, spec.target, value, spec.every)
            if note:
                text += f" ({note})"
                if key == "burst" and met:
                    text, met = text.replace(": met", ": **missed**"), False
            if met is False:
                missed.append(f"{lbl} {c}: {spec.name}")
                missed_here.setdefault(spec.short or spec.name, []).append(c)
            cells.append(text)
        body.append([spec.name, spec.target_text] + cells)

    quick = " (quick smoke run: not for comparisons)" if env["quick"] else ""
    lines = [f"## {lbl} articles: {env['date']}, commit `{env['commit']}`, {len(runs)} run(s){quick}", ""]
    lines += [
        f"- commit `{env['commit']}`{env['dirty']}; {env['machine']}; load average at start "
        f"{env['load']:.2f} (shared, noisy machine)",
        f"- {env['versions']}",
        f"- corpus: {env['corpora'][lbl]}",
        f"- {len(runs)} run(s); each figure is the median of all samples, min–max in brackets; {EDITS} edits per "
        f"run and configuration, {env['noop']} no-op rescan(s) per run; `feedd run` with `server.processes: "
        f"{runs[0].get('processes', 1) if runs else '?'}`",
        "- targets: " + ("all met." if not missed else "**missed**: " + "; ".join(
            f"{name} ({'both' if len(cs) == len(configs) == 2 else ', '.join(cs)})" for name, cs in missed_here.items())
                         + "."),
        "",
    ]
    lines += table(["scenario", "target"] + [CONFIGS[c] for c in configs], body)

    hugo_runs = [r["hugo"] for r in runs if r.get("hugo")]
    builds = []
    for mode, name in HUGO_MODES.items():
        got = [h[mode] for h in hugo_runs if mode in h]
        if got:
            builds.append([f"{name} ({env['hugo']}, RSS only)"] + usage_cells(got))
    for c in configs:
        got = [r["configs"][c]["cold_usage"] for r in runs if r.get("configs", {}).get(c, {}).get("cold_usage")]
        if got:
            builds.append([f"`feedd build` cold, {CONFIGS[c]}"] + usage_cells(got))
    for c in configs:
        got = [r["configs"][c]["warm_usage"] for r in runs if r.get("configs", {}).get(c, {}).get("warm_usage")]
        if got:
            builds.append([f"`feedd build` warm restart, {CONFIGS[c]}"] + usage_cells(got))
    if builds:
        orders = sorted({" → ".join(r.get("order", [])) for r in runs if r.get("order")})
        lines += ["", "Builds side by side: the cold builds of one run alternate, in an order that rotates from run "
                  "to run (" + "; ".join(orders) + "). CPU is user+sys of the process and the children it reaped "
                  "(wait4); peak RSS is the largest single process of the tree (`/usr/bin/time`'s %M), and beside "
                  "it the summed RSS of the whole tree, sampled every 0.1 s.", ""]
        lines += table(["build", "wall", "CPU user+sys", "peak RSS (largest process)", "peak RSS (tree, sampled)"],
                       builds)

    edit_rows = []
    for c in configs:
        values, _, note = per[c]["edit_median"]
        if values:
            edit_rows.append([f"`feedd run`, {CONFIGS[c]}: edit → served over HTTP" + (f" ({note})" if note else ""),
                              cell(values, "s")[0], fmt(per[c]["edit_p95"][1], "s"), str(len(values))])
    for mode, name in HUGO_MODES.items():
        got = [h[mode]["edit"]["wall"] for h in hugo_runs if h.get(mode, {}).get("edit")]
        if got:
            edit_rows.append([f"{name}: `hugo` again on the edited site", cell(got, "s")[0],
                              fmt(percentile(got, 95), "s"), str(len(got))])
    if edit_rows:
        lines += ["", "One edited article → its new title in the feed. feedd: the file saved (temp file + rename), "
                  "then the feed polled over HTTP until it shows the new title. Hugo has no incremental build "
                  "outside `hugo server` (which keeps the whole site in memory and renders to memory by default), "
                  "so a publishing Hugo site rebuilds all of it: the newest article's title changed, then `hugo` "
                  "again into the same output folder, wall time until it exits (a static server adds nothing).",
                  ""]
        lines += table(["one edited article", "median (min–max)", "p95", "samples"], edit_rows)

    for c in configs:
        http_runs = [r["configs"][c]["http"] for r in runs if r.get("configs", {}).get(c, {}).get("http")]
        if http_runs:
            lines += [""] + http_table(http_runs, CONFIGS[c])

    lines.append("")
    for c in configs:
        x = next((r["configs"][c] for r in runs if r.get("configs", {}).get(c, {}).get("build_summary")), None)
        if x:
            lines += [f"First cold build's summary, {CONFIGS[c]}:", "", "```", x["build_summary"], "```", ""]
    feeds = {m: next((h[m]["feeds"] for h in hugo_runs if m in h), None) for m in HUGO_MODES}
    if any(feeds.values()):
        lines += ["Hugo wrote " + ", ".join(f"{v:,} feeds ({m})" for m, v in feeds.items() if v) + ": one RSS file "
                  "per topic, provider and category term and the home feed, 50 items each, nothing else.", ""]
    errors = [e for r in runs for e in r.get("errors", [])]
    errors += [f"{CONFIGS[c]}: {e}" for r in runs for c in configs for e in r.get("configs", {}).get(c, {})
               .get("errors", [])]
    if errors:
        lines += ["Problems seen:", ""] + [f"- {e}" for e in errors] + [""]
    return lines, missed


def http_table(http_runs: list[dict], config: str) -> list[str]:
    h0 = http_runs[0]
    lines = [f"HTTP side by side, {config} (wrk -t2 -c50 --latency, {WRK_SECONDS} s each; `{h0['feed']}`, "
             f"{h0['bytes']:,} bytes; median of {len(http_runs)} run(s), min–max in brackets):", ""]
    rows = []
    for mode in ("200", "304", "gzip"):
        cells = [mode]
        for server in ("feedd", "nginx"):
            v = [h["modes"][mode][server]["rps"] for h in http_runs]
            flag = " †" if any(h["modes"][mode][server].get("anomaly") for h in http_runs) else ""
            cells.append(cell(v, "req/s")[0] + flag)
        cells.append(fmt(statistics.median([h["modes"][mode]["feedd"]["rps"] / h["modes"][mode]["nginx"]["rps"]
                                            for h in http_runs]), "x"))
        for server in ("feedd", "nginx"):
            cells.append(cell([h["modes"][mode][server]["p99_ms"] for h in http_runs], "ms")[0])
        rows.append(cells)
    lines += table(["request", "feedd req/s", "nginx req/s", "feedd/nginx", "feedd p99", "nginx p99"], rows)
    bad = [f"{m} {s}: {h['modes'][m][s]['non2xx']} non-2xx/3xx" for h in http_runs for m in h["modes"]
           for s in h["modes"][m] if h["modes"][m][s]["non2xx"]]
    errs = [f"{m} {s}: socket errors {h['modes'][m][s]['socket_errors']}" for h in http_runs for m in h["modes"]
            for s in h["modes"][m] if h["modes"][m][s]["socket_errors"]]
    if any(r.get("anomaly") for h in http_runs for m in h["modes"].values() for r in m.values()):
        lines.append("\n† at least one run got a wrong response for this request (see Problems seen); "
                     "measured anyway.")
    lines += [f"\n- {b}" for b in bad + errs]
    return lines


WRK_SECONDS = 10


def environment(args: argparse.Namespace, hugo: str | None) -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.machine())
    mem = next((int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                if ln.startswith("MemTotal")), 0)
    nginx_v = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip() if shutil.which(
        "nginx", path=os.environ.get("PATH", "") + ":/usr/sbin") else "nginx not installed"
    wrk_v = (subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines() or [""])[0] \
        if shutil.which("wrk") else "wrk not installed"
    hugo_v = f"hugo {hugo_version(hugo)}" if hugo else "hugo not installed"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit.strip(),
        "dirty": " (with uncommitted changes in the work tree)" if dirty else "",
        "machine": f"`nproc` = {os.cpu_count()}, {cpu}, {mem / 1024 / 1024:.1f} GiB RAM, {platform.system()} "
                   f"{platform.release()}",
        "load": os.getloadavg()[0],
        "versions": f"python {platform.python_version()}; {hugo_v}; {nginx_v}; {wrk_v.split(' Copyright')[0]}",
        "hugo": hugo_v,
        "quick": args.quick,
        "noop": args.noop,
        "corpora": {},
    }


INTRO = """\
# feedd benchmarks

Written by `make bench` (`benchmarks/bench.py`; how it measures is under "How it is measured"). One current
section per corpus size comes first: the latest run of that size, with its commit. When the next run of a size
replaces its section, the old one moves, unchanged, to the top of "History" below (a `--quick` smoke run's
section is dropped instead).

Targets (issue 16), each for the built-in defaults and for `config/feedd.yaml` as shipped: cold build ≤ 0.8×
Hugo on the same YAML files in the same run (stretch: ≤ 1× Hugo on trimmed TOML front matter); warm restart
≤ 5 s in every run; edit → served ≤ 0.2 s median and ≤ 0.5 s p95; no-op rescan ≤ 1 s; peak RSS ≤ 400 MB (of the
cold build and of `feedd run`). Kept from issue 4: 1,000 new files all visible within 10 s, none lost; HTTP 200 and
304 at ≥ 0.1× nginx's requests per second. The targets are for 100k articles; the 10k section shows the same rows.

"""


def commands(args: argparse.Namespace, argv: list[str]) -> list[str]:
    return [
        "## How it is measured",
        "",
        "```sh",
        "make bench   # = .venv/bin/python benchmarks/bench.py $(BENCH_ARGS); defaults: --sizes 10000,100000 --runs 3",
        f"# the last run: {' '.join(shlex.quote(a) for a in ['.venv/bin/python', 'benchmarks/bench.py', *argv])}",
        "# BENCH_ARGS: --sizes 10k,100k  --runs N  --quick (10k, 1 run)  --configs defaults,shipped  --no-hugo",
        "#             --no-wrk  --wrk-seconds S  --noop N  --processes N  --keep  --out FILE",
        "",
        "# corpus (reused when bench/corpus-<N> holds the expected file count)",
        "python ../shared/tools/gen_corpus.py bench/corpus-<N> --count <N> --seed 1",
        "",
        "# Hugo sites, once per size (untimed): bench/hugo-<N>/yaml and bench/hugo-<N>/toml",
        "python benchmarks/hugo_site.py bench/corpus-<N> SITE [--mode toml]",
        "",
        "# each run, for each configuration, a fresh bench/work/<N>-run<k>-<config>/feedd.yaml (CFG):",
        "#   defaults: site: {title: Bench}, defaults: {content: full}",
        "#   shipped:  config/feedd.yaml as shipped",
        "#   both:     site.base_url: 'http://127.0.0.1:<port>/', server.processes: <--processes>,",
        "#             paths: {articles: bench/corpus-<N>, output: <run folder>/public, state: <run folder>/state}",
        ".venv/bin/feedd build -c CFG                 # 1. cold (empty output and state), alternating with:",
        "hugo --source bench/hugo-<N>/yaml --destination <run folder> --cacheDir bench/work/hugo-cache --noBuildLock",
        "hugo --source bench/hugo-<N>/toml --destination <run folder> --cacheDir bench/work/hugo-cache --noBuildLock",
        ".venv/bin/feedd build -c CFG                 # 2. warm restart",
        ".venv/bin/python -c 'b = Builder(load_config(CFG)); b.build(); "
        "[time b.build() for N]'   # 3. no-op rescan",
        ".venv/bin/feedd run -c CFG --port <port>     # 4-7, up until /healthz is 200",
        "#   4. 50 edits: title line replaced, temp file + os.replace; GET the feed every ~2 ms (keep-alive)",
        "#   5. 1,000 new files (topic 'Bench Burst'); GET /healthz until published += 1000 and",
        "#      /feeds/topics/bench-burst.rss is 200; then deleted, and waited for",
        "#   6. VmHWM from /proc/<pid>/status",
        "nginx -p W -c W/nginx.conf -e W/error.log   # contrib/nginx.conf, listen/root replaced, daemon off,",
        "                                            # worker_processes auto, sendfile on, access_log off",
        f"wrk -t2 -c50 -d{WRK_SECONDS}s --latency --timeout 5s URL                         # 7. plain 200",
        f"wrk -t2 -c50 -d{WRK_SECONDS}s --latency --timeout 5s -H 'If-None-Match: <etag>' URL  # 304",
        f"wrk -t2 -c50 -d{WRK_SECONDS}s --latency --timeout 5s -H 'Accept-Encoding: gzip' URL   # gzip",
        "# 8. the newest article's title changed in each Hugo site, then the same hugo command again",
        "# 9. once per size and configuration: benchmarks/phases.py CFG (a cold build's time by stage)",
        "# 10. once per bench: benchmarks/websub_fanout.py (--websub N subscribers; articles/ and bench/corpus-10k)",
        "```",
        "",
        "Notes: wall, CPU (user+sys) and peak RSS of a build come from os.wait4 on the process, as `/usr/bin/time` "
        "reports them: CPU includes the worker processes feedd reaps, peak RSS is that of the largest single "
        "process. A small launcher process (a bare Python) starts the command and calls wait4, because Linux "
        "counts in a process's ru_maxrss what it had before exec, so a direct child of the bench would report "
        "the bench's own size (about 1 GB once it has scanned the 100k corpus) whenever its own is smaller. The "
        "summed RSS of the process tree is sampled every 0.1 s beside it. feedd and nginx are measured "
        "alternately within each run (the order flips from one request kind to the next) so that machine noise hits "
        "both; each uses the ETag it sent itself for the 304 case. Edit → served is the time from the start of the "
        "file write to the first HTTP response of that feed that contains the new title; the edits (50 per run) are "
        "sequential with a 0.25 s pause, half in the 5 largest topic feeds, half in the smallest provider feeds "
        "(one article each), and the corpus files are restored afterwards. The edit and burst scenarios run against "
        "`feedd run` with its file watcher (inotify).",
        "",
        "Hugo (Debian's 0.111) gets the same corpus, written by `benchmarks/hugo_site.py` (untimed) as one "
        "`content/posts/<file>.md` per article: either the article's YAML front matter as written plus `date`, "
        "`providers` and `categories` lines, or trimmed TOML front matter (title, date, draft, topics, providers, "
        "categories); the body is the matching full-text file's text (30% of the articles have one; the rest have "
        "none). The config has the taxonomies topics, providers and categories and renders RSS only, for the terms "
        "and the home page (feedd's `all`), with 50 items (`rssLimit`, feedd's `defaults.limit`); regular pages "
        "are never rendered (`_build.render: link`), the section, taxonomy-list, sitemap, robots.txt and 404 "
        "pages are disabled. Hugo's embedded RSS template puts each item's summary (the first 70 words of its "
        "body, rendered from Markdown) in `description`; feedd writes RSS, Atom and JSON Feed with full texts, "
        "an HTML preview per feed and a `.gz` sibling of every file, so it writes far more than Hugo does. Hugo "
        "reads `published: false` as a draft (an undocumented alias of `draft`) and skips it, as feedd withholds "
        "it; at 10k, Hugo's home, `topics/ai` and `categories/news` feeds list the same 50 articles in the same "
        "order as feedd's `all`, `topics/ai` and `categories/news`, and both write one feed per topic, provider and "
        "category (494 at 10k, 2,304 at 100k; Hugo's term URLs keep non-ASCII letters, feedd's are ASCII slugs). "
        "Hugo keeps no build state between runs (`--cacheDir` holds processed images and modules, none here), so "
        "its second build after an edit is another full build; it uses both cores (Go), and needs about 5 GB at "
        "100k on the YAML site, 3 GB on the TOML one.",
        "",
    ]


# A provisional section (a --quick smoke run) is dropped when the next run of its size replaces it; any other
# moves to the history.
CURRENT = re.compile(r"<!-- bench:current (\S+)( provisional)? -->\n(.*?)<!-- /bench:current \1 -->\n?", re.S)
HISTORY = "<!-- bench:history -->"


def demote(text: str) -> str:
    """Every Markdown heading one level down (outside code fences): a section moving under "## History"."""
    out, fence = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and re.match(r"#{1,5} ", line):
            line = "#" + line
        out.append(line)
    return "\n".join(out)


def size_of(lbl: str) -> float:
    """The order of the current sections: by corpus size, the WebSub fan-out last."""
    if not re.fullmatch(r"\d+k?", lbl):
        return float("inf")
    return int(lbl[:-1]) * 1000 if lbl.endswith("k") else int(lbl)


def phases_lines(n: int, corpus: Path, configs: list[str], processes: int) -> list[str]:
    """Where a cold build's time goes, per configuration: benchmarks/phases.py, one more cold build after the
    runs (issue 16: parse / render / publish, CPU per file and per item)."""
    lines = []
    for config in configs:
        work = WORK / f"{label(n)}-phases-{config}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        cfg, _ = write_config(work, corpus, free_port(), processes, config)
        log(f"{label(n)} {config}: where a cold build's time goes (benchmarks/phases.py)")
        done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "phases.py"), str(cfg), "--work", str(work)],
                              capture_output=True, text=True, timeout=BUILD_TIMEOUT)
        shutil.rmtree(work, ignore_errors=True)
        if done.returncode:
            raise BenchFailure(f"phases.py failed: {done.stderr.strip().splitlines()[-1:]}")
        lines += [f"Where a cold build's time goes, {CONFIGS[config]} (`benchmarks/phases.py`: one more cold build "
                  "in one process, after the runs):", "", done.stdout.strip(), ""]
    return lines


def websub_section(subscribers: int, edits: int, env: dict, failures: list[str]) -> list[str]:
    """Issue 15's figure: `feedd run` as the WebSub hub of all.rss with N loopback subscribers, on the sample
    articles and on the 10k corpus (a larger feed), timed from each edit to the N-th delivery."""
    lines = [f"## WebSub fan-out: {env['date']}, commit `{env['commit']}`{env['dirty']}", "",
             "`benchmarks/websub_fanout.py`: the real `feedd run` with `websub.builtin: true`, N subscribers of "
             "`all.rss` on one loopback server; each edit is a title change (temp file + rename). Every subscriber "
             "must get each change exactly once, with a valid `X-Hub-Signature` and the bytes the server serves.", "",
             "| articles | feed size | subscribers | edits | edit → last delivery, median | min–max "
             "| subscribe + verify all |",
             "|---|---|---|---|---|---|---|"]
    for name, source in (("sample `articles/`", ROOT / "articles"), ("10k corpus", ensure_corpus(10000))):
        log(f"WebSub fan-out: {subscribers} subscribers, {edits} edits, {name}")
        try:
            r = websub_fanout(subscribers, edits, source)
        except SystemExit as exc:
            log(f"  FAILED: {exc}")
            failures.append(f"WebSub fan-out ({name}): {exc}")
            lines.append(f"| {name} | | {subscribers} | {edits} | failed: {exc} | | |")
            continue
        t = r["times"]
        log(f"  edit → last delivery median {statistics.median(t):.2f}s")
        lines.append(f"| {name} | {r['bytes'] / 1024:.0f} KB | {subscribers:,} | {len(t)} | "
                     f"{statistics.median(t):.2f} s | {min(t):.2f}–{max(t):.2f} s | {r['verified']:.1f} s |")
    return lines + [""]


def update_report(old: str, blocks: dict[str, list[str]], how: list[str], provisional: bool = False) -> str:
    """The new report: INTRO, the current section of every size (this run's replace theirs), how it is
    measured, then the history, with the replaced sections on top (unless they were provisional). A file in an
    older layout (no markers) becomes history as a whole."""
    current = {m.group(1): (m.group(3).strip("\n"), bool(m.group(2))) for m in CURRENT.finditer(old)}
    if HISTORY in old:
        history = old.split(HISTORY, 1)[1].strip("\n")
    elif old.strip() and not current:
        history = demote(old.strip())
    else:
        history = ""
    moved = [demote(current[lbl][0]) for lbl in blocks if lbl in current and not current[lbl][1]]
    current.update({lbl: ("\n".join(lines).strip("\n"), provisional) for lbl, lines in blocks.items()})
    parts = [INTRO]
    for lbl in sorted(current, key=size_of):
        text, prov = current[lbl]
        parts.append(f"<!-- bench:current {lbl}{' provisional' if prov else ''} -->\n{text}\n"
                     f"<!-- /bench:current {lbl} -->\n\n")
    parts.append("\n".join(how) + "\n")
    parts.append("## History\n\n" + HISTORY + "\n\n" + "\n\n".join(moved + ([history] if history else [])) + "\n")
    return "".join(parts)


def main() -> int:
    global WRK_SECONDS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="corpus sizes, comma-separated (default 10000,100000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per size (default 3)")
    ap.add_argument("--quick", action="store_true", help="10k only, 1 run: a smoke test")
    ap.add_argument("--out", default="BENCHMARKS.md", help="report file to update (default BENCHMARKS.md, in the "
                    "repo root): this run's sections replace the current ones of their sizes, which move to history")
    ap.add_argument("--configs", default=",".join(CONFIGS),
                    help=f"feedd configurations, comma-separated (default {','.join(CONFIGS)})")
    ap.add_argument("--no-hugo", dest="hugo", action="store_false", help="skip the Hugo builds")
    ap.add_argument("--noop", type=int, help="no-op rescans timed per run (default: --runs)")
    ap.add_argument("--wrk-seconds", type=int, default=10, help="duration of each wrk run (default 10)")
    ap.add_argument("--no-wrk", dest="wrk", action="store_false", help="skip the HTTP scenario")
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                    help="server.processes of `feedd run` (default: one per core)")
    ap.add_argument("--keep", action="store_true", help="keep bench/work/<N>-run<k>-* and bench/hugo-<N>")
    ap.add_argument("--no-phases", dest="phases", action="store_false",
                    help="skip the breakdown of a cold build by stage (benchmarks/phases.py)")
    ap.add_argument("--websub", type=int, default=1000, metavar="N",
                    help="subscribers in the WebSub fan-out scenario (default 1000; 0 skips it)")
    argv = sys.argv[1:]
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.runs = "10000", 1
    args.noop = args.noop or args.runs
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    if not args.configs or any(c not in CONFIGS for c in args.configs):
        ap.error(f"--configs takes {', '.join(CONFIGS)}")
    WRK_SECONDS = args.wrk_seconds
    sizes = [int(s.replace("_", "").lower().replace("k", "000")) for s in args.sizes.split(",") if s.strip()]
    if args.wrk and not shutil.which("wrk"):
        print("wrk is not installed (Debian: apt-get install wrk): the HTTP scenario is skipped", file=sys.stderr)
        args.wrk = False
    if args.wrk and not CONTRIB_NGINX.exists():
        print(f"{CONTRIB_NGINX} does not exist: the HTTP scenario is skipped", file=sys.stderr)
        args.wrk = False
    hugo = ensure_hugo() if args.hugo else None
    if args.hugo and not hugo:
        print("hugo is not installed and `apt-get install hugo` did not work: the Hugo rows are skipped",
              file=sys.stderr)
    out = Path(args.out)
    out = out if out.is_absolute() else ROOT / out
    WORK.mkdir(parents=True, exist_ok=True)
    logs = WORK / f"logs-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    logs.mkdir()
    log(f"logs in {logs}")

    env = environment(args, hugo)
    blocks: dict[str, list[str]] = {}
    missed: list[str] = []
    failures: list[str] = []
    raw: dict = {}
    for n in sizes:
        corpus = ensure_corpus(n)
        t = time.perf_counter()
        cmap = scan_corpus(corpus)
        log(f"scanned {len(cmap.by_url)} articles in {time.perf_counter() - t:.1f}s")
        files = sum(1 for p in corpus.iterdir() if p.is_file())
        env["corpora"][label(n)] = f"`bench/corpus-{label(n)}` ({files:,} files, gen_corpus.py --seed 1)"
        sites = None
        if hugo:
            try:
                sites = prepare_hugo(hugo, corpus, n)
            except BenchFailure as exc:
                log(f"Hugo skipped: {exc}")
                failures.append(f"{label(n)} Hugo sites: {exc}")
        runs = []
        for k in range(1, args.runs + 1):
            try:
                runs.append(one_run(n, corpus, cmap, k, args, logs, sites))
            except BenchFailure as exc:
                log(f"{label(n)} run {k} FAILED: {exc}")
                failures.append(f"{label(n)} run {k}: {exc}")
                runs.append({"errors": [str(exc)]})
            finally:
                _recover(corpus)
        if sites and not args.keep:
            shutil.rmtree(sites.sites["yaml"].parent, ignore_errors=True)
        raw[label(n)] = runs
        blocks[label(n)], size_missed = report_size(n, runs, args.configs, env)
        if args.phases:
            try:
                blocks[label(n)] += phases_lines(n, corpus, args.configs, args.processes)
            except (BenchFailure, subprocess.TimeoutExpired) as exc:
                failures.append(f"{label(n)} phases: {exc}")
        missed += size_missed
        (logs / "raw.json").write_text(json.dumps(raw, indent=1, default=str), encoding="utf-8")
        if not args.wrk:
            blocks[label(n)].append("HTTP scenario skipped (wrk or contrib/nginx.conf missing, or --no-wrk).\n")
    if args.websub:
        blocks["websub"] = websub_section(args.websub, 2 if args.quick else 5, env, failures)
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    out.write_text(update_report(old, blocks, commands(args, argv), provisional=args.quick), encoding="utf-8")
    log(f"wrote {out}")
    for lines in blocks.values():
        print("\n".join(lines))
    print("Targets: " + ("all met." if not missed and not failures else "missed: " + "; ".join(missed + failures)))
    if failures:
        print("\nFAILED:\n" + "\n".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
