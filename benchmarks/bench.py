#!/usr/bin/env python3
"""feedd benchmark suite (issue 4): `make bench` writes BENCHMARKS.md.

    .venv/bin/python benchmarks/bench.py [--sizes 10000,100000] [--runs 3] [--quick] [--out BENCHMARKS.md]

Per corpus size (bench/corpus-<N>, generated with ../shared/tools/gen_corpus.py --seed 1 when missing or
incomplete), each run gets a fresh config and empty output/state folders under bench/work/, then measures:

1. cold build          `feedd build -c CFG` with empty output and state (wall time of the process)
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

The machine is shared and noisy: every figure is a median over several samples, with min-max. Only the
standard library and the project's venv; loopback only; every wait is bounded. The corpus is restored after
the edit and burst scenarios (also after a crash: see _recover()).
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
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
WORK = BENCH / "work"
GEN = ROOT.parent / "shared" / "tools" / "gen_corpus.py"
PY = Path(sys.executable)
FEEDD = PY.parent / "feedd"
CONTRIB_NGINX = ROOT / "contrib" / "nginx.conf"
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
_TOPICS = re.compile(r"^topics:[ \t]*\n((?:[ \t]+-[^\n]*\n)+)", re.M)
_PROVIDER = re.compile(r"^provider:[ \t]*\n(?:[ \t]+[^\n]*\n)*?[ \t]+name:\s*(.+?)\s*$", re.M)


def _scalar(raw: str) -> str:
    raw = raw.strip()
    if raw.startswith('"'):
        try:
            return json.loads(raw)
        except ValueError:
            return raw.strip('"')
    if raw.startswith("'"):
        return raw[1:-1].replace("''", "'")
    return raw


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
            by_url[_scalar(m.group(1))] = path.name
        if not template and "\npublished: true" in head and "\nampWebUrl:" in head:
            template = head + "\n---\n"
        t = _TOPICS.search(head)
        if t:
            for line in t.group(1).splitlines():
                name = _scalar(line.strip()[1:])
                topics[name] = topics.get(name, 0) + 1
        p = _PROVIDER.search(head)
        if p:
            name = _scalar(p.group(1))
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
        """A /proc/<pid>/status value in kB (VmHWM, VmRSS)."""
        try:
            for line in Path(f"/proc/{pid or self.proc.pid}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def children(self) -> list[int]:
        pids = []
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*"):
            try:
                pids += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                pass
        return pids

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
            if count == base + BURST and poller.get(feed)[0] == 200:
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
            if count == base and poller.get(feed)[0] == 404:
                result["removed_s"] = time.perf_counter() - t1
                break
            time.sleep(0.01)
        poller.close()
    if "removed_s" not in result:
        raise BenchFailure(f"1,000 files removed: after {BURST_TIMEOUT:.0f}s the published count is {count}, "
                           f"expected {base} again")
    return result


# -- one run -------------------------------------------------------------------------------------------------
def write_config(work: Path, corpus: Path, port: int, processes: int) -> Path:
    cfg = work / "feedd.yaml"
    cfg.write_text(
        "site:\n  title: Bench\n"
        f"  base_url: 'http://127.0.0.1:{port}/'\n"
        f"paths:\n  articles: {str(corpus)!r}\n  output: {str(work / 'public')!r}\n  state: {str(work / 'state')!r}\n"
        "defaults: {content: full}\n"
        f"server: {{processes: {processes}}}\n",
        encoding="utf-8",
    )
    return cfg


def one_run(n: int, corpus: Path, cmap: CorpusMap, k: int, args: argparse.Namespace, logs: Path) -> dict:
    work = WORK / f"{label(n)}-run{k}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    port = free_port()
    cfg = write_config(work, corpus, port, args.processes)
    res: dict = {"errors": [], "processes": args.processes}

    log(f"{label(n)} run {k}: cold build")
    took, proc = run_cmd([str(FEEDD), "build", "-c", str(cfg)], timeout=1800)
    (logs / f"{label(n)}-run{k}-cold.log").write_text(proc.stdout + proc.stderr, errors="replace")
    if proc.returncode != 0:
        raise BenchFailure(f"cold build exited {proc.returncode}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    res["cold"] = took
    res["build_summary"] = proc.stdout.strip()
    log(f"  cold build {took:.2f}s")

    log(f"{label(n)} run {k}: warm restart")
    took, proc = run_cmd([str(FEEDD), "build", "-c", str(cfg)], timeout=1800)
    (logs / f"{label(n)}-run{k}-warm.log").write_text(proc.stdout + proc.stderr, errors="replace")
    if proc.returncode != 0:
        raise BenchFailure(f"warm build exited {proc.returncode}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    res["warm"] = took
    res["warm_summary"] = proc.stdout.strip()
    log(f"  warm restart {took:.2f}s")

    log(f"{label(n)} run {k}: no-op rescan ×{args.noop}")
    took, proc = run_cmd([str(PY), "-c", NOOP_SCRIPT, str(cfg), str(args.noop)], timeout=1800)
    if proc.returncode != 0:
        raise BenchFailure(f"no-op rescan failed:\n{proc.stderr[-3000:]}")
    noop = json.loads(proc.stdout.strip().splitlines()[-1])
    res["noop"] = noop["times"]
    res["noop_first"] = noop["first"]
    if any(noop["written"]):
        res["errors"].append(f"no-op rescan wrote/removed files: {noop['written']}")
    log(f"  no-op rescan {', '.join(f'{t:.3f}' for t in noop['times'])}s (first build in process {noop['first']:.2f}s)")

    log(f"{label(n)} run {k}: feedd run")
    run = FeeddRun(cfg, port, logs / f"{label(n)}-run{k}-feedd-run.log")
    res["startup"] = run.startup
    log(f"  /healthz 200 after {run.startup:.2f}s")
    try:
        run.settle(quiet=1.0, timeout=300)
        log(f"{label(n)} run {k}: {EDITS} edits")
        edits = scenario_edits(run, corpus, work / "public", cmap, "Bench", seed=1000 * n + k)
        res["edits"] = edits["latencies"]
        res["edits_lost"] = edits["lost"]
        res["edits_kinds"] = edits["kinds"]
        if edits["latencies"]:
            log(f"  edit→served median {statistics.median(edits['latencies']):.3f}s "
                f"p95 {percentile(edits['latencies'], 95):.3f}s, lost {len(edits['lost'])}")
        if edits["lost"]:
            res["errors"].append(f"{len(edits['lost'])} edit(s) never served: {edits['lost'][:5]}")

        log(f"{label(n)} run {k}: {BURST} files burst")
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
                res["http"] = http_scenario(run, work, args.wrk_seconds, k)
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
        text = (logs / f"{label(n)}-run{k}-feedd-run.log").read_text(errors="replace")
        if "Traceback" in text:
            res["errors"].append(f"traceback in {logs / f'{label(n)}-run{k}-feedd-run.log'}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
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
        return f"{v:.0f} MB"
    if unit == "req/s":
        return f"{v:,.0f}"
    if unit == "ms":
        return f"{v:.2f} ms" if v < 100 else f"{v:.0f} ms"
    if unit == "x":
        return f"{v:.2f}×"
    return f"{v:g}"


def row(name: str, values: list[float], unit: str, runs: str, target: tuple[str, str, float] | None,
        value: float | None = None) -> tuple[str, bool | None]:
    if not values:
        return f"| {name} | n/a | n/a | {runs or 0} | {target[0] + ': not measured' if target else ''} |", None
    runs = runs or str(len(values))
    med = statistics.median(values) if value is None else value
    rng = f"{fmt(min(values), unit)} – {fmt(max(values), unit)}"
    met = None
    cell = ""
    if target:
        text, op, limit = target
        met = med <= limit if op == "<=" else med >= limit
        cell = f"{text}: {'met' if met else '**missed**'}"
    return f"| {name} | {fmt(med, unit)} | {rng} | {runs} | {cell} |", met


def args_noop(runs: list[dict]) -> int:
    return max((len(x.get("noop", [])) for x in runs), default=0)


def report_size(n: int, runs: list[dict]) -> tuple[list[str], list[str]]:
    lines, missed = [], []

    def collect(key: str) -> list[float]:
        return [x[key] for x in runs if x.get(key) is not None]

    rows = []
    rows.append(row("cold build (`feedd build`, empty output and state)", collect("cold"), "s", "",
                    ("≤ 15 s", "<=", 15)))
    rows.append(row("warm restart (`feedd build` again, nothing changed)", collect("warm"), "s", "",
                    ("≤ 5 s", "<=", 5)))
    noop = [t for x in runs for t in x.get("noop", [])]
    rows.append(row("no-op rescan (`Builder.build()` in one process)", noop, "s",
                    f"{len([x for x in runs if x.get('noop')])} × {args_noop(runs)}", ("≤ 1 s", "<=", 1)))
    edits = [t for x in runs for t in x.get("edits", [])]
    p95s = [percentile(x["edits"], 95) for x in runs if x.get("edits")]
    lost = sum(len(x.get("edits_lost", [])) for x in runs)
    n_edits = f"{len(p95s)} runs, {len(edits) + lost} edits"
    rows.append(row(f"edit → served, median ({lost} of {len(edits) + lost} lost)", edits, "s", n_edits,
                    ("≤ 0.2 s", "<=", 0.2)))
    p95_row = row("edit → served, p95 (min–max: per-run p95)", p95s, "s", n_edits,
                  ("≤ 0.5 s", "<=", 0.5), value=percentile(edits, 95) if edits else None)
    rows.append(p95_row)
    for kind, what in (("topics", "5 largest topic feeds"), ("providers", "small provider feeds")):
        values = [t for x in runs for t in x.get("edits_kinds", {}).get(kind, [])]
        if values:
            rows.append(row(f"edit → served, median, {what} only (info)", values, "s", f"{len(values)} edits", None))
    burst = collect("burst")
    failed = sum(1 for x in runs if x.get("burst_failed"))
    name = "1,000 files added → all visible" + (f" (**{failed} run(s) failed**)" if failed else ", none lost")
    b_row = row(name, burst, "s", "", ("≤ 10 s, none lost", "<=", 10))
    if failed:
        b_row = (b_row[0].replace(": met |", ": **missed** |"), False)
    rows.append(b_row)
    rows.append(row("1,000 files removed → all gone (info)", collect("burst_removed"), "s", "", None))
    rss = [x["rss_kb"] * 1024 / 1e6 for x in runs if x.get("rss_kb")]
    rows.append(row("peak RSS of `feedd run` (VmHWM, main process)", rss, "MB", "", ("≤ 400 MB", "<=", 400)))
    child = [x["children_rss_kb"] * 1024 / 1e6 for x in runs if x.get("children_rss_kb")]
    if child:
        rows.append(row("peak RSS of its child processes, summed (info)", child, "MB", "", None))
    rows.append(row("`feedd run` start → /healthz 200 (info)", collect("startup"), "s", "", None))
    http_runs = [x["http"] for x in runs if x.get("http")]
    for mode, title in (("200", "200"), ("304", "304 (If-None-Match)"), ("gzip", "gzip")):
        ratios = [h["modes"][mode]["feedd"]["rps"] / h["modes"][mode]["nginx"]["rps"] for h in http_runs]
        target = ("≥ 0.1× nginx", ">=", 0.1) if mode in ("200", "304") else None
        rows.append(row(f"HTTP {title}: feedd / nginx req/s", ratios, "x", str(len(http_runs)), target))
    lines.append(f"### {label(n)} articles\n")
    lines.append("| scenario | median | min–max | runs | target |")
    lines.append("|---|---|---|---|---|")
    for text, met in rows:
        lines.append(text)
        if met is False:
            missed.append(f"{label(n)}: {text.split('|')[1].strip()}")
    if http_runs:
        h0 = http_runs[0]
        lines.append("")
        lines.append(f"HTTP side by side (wrk -t2 -c50 --latency, {WRK_SECONDS} s each; `feedd run` with "
                     f"`server.processes: {runs[0].get('processes', 1)}`; `{h0['feed']}`, "
                     f"{h0['bytes']:,} bytes; median of {len(http_runs)} run(s), min–max in brackets):\n")
        lines.append("| request | feedd req/s | nginx req/s | feedd/nginx | feedd p99 | nginx p99 |")
        lines.append("|---|---|---|---|---|---|")
        for mode in ("200", "304", "gzip"):
            cells = []
            for server in ("feedd", "nginx"):
                v = [h["modes"][mode][server]["rps"] for h in http_runs]
                flag = " †" if any(h["modes"][mode][server].get("anomaly") for h in http_runs) else ""
                cells.append(f"{fmt(statistics.median(v), 'req/s')} ({fmt(min(v), 'req/s')}–{fmt(max(v), 'req/s')})"
                             + flag)
            ratios = [h["modes"][mode]["feedd"]["rps"] / h["modes"][mode]["nginx"]["rps"] for h in http_runs]
            cells.append(fmt(statistics.median(ratios), "x"))
            for server in ("feedd", "nginx"):
                v = [h["modes"][mode][server]["p99_ms"] for h in http_runs]
                cells.append(f"{fmt(statistics.median(v), 'ms')} ({fmt(min(v), 'ms')}–{fmt(max(v), 'ms')})")
            lines.append(f"| {mode} | " + " | ".join(cells) + " |")
        bad = [f"{m} {s}: {h['modes'][m][s]['non2xx']} non-2xx/3xx" for h in http_runs for m in h["modes"]
               for s in h["modes"][m] if h["modes"][m][s]["non2xx"]]
        errs = [f"{m} {s}: socket errors {h['modes'][m][s]['socket_errors']}" for h in http_runs for m in h["modes"]
                for s in h["modes"][m] if h["modes"][m][s]["socket_errors"]]
        if any(r.get("anomaly") for h in http_runs for m in h["modes"].values() for r in m.values()):
            lines.append("\n† at least one run got a wrong response for this request (see Problems seen); "
                         "measured anyway.")
        for b in bad + errs:
            lines.append(f"\n- {b}")
    summary = runs[0].get("build_summary", "")
    if summary:
        lines.append("\nFirst cold build's summary:\n\n```\n" + summary + "\n```")
    errors = [e for x in runs for e in x.get("errors", [])]
    if errors:
        lines.append("\nProblems seen:\n")
        lines += [f"- {e}" for e in errors]
    lines.append("")
    return lines, missed


WRK_SECONDS = 10


def header(args: argparse.Namespace, argv: list[str]) -> list[str]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.machine())
    mem = next((int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                if ln.startswith("MemTotal")), 0)
    nginx_v = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip() if shutil.which(
        "nginx", path=os.environ.get("PATH", "") + ":/usr/sbin") else "not installed"
    wrk_v = (subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines() or [""])[0] \
        if shutil.which("wrk") else "not installed"
    return [
        "# feedd benchmarks",
        "",
        "Written by `make bench` (`benchmarks/bench.py`); issue 4's targets are in the tables."
        + (" **Quick smoke run (`--quick`): one run, 10k only — not for comparisons.**" if args.quick else ""),
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- commit: `{commit.strip()}`" + (" (with uncommitted changes in the work tree)" if dirty else ""),
        f"- machine: `nproc` = {os.cpu_count()}, {cpu}, {mem / 1024 / 1024:.1f} GiB RAM, {platform.system()} "
        f"{platform.release()}; load average at start {os.getloadavg()[0]:.2f} (shared, noisy machine)",
        f"- python {platform.python_version()}; {nginx_v}; {wrk_v.split(' Copyright')[0]}",
        f"- runs per size: {args.runs}; every figure is the median over all samples, min–max beside it",
        "",
    ]


def commands(args: argparse.Namespace, argv: list[str]) -> list[str]:
    return [
        "## Commands",
        "",
        "```sh",
        "make bench   # = .venv/bin/python benchmarks/bench.py",
        f"# this report: {' '.join(shlex.quote(a) for a in ['.venv/bin/python', 'benchmarks/bench.py', *argv])}",
        "",
        "# corpus (reused when bench/corpus-<N> holds the expected file count)",
        "python ../shared/tools/gen_corpus.py bench/corpus-<N> --count <N> --seed 1",
        "",
        "# each run: a fresh bench/work/<N>-run<k>/feedd.yaml (CFG):",
        "#   site: {title: Bench, base_url: 'http://127.0.0.1:<port>/'}",
        "#   paths: {articles: bench/corpus-<N>, output: bench/work/<N>-run<k>/public, state: .../state}",
        "#   defaults: {content: full}",
        ".venv/bin/feedd build -c CFG                                   # 1. cold (empty output and state)",
        ".venv/bin/feedd build -c CFG                                   # 2. warm restart",
        ".venv/bin/python -c 'b = Builder(load_config(CFG)); b.build(); "
        "[time b.build() for N]'   # 3. no-op rescan",
        ".venv/bin/feedd run -c CFG --port <port>                       # 4-7, up until /healthz is 200",
        "#   4. 50 edits: title line replaced, temp file + os.replace; GET the feed every ~2 ms (keep-alive)",
        "#   5. 1,000 new files (topic 'Bench Burst'); GET /healthz until published += 1000 and",
        "#      /feeds/topics/bench-burst.rss is 200; then deleted, and waited for",
        "#   6. VmHWM from /proc/<pid>/status",
        "nginx -p W -c W/nginx.conf -e W/error.log   # contrib/nginx.conf, listen/root replaced, daemon off,",
        "                                            # worker_processes auto, sendfile on, access_log off",
        f"wrk -t2 -c50 -d{WRK_SECONDS}s --latency --timeout 5s URL                         # 7. plain 200",
        f"wrk -t2 -c50 -d{WRK_SECONDS}s --latency --timeout 5s -H 'If-None-Match: <etag>' URL  # 304",
        f"wrk -t2 -c50 -d{WRK_SECONDS}s --latency --timeout 5s -H 'Accept-Encoding: gzip' URL   # gzip",
        "```",
        "",
        "Notes: feedd and nginx are measured alternately within each run (the order flips from one request kind "
        "to the next) so that machine noise hits both; each uses the ETag it sent itself for the 304 case. "
        "Edit → served is the time from the start of the file write to the first HTTP response of that feed that "
        "contains the new title; the edits (50 per run) are sequential with a 0.25 s pause, half in the 5 largest "
        "topic feeds, half in the smallest provider feeds (one article each), and the corpus files are restored "
        "afterwards. "
        "The edit and burst scenarios run against `feedd run` with its file watcher (inotify).",
        "",
    ]


def main() -> int:
    global WRK_SECONDS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="corpus sizes, comma-separated (default 10000,100000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per size (default 3)")
    ap.add_argument("--quick", action="store_true", help="10k only, 1 run: a smoke test")
    ap.add_argument("--out", default="BENCHMARKS.md", help="report file (default BENCHMARKS.md, in the repo root)")
    ap.add_argument("--noop", type=int, help="no-op rescans timed per run (default: --runs)")
    ap.add_argument("--wrk-seconds", type=int, default=10, help="duration of each wrk run (default 10)")
    ap.add_argument("--no-wrk", dest="wrk", action="store_false", help="skip the HTTP scenario")
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                    help="server.processes of `feedd run` (default: one per core)")
    ap.add_argument("--keep", action="store_true", help="keep bench/work/<N>-run<k> (output and state)")
    argv = sys.argv[1:]
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.runs = "10000", 1
    args.noop = args.noop or args.runs
    WRK_SECONDS = args.wrk_seconds
    sizes = [int(s.replace("_", "").lower().replace("k", "000")) for s in args.sizes.split(",") if s.strip()]
    if args.wrk and not shutil.which("wrk"):
        print("wrk is not installed (Debian: apt-get install wrk): the HTTP scenario is skipped", file=sys.stderr)
        args.wrk = False
    if args.wrk and not CONTRIB_NGINX.exists():
        print(f"{CONTRIB_NGINX} does not exist: the HTTP scenario is skipped", file=sys.stderr)
        args.wrk = False
    out = Path(args.out)
    out = out if out.is_absolute() else ROOT / out
    WORK.mkdir(parents=True, exist_ok=True)
    logs = WORK / f"logs-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    logs.mkdir()
    log(f"logs in {logs}")

    lines = header(args, argv)
    missed: list[str] = []
    failures: list[str] = []
    raw: dict = {}
    for n in sizes:
        corpus = ensure_corpus(n)
        t = time.perf_counter()
        cmap = scan_corpus(corpus)
        log(f"scanned {len(cmap.by_url)} articles in {time.perf_counter() - t:.1f}s")
        runs = []
        for k in range(1, args.runs + 1):
            try:
                runs.append(one_run(n, corpus, cmap, k, args, logs))
            except BenchFailure as exc:
                log(f"{label(n)} run {k} FAILED: {exc}")
                failures.append(f"{label(n)} run {k}: {exc}")
                runs.append({"errors": [str(exc)]})
            finally:
                _recover(corpus)
        raw[label(n)] = runs
        size_lines, size_missed = report_size(n, runs)
        lines += size_lines
        missed += size_missed
        (logs / "raw.json").write_text(json.dumps(raw, indent=1, default=str), encoding="utf-8")
    if not args.wrk:
        lines.append("HTTP scenario skipped (wrk or contrib/nginx.conf missing, or --no-wrk).\n")
    lines.append("## Targets\n")
    lines.append("All met." if not missed and not failures else "Missed: " + "; ".join(missed + failures) + ".")
    lines.append("")
    lines += commands(args, argv)
    out.write_text("\n".join(lines), encoding="utf-8")
    log(f"wrote {out}")
    print("\n".join(lines))
    if failures:
        print("\nFAILED:\n" + "\n".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
