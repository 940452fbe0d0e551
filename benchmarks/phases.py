#!/usr/bin/env python3
"""Where a cold build's time goes (issue 16): one `Builder.build()` on empty output and state, in one process,
with its stages timed, wall and CPU (feedd's own process and its worker processes apart).

    .venv/bin/python benchmarks/phases.py CONFIG [--articles DIR] [--work DIR]

CONFIG is a feedd config (its paths.output and paths.state are replaced by fresh folders under --work, which
is removed afterwards). Prints a Markdown table. The stages:

- load:    ArticleIndex.refresh, every file listed, parsed (in the worker processes) and stored;
- select:  what lies between: membership, ranking, retention, fingerprints, the list of feeds to render;
- render + publish: the two overlap (the workers render the next feeds while feedd writes a batch), so they
  are one span, with feedd's wall time inside it split into publishing (atomic writes, .gz, the record of
  what is published, index pages) and the rest (reading the articles for each feed, dispatching, waiting).

CPU of a worker process is read from /proc while it lives and from os.times() once it is reaped.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import process_tree  # noqa: E402
from feedd.config import load_config  # noqa: E402
from feedd.feeds import jobs  # noqa: E402
from feedd.ingest.index import ArticleIndex  # noqa: E402
from feedd.pipeline import Builder  # noqa: E402
from feedd.publish.published import Published  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu() -> tuple[float, float]:
    """(this process, its worker processes) CPU seconds so far, user + sys."""
    t = os.times()
    workers = t.children_user + t.children_system
    for pid in process_tree(os.getpid())[1:]:  # the worker processes alive now
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        workers += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return t.user + t.system, workers


class Clock:
    """Wall and CPU spent inside the wrapped calls, per stage."""

    def __init__(self) -> None:
        self.spent: dict[str, list[float]] = {}

    def add(self, stage: str, wall: float, own: float, workers: float) -> None:
        row = self.spent.setdefault(stage, [0.0, 0.0, 0.0])
        row[0] += wall
        row[1] += own
        row[2] += workers

    def wrap(self, owner: object, name: str, stage: str) -> None:
        inner = getattr(owner, name)

        def timed(*args, **kwargs):
            w, (o, k) = time.perf_counter(), cpu()
            try:
                return inner(*args, **kwargs)
            finally:
                o2, k2 = cpu()
                self.add(stage, time.perf_counter() - w, o2 - o, k2 - k)

        setattr(owner, name, timed)


def shown(path: Path) -> str:
    """A path as the report shows it: relative to the repository when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", type=Path)
    ap.add_argument("--articles", type=Path, help="the articles folder (default: the config's)")
    ap.add_argument("--work", type=Path, help="where the output and state go (default: a temporary folder)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="feedd-phases-", dir=args.work))
    overrides = {"paths.output": str(work / "public"), "paths.state": str(work / "state")}
    if args.articles:
        overrides["paths.articles"] = str(args.articles)
    config = load_config(args.config, **overrides)
    clock = Clock()
    clock.wrap(ArticleIndex, "refresh", "load")
    clock.wrap(Published, "write", "write")  # inside the render span
    for name in ("prepare", "unpublish", "record_retained", "publish_pages"):  # before or after it
        clock.wrap(Published, name, "around")
    render = jobs.render

    def rendered(*args, **kwargs):  # the span from the first feed dispatched to the last written
        w, (o, k) = time.perf_counter(), cpu()
        yield from render(*args, **kwargs)
        o2, k2 = cpu()
        clock.add("render + publish", time.perf_counter() - w, o2 - o, k2 - k)

    jobs.render = rendered
    try:
        builder = Builder(config)
        wall0, (own0, workers0) = time.perf_counter(), cpu()
        report = builder.build()
        own1, workers1 = cpu()
        total = (time.perf_counter() - wall0, own1 - own0, workers1 - workers0)
        builder.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    files = sum(1 for p in config.paths.articles.iterdir() if p.is_file())
    items = sum(s.count * len(s.spec.settings.formats) for s in report.summaries)
    zero = [0.0, 0.0, 0.0]
    load, span = clock.spent["load"], clock.spent.get("render + publish", zero)
    write, around = clock.spent.get("write", zero), clock.spent.get("around", zero)
    select = [t - a - b - c for t, a, b, c in zip(total, load, span, around, strict=True)]
    inside = [s - w for s, w in zip(span, write, strict=True)]
    publish = [w + a for w, a in zip(write, around, strict=True)]
    print(f"{len(report.written)} files written, {len(report.summaries)} feeds, {files} article files, "
          f"{items} items × formats rendered; `{shown(config.paths.articles)}`")
    print()
    print("| stage | wall | CPU, feedd's process | CPU, worker processes | per unit (all CPU) |")
    print("|---|---|---|---|---|")

    def row(name: str, r: list[float], unit: str = "") -> None:
        print(f"| {name} | {r[0]:.1f} s | {r[1]:.1f} s | {r[2]:.1f} s | {unit} |")

    row("load: list, parse, store", load, f"{(load[1] + load[2]) / max(files, 1) * 1e6:.0f} µs per file")
    row("select: membership, ranking, what to render", select)
    row("render (feedd's share: reading articles, dispatch, waiting)", inside,
        f"{(inside[1] + inside[2]) / max(items, 1) * 1e6:.0f} µs per item and format")
    row("publish: writes, .gz, the record, index pages", publish)
    row("**total**", list(total), f"{total[0]:.1f} s wall, {total[1] + total[2]:.1f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
