"""Incremental builds give exactly what a full build gives, and touch nothing else."""

from __future__ import annotations

import heapq
import importlib
import os
import shutil
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from feedd.ingest import parse
from feedd.pipeline import Builder, build
from tests.helpers import NOW, make_config, no_retention, write_article


def snapshot(folder: Path) -> dict[str, bytes]:
    """The published files (not the markers of removed ones, which record a folder's history)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.relative_to(folder).as_posix().startswith(".")}


def full_build_of(articles: Path, tmp_path: Path, now, counts: dict | None = None) -> dict[str, bytes]:
    out = tmp_path / "reference"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(tmp_path / "reference-state", ignore_errors=True)
    config = make_config(articles, out, defaults={"content": "full"},
                         feeds=[{"name": "hot", "filter": {"min_heat": 100}, "sort": "heat"}], families=no_retention())
    paths = config.paths.model_copy(update={"state": tmp_path / "reference-state"})
    config = config.model_copy(update={"paths": paths})
    report = build(config, now=now)
    # what /healthz counts is what `feedd check` prints
    assert report.open_diagnostics == sum(d.level != "info" for d in report.diagnostics)
    if counts is not None:
        counts.update(report.articles, diagnostics=report.open_diagnostics)
    return snapshot(out)


@pytest.fixture
def setup(seeds_dir: Path, tmp_path: Path):
    config = make_config(seeds_dir, tmp_path / "public", defaults={"content": "full"},
                         feeds=[{"name": "hot", "filter": {"min_heat": 100}, "sort": "heat"}], families=no_retention())
    builder = Builder(config, workers=1)
    builder.build(NOW)
    yield seeds_dir, tmp_path, builder
    builder.close()


def step(builder: Builder, articles: Path, tmp_path: Path, changed: list[Path], now=NOW):
    report = builder.build(now, paths={str(p) for p in changed})
    counts: dict = {}
    assert snapshot(tmp_path / "public") == full_build_of(articles, tmp_path, now, counts)
    assert {**report.articles, "diagnostics": report.open_diagnostics} == counts  # running counts stay exact
    return report


def test_each_kind_of_change_matches_a_full_build(setup):
    articles, tmp_path, builder = setup
    new = write_article(articles, "new.md", title='"Robots arrive"', topics="[Robots, AI]", heat="150",
                        provider="{name: Example, domain: example.com}")
    report = step(builder, articles, tmp_path, [new])
    assert "feeds/topics/robots.rss" in report.written
    assert "feeds/topics/ai-ethics.rss" not in report.written  # a feed the article is not in is left alone

    write_article(articles, "new.md", title='"Robots, revised"', topics="[Robots]", heat="20",
                  provider="{name: Example, domain: example.com}")
    report = step(builder, articles, tmp_path, [new])
    assert "feeds/hot.rss" in report.written  # it left the hot feed...
    assert "feeds/topics/ai.rss" in report.written  # ...and the AI topic

    body = articles / "robots.txt"
    body.write_text("Robots, revised\n\nThe full story.\n", encoding="utf-8")
    step(builder, articles, tmp_path, [body])

    moved = articles / "sub" / "renamed.md"
    moved.parent.mkdir()
    new.rename(moved)
    step(builder, articles, tmp_path, [new, moved])

    write_article(articles, "sub/renamed.md", title='"Robots, revised"', published="false")
    report = step(builder, articles, tmp_path, [moved])
    assert "feeds/topics/robots.rss" in report.removed

    shutil.rmtree(articles / "sub")
    step(builder, articles, tmp_path, [articles / "sub"])


def test_an_embargo_is_released_by_time_alone(setup):
    articles, tmp_path, builder = setup
    due = NOW + timedelta(minutes=5)
    new = write_article(articles, "later.md", title='"Later"', publishedDateTime=due.isoformat())
    report = step(builder, articles, tmp_path, [new])
    assert report.next_embargo == due
    report = step(builder, articles, tmp_path, [], now=due)
    assert "feeds/all.rss" in report.written
    assert report.next_embargo is None


def test_nothing_changed_writes_nothing_and_a_warm_restart_parses_nothing(setup, monkeypatch):
    articles, tmp_path, builder = setup
    assert builder.build(NOW).written == []
    builder.close()
    calls = []
    real = parse.parse_entry
    monkeypatch.setattr("feedd.ingest.store.workers.parse_entry", lambda *a: calls.append(a) or real(*a))
    restarted = Builder(builder.config, workers=1)
    try:
        report = restarted.build(NOW)
        assert report.written == [] and report.removed == []
        assert calls == []  # every file's signature matched the index on disk
        (articles / "000_8e0c099ee215eaaa.txt").touch()
        restarted.build(NOW)
        assert [c[0].rel for c in calls] == ["000_8e0c099ee215eaaa.txt"]
    finally:
        restarted.close()


def test_a_full_rescan_finds_what_no_event_reported(setup):
    articles, tmp_path, builder = setup
    for n in range(30):
        write_article(articles, f"bulk{n}.md", title=f'"Bulk {n}"', topics="[Bulk]")
    (articles / "001_381cd51ca3d3cff3.txt").unlink()
    report = builder.build(NOW)  # paths=None: compare the folder with the index
    assert "feeds/topics/bulk.rss" in report.written
    assert snapshot(tmp_path / "public") == full_build_of(articles, tmp_path, NOW)


def test_a_changed_timezone_reparses_everything(setup, monkeypatch):
    articles, tmp_path, builder = setup
    builder.close()
    calls = []
    real = parse.parse_entry
    monkeypatch.setattr("feedd.ingest.store.workers.parse_entry", lambda *a: calls.append(a) or real(*a))
    site = builder.config.site.model_copy(update={"timezone": "Asia/Tokyo"})
    config = builder.config.model_copy(update={"site": site})
    again = Builder(config, workers=1)
    try:
        again.build(NOW)
        assert len(calls) == 5
    finally:
        again.close()


def test_parallel_parsing_gives_the_same_feeds(seeds_dir: Path, tmp_path: Path, monkeypatch):
    for n in range(40):
        write_article(seeds_dir, f"gen{n:02}.md", title=f'"Generated {n}"', topics=f"[T{n % 7}]", heat=str(n))
    monkeypatch.setattr("feedd.ingest.store.workers.PARALLEL_THRESHOLD", 10)
    monkeypatch.setattr("feedd.ingest.store.workers.CHUNK", 8)
    parallel = Builder(make_config(seeds_dir, tmp_path / "parallel"), workers=2)
    try:
        parallel.build(NOW)
    finally:
        parallel.close()
    serial = make_config(seeds_dir, tmp_path / "serial")
    serial = serial.model_copy(update={"paths": serial.paths.model_copy(update={"state": tmp_path / "s2"})})
    build(serial, now=NOW)
    assert snapshot(tmp_path / "parallel") == snapshot(tmp_path / "serial")


def test_rendering_in_workers_and_batches_gives_the_same_feeds(seeds_dir: Path, tmp_path: Path, monkeypatch,
                                                               fail_render):
    """Feeds rendered in worker processes, a few ahead, and published a batch at a time: the same files as
    one process gives, and one feed's failure still costs only that feed."""
    for n in range(40):
        path = write_article(seeds_dir, f"gen{n:02}.md", title=f'"Generated {n}"', topics=f"[T{n % 7}]",
                             heat=str(n), provider=f"{{name: P{n % 5}, domain: p{n % 5}.example}}")
        if n % 3 == 0:  # a full text of its own (the seeds' full texts are in files of their own)
            path.write_text(path.read_text() + f"The whole story of article {n}.\n")
    module = importlib.import_module("feedd.feeds.jobs")
    monkeypatch.setattr(module, "PARALLEL_RENDER", 4)
    monkeypatch.setattr(module, "RENDER_BATCH", 3)
    fail_render("feeds/topics/t3")
    parallel = Builder(make_config(seeds_dir, tmp_path / "parallel", defaults={"content": "full"}), workers=2)
    try:
        report = parallel.build(NOW)
    finally:
        parallel.close()
    assert report.failed == ["feeds/topics/t3"]
    assert len(report.summaries) > 4 * 2 + 3  # more than the workers run ahead, and several batches
    fail_render.restore()
    serial = make_config(seeds_dir, tmp_path / "serial", defaults={"content": "full"})
    serial = serial.model_copy(update={"paths": serial.paths.model_copy(update={"state": tmp_path / "s2"})})
    one = Builder(serial, workers=1)
    try:
        one.build(NOW)
    finally:
        one.close()
    expected = {k: v for k, v in snapshot(tmp_path / "serial").items()
                if not k.startswith("feeds/topics/t3.") and k not in ("index.html", "index.html.gz")}
    got = {k: v for k, v in snapshot(tmp_path / "parallel").items() if k not in ("index.html", "index.html.gz")}
    assert got == expected


def count_passes(builder: Builder) -> list[int]:
    """A list that grows by one at each pass over the index's files (iterating builder.index.files)."""
    scans: list[int] = []
    files = builder.index.files
    real_iter = type(files).__iter__

    class Counting(dict):
        def __iter__(self):
            scans.append(1)
            return real_iter(self)

    builder.index.files = Counting(files)
    return scans


def test_deleting_many_files_does_not_rescan_the_index_per_file(setup, monkeypatch):
    articles, tmp_path, builder = setup
    paths = [write_article(articles, f"gone{n}.md", title=f'"Gone {n}"') for n in range(50)]
    builder.build(NOW, paths={str(p) for p in paths})
    for p in paths:
        p.unlink()
    scans = count_passes(builder)
    builder.build(NOW, paths={str(p) for p in paths})
    assert len(scans) <= 1  # at most one pass, not one per deleted file
    assert all(f"gone{n}.md" not in builder.index.files for n in range(50))


def test_an_editors_temp_file_does_not_scan_the_index(setup):
    """Saving by rename reports the temp file as gone; it was never indexed and holds no files, so finding that
    out must not take a pass over every indexed path (50 ms of each edit at 100k articles). A folder that is gone
    still takes its files with it."""
    articles, tmp_path, builder = setup
    (articles / "sub").mkdir()
    inside = [write_article(articles / "sub", f"in{n}.md", title=f'"In {n}"') for n in range(3)]
    builder.build(NOW, paths={str(p) for p in inside})
    scans = count_passes(builder)
    seed = articles / "000_8e0c099ee215eaaa.txt"
    for temp in (".000_8e0c099ee215eaaa.txt.swp", "000_8e0c099ee215eaaa.txt.edit", "gone-folder"):
        (articles / temp).write_bytes(seed.read_bytes())
        os.replace(articles / temp, seed)
        builder.build(NOW, paths={str(articles / temp), str(seed)})
    assert len(scans) <= 1  # at most the one pass that lists the folders of the index
    for p in inside:
        p.unlink()
    (articles / "sub").rmdir()
    builder.build(NOW, paths={str(articles / "sub")})
    assert not any(rel.startswith("sub/") for rel in builder.index.files)
    assert snapshot(tmp_path / "public") == full_build_of(articles, tmp_path, NOW)


TOP3 = {"defaults": {"limit": 3, "content": "full"},
        "feeds": [{"name": "hot", "filter": {"min_heat": 100}, "sort": "heat"}]}


@pytest.fixture
def top3(seeds_dir: Path, tmp_path: Path):
    """Eight AI stories, a0 oldest and coolest to a7 newest and hottest, in feeds of 3; reference() is what a
    full build of the folder gives now."""
    for n in range(8):
        write_article(seeds_dir, f"a{n}.md", title=f'"Story {n}"', topics="[AI]", heat=str(100 + n),
                      publishedDateTime=f"2021-02-0{n + 1}T10:00:00Z")
    builder = Builder(make_config(seeds_dir, tmp_path / "public", **TOP3), workers=1)

    def reference() -> dict[str, bytes]:
        other = make_config(seeds_dir, tmp_path / "reference", **TOP3)
        other = other.model_copy(update={"paths": other.paths.model_copy(update={"state": tmp_path / "ref-state"})})
        shutil.rmtree(tmp_path / "reference", ignore_errors=True)
        shutil.rmtree(tmp_path / "ref-state", ignore_errors=True)
        build(other, now=NOW)
        return snapshot(tmp_path / "reference")

    builder.build(NOW)
    yield builder, reference
    builder.close()


def test_edits_below_the_top_of_a_full_feed_match_a_full_build(seeds_dir: Path, tmp_path: Path, top3):
    """With more members than the limit, an edit that cannot reach the top leaves the feed as it was."""
    builder, reference = top3
    old = write_article(seeds_dir, "a0.md", title='"Story 0, corrected"', topics="[AI]", heat="100",
                        publishedDateTime="2021-02-01T10:00:00Z")  # oldest and coolest: not shown anywhere
    report = builder.build(NOW, paths={str(old)})
    assert not [f for f in report.written if "topics/ai" in f or f.startswith("feeds/all")]
    assert snapshot(tmp_path / "public") == reference()
    write_article(seeds_dir, "a0.md", title='"Story 0, now hot"', topics="[AI]", heat="999",
                  publishedDateTime="2021-02-01T10:00:00Z")  # jumps to the top of the heat feed
    report = builder.build(NOW, paths={str(old)})
    assert "feeds/hot.rss" in report.written
    assert snapshot(tmp_path / "public") == reference()
    (seeds_dir / "a7.md").unlink()  # the newest: shown in every date feed
    builder.build(NOW, paths={str(seeds_dir / "a7.md")})
    assert snapshot(tmp_path / "public") == reference()


@pytest.mark.parametrize("date, heat", [
    ("2021-02-06T10:00:00Z", "106"),  # title only: the feeds keep their order
    ("2021-02-09T10:00:00Z", "106"),  # newer: first in the date feeds
    ("2021-01-01T10:00:00Z", "106"),  # older than every article: drops out of the date feeds
    ("2021-02-04T12:00:00Z", "50"),  # from second to last of the three shown; out of the heat feed
])
def test_edits_among_the_items_shown_match_a_full_build(seeds_dir: Path, tmp_path: Path, top3, date: str, heat: str):
    """An edit to an article a full feed shows re-ranks from the shown items when it can; it must still
    give what a full build gives, whether the article stays, moves or leaves."""
    builder, reference = top3
    edited = write_article(seeds_dir, "a6.md", title='"Story 6, corrected"', topics="[AI]", heat=heat,
                           publishedDateTime=date)  # a6: second in every feed
    report = builder.build(NOW, paths={str(edited)})
    assert "feeds/topics/ai.rss" in report.written
    assert snapshot(tmp_path / "public") == reference()


def test_a_feed_whose_render_failed_is_retried_by_the_next_build(setup, fail_render):
    articles, tmp_path, builder = setup
    new = write_article(articles, "new.md", title='"Robots"', topics="[Robots]")
    fail_render("feeds/topics/robots")
    report = builder.build(NOW, paths={str(new)})
    assert report.failed == ["feeds/topics/robots"]
    fail_render.restore()
    report = builder.build(NOW, paths=set())  # nothing changed on disk: the failed feed is retried anyway
    assert "feeds/topics/robots.rss" in report.written
    assert snapshot(tmp_path / "public") == full_build_of(articles, tmp_path, NOW)


def test_files_left_by_an_earlier_config_are_removed_by_the_first_build(seeds_dir: Path, tmp_path: Path):
    out = tmp_path / "public"
    (out / "feeds" / "topics").mkdir(parents=True)
    (out / "feeds" / "topics" / "retired.rss").write_bytes(b"<rss/>")
    (out / "feeds" / "topics" / "retired.rss.gz").write_bytes(b"x")
    (out / "notes.txt").write_bytes(b"not ours")  # outside feeds/: never touched
    report = build(make_config(seeds_dir, out), now=NOW)
    assert "feeds/topics/retired.rss" in report.removed
    assert not (out / "feeds" / "topics" / "retired.rss.gz").exists()
    assert (out / "notes.txt").read_bytes() == b"not ours"



def test_rescan_diagnostics_follow_the_folder(setup):
    """The folder-wide diagnostics are kept between rescans only while nothing changes."""
    articles, tmp_path, builder = setup

    def messages(report) -> list[str]:
        return sorted(str(d) for d in report.diagnostics)

    before = messages(builder.build(NOW))
    copy = articles / "zz-copy.txt"
    shutil.copy(articles / "000_8e0c099ee215eaaa.txt", copy)  # a second file with the same link
    after = messages(builder.build(NOW))
    assert any("zz-copy.txt" in m and "same link" in m for m in after)
    assert after == messages(build(make_config(articles, tmp_path / "other"), now=NOW, write=False))
    copy.unlink()
    assert messages(builder.build(NOW)) == before


def test_a_warm_restart_renders_the_index_pages_only_when_they_would_change(setup, monkeypatch):
    articles, tmp_path, builder = setup
    builder.close()
    rendered = []
    pipeline = importlib.import_module("feedd.publish.published")
    for name in ("render_index", "render_opml"):
        real = getattr(pipeline, name)
        monkeypatch.setattr(pipeline, name, lambda site, feeds, real=real: rendered.append(1) or real(site, feeds))

    def restart() -> int:
        """How many pages the restart rendered."""
        rendered.clear()
        restarted = Builder(builder.config, workers=1)
        try:
            restarted.build(NOW)
        finally:
            restarted.close()
        return len(rendered)

    assert restart() == 0  # nothing changed while stopped
    write_article(articles, "new.md", title='"Robots arrive"', topics="[Robots]", heat="150")
    assert restart() == 2  # the index counts change
    assert snapshot(tmp_path / "public") == full_build_of(articles, tmp_path, NOW)
    (tmp_path / "public" / "feeds.opml").unlink()
    assert restart() == 2
    assert snapshot(tmp_path / "public") == full_build_of(articles, tmp_path, NOW)


def test_a_new_feedd_version_renders_every_feed_once_and_rewrites_only_changed_bytes(setup, monkeypatch):
    """What an older version published is not what this one would: the first build after an upgrade renders
    every feed again (here the old version wrote a stray comment into every RSS file)."""
    articles, tmp_path, builder = setup
    builder.close()
    out = tmp_path / "public"
    for rss in out.rglob("*.rss"):  # the old version's bytes; publishing keeps the .gz sibling in step
        importlib.import_module("feedd.publish.output").publish_many(
            out, {rss.relative_to(out).as_posix(): rss.read_bytes() + b"<!-- v0 -->\n"})
    atom_mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.atom")}
    statedb = importlib.import_module("feedd.ingest.store.database")
    monkeypatch.setattr(statedb, "code_fingerprint", lambda: "a newer version")
    restarted = Builder(builder.config, workers=1)
    try:
        report = restarted.build(NOW)
    finally:
        restarted.close()
    assert snapshot(out) == full_build_of(articles, tmp_path, NOW)
    assert sorted(report.written) == sorted(p.relative_to(out).as_posix() for p in out.rglob("*.rss"))
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.atom")} == atom_mtimes  # same bytes: ETags stay


def test_a_warm_restart_compares_the_folder_while_it_loads_the_index(setup):
    """With two workers, a restart compares the folder with the index in another process while it loads
    it: what changed while feedd was stopped must still be found, and only the first refresh uses it."""
    articles, tmp_path, builder = setup
    builder.close()
    edited = articles / "001_381cd51ca3d3cff3.txt"
    edited.write_text(edited.read_text(encoding="utf-8").replace('title: "US leads', 'title: "Now: US leads', 1),
                      encoding="utf-8")
    (articles / "000_8e0c099ee215eaaa.txt").unlink()
    write_article(articles, "new.md", title='"Written while stopped"', topics="[Robots]")
    restarted = Builder(builder.config, workers=2)
    try:
        assert restarted.index._ahead is not None
        changes = restarted.index.refresh()
        assert changes.changed == {"001_381cd51ca3d3cff3.txt", "new.md"}
        assert changes.removed == {"000_8e0c099ee215eaaa.txt"}
        write_article(articles, "later.md", title='"Written later"')
        assert restarted.index.refresh().changed == {"later.md"}  # listed again, not the comparison made ahead
        restarted.build(NOW)
    finally:
        restarted.close()
    assert snapshot(tmp_path / "public") == full_build_of(articles, tmp_path, NOW)


def test_a_restart_keeps_the_same_winner_of_two_files_with_one_link(setup):
    """The index is loaded in bulk on a restart: two files claiming one article must resolve as they did."""
    articles, tmp_path, builder = setup
    for name, title in (("b-copy.md", "Second copy"), ("a-copy.md", "First copy"), ("c-copy.md", "Third copy")):
        write_article(articles, name, title=f'"{title}"', webUrl='"https://example.com/same-story"')
    builder.build(NOW)
    builder.close()
    restarted = Builder(builder.config, workers=1)
    try:
        assert restarted.build(NOW).written == []
        assert restarted.index.winners[restarted.index.files["a-copy.md"].article.id].title == "First copy"
    finally:
        restarted.close()
    assert snapshot(tmp_path / "public") == full_build_of(articles, tmp_path, NOW)


def test_a_warm_restart_knows_what_max_bytes_cut_without_rendering_again(seeds_dir: Path, tmp_path: Path,
                                                                          monkeypatch):
    """The record of what is published keeps how many items each feed shows. Without it, a restart rendered every
    feed with a byte budget again only to learn that count, then found its files unchanged (at 100k articles with
    config/feedd.yaml, issue 16: all 2,306 feeds, a warm restart of 31 s against 6.3-7.2 s without the budget)."""
    for n in range(6):
        write_article(seeds_dir, f"long{n}.md", title=f'"Long {n}"', topics="[Long]", excerpt='"' + "words " * 80 + '"',
                      webUrl=f'"https://example.com/long{n}"', publishedDateTime=f"2021-01-2{n}T12:00:00Z")
    config = make_config(seeds_dir, tmp_path / "public", defaults={"content": "full", "max_bytes": 4000})
    first = Builder(config, workers=1)
    try:
        report = first.build(NOW)
        plans = first.membership.plans
        cut = [s.spec.path for s in report.summaries if s.count < len(plans[s.spec.key].items)]
    finally:
        first.close()
    assert "feeds/all" in cut and "feeds/topics/long" in cut  # the budget does cut these feeds
    jobs = importlib.import_module("feedd.feeds.jobs")
    rendered, real = [], jobs.render_formats
    monkeypatch.setattr(jobs, "render_formats", lambda site, spec, items: rendered.append(spec.path) or
                        real(site, spec, items))
    restarted = Builder(config, workers=1)
    try:
        again = restarted.build(NOW)
    finally:
        restarted.close()
    assert rendered == []
    assert (again.written, again.removed) == ([], [])
    assert [(s.spec.path, s.count, s.updated) for s in again.summaries] == \
        [(s.spec.path, s.count, s.updated) for s in report.summaries]


def test_an_edit_renders_the_index_pages_only_when_what_they_list_changes(setup, monkeypatch):
    """The pages list each feed's name, title, formats, item count and last update: an edited title changes none
    of them, so neither page is rendered (the index of a large site is megabytes: see BENCHMARKS.md)."""
    articles, tmp_path, builder = setup
    rendered = []
    pipeline = importlib.import_module("feedd.publish.published")
    for name in ("render_index", "render_opml"):
        real = getattr(pipeline, name)
        monkeypatch.setattr(pipeline, name, lambda site, feeds, real=real: rendered.append(1) or real(site, feeds))
    seed = articles / "000_8e0c099ee215eaaa.txt"
    text = seed.read_text(encoding="utf-8")
    seed.write_text(text.replace('\ntitle: "', '\ntitle: "Edited: ', 1), encoding="utf-8")
    report = builder.build(NOW, paths={str(seed)})
    assert "feeds/all.rss" in report.written
    assert rendered == []
    assert snapshot(tmp_path / "public") == full_build_of(articles, tmp_path, NOW)
    rendered.clear()  # (the reference build renders them too)
    new = write_article(articles, "new.md", title='"Robots arrive"', topics="[Robots]", heat="150")
    builder.build(NOW, paths={str(new)})
    assert len(rendered) == 2  # a new feed and new counts
    assert snapshot(tmp_path / "public") == full_build_of(articles, tmp_path, NOW)


def test_an_edit_lists_again_only_the_feeds_it_rendered(setup, monkeypatch):
    """The pages fingerprint made a line for every feed on every build (a repr with a datetime each): on the
    perf-research prototype, 15-20 ms of each edit at 100k articles (2,306 feeds). A feed's line is kept while its
    summary is the same object, as it is for every feed the build did not render."""
    articles, tmp_path, builder = setup
    builder.build(NOW, paths={str(write_article(articles, "other.md", title='"Elsewhere"', topics="[Elsewhere]"))})
    published, jobs = importlib.import_module("feedd.publish.published"), importlib.import_module("feedd.feeds.jobs")
    listed, rendered = [], []
    real_line, real_render = published.listing_line, jobs.render_formats
    monkeypatch.setattr(published, "listing_line", lambda s: listed.append(s.spec.path) or real_line(s))
    monkeypatch.setattr(jobs, "render_formats", lambda site, spec, items: rendered.append(spec.path) or
                        real_render(site, spec, items))
    seed = articles / "000_8e0c099ee215eaaa.txt"
    seed.write_text(seed.read_text(encoding="utf-8").replace('\ntitle: "', '\ntitle: "Edited: ', 1), encoding="utf-8")
    report = builder.build(NOW, paths={str(seed)})
    assert "feeds/all" in rendered and sorted(listed) == sorted(rendered)
    assert len(listed) < len(report.summaries)
    listed.clear()
    assert builder.build(NOW, paths=set()).written == []
    assert listed == []
    assert snapshot(tmp_path / "public") == full_build_of(articles, tmp_path, NOW)


def test_an_edit_scores_only_the_trending_candidates(seeds_dir: Path, tmp_path: Path, monkeypatch):
    """A trending feed is ranked at each build's `now`; an edit scored every member of it (on the perf-research
    prototype, at 100k articles with config/feedd.yaml, whose `trending` feed holds every article: 9.16 s over
    20 edits, 1.7M scores), then searched all of them for the best by the free key (20-70 ms of each edit). The
    seeds are years old: their scores underflow, and they are never candidates."""
    for n in range(100):
        when = f"2026-11-{n % 20 + 1:02d}T{n % 24:02d}:00:00Z"
        write_article(seeds_dir, f"t{n:03d}.md", title=f'"Trend {n}"', heat=str(n % 37 + 1),
                      webUrl=f'"https://example.com/t{n}"', publishedDateTime=when)
    config = make_config(seeds_dir, tmp_path / "public", feeds=[{"name": "trending", "sort": "trending", "limit": 5}])
    builder = Builder(config, workers=1)
    ranking, trending = importlib.import_module("feedd.feeds.ranking"), importlib.import_module("feedd.feeds.trending")
    try:
        builder.build(NOW)
        scored, real = [], ranking.trending
        monkeypatch.setattr(ranking, "trending", lambda a, now, hl: scored.append(a.id) or real(a, now, hl))
        searched, nsmallest = [], heapq.nsmallest  # how many ids or articles each heap search looks at
        for module in (ranking, trending):
            monkeypatch.setattr(module, "heapq", SimpleNamespace(
                nsmallest=lambda n, ids, key=None: searched.append(len(ids)) or nsmallest(n, ids, key=key)))
        edited = write_article(seeds_dir, "t007.md", title='"Trend 7, edited"', heat="8",
                               webUrl='"https://example.com/t7"', publishedDateTime="2026-11-08T07:00:00Z")
        builder.build(NOW + timedelta(hours=1), paths={str(edited)})
        assert 0 < len(scored) < 40
        assert searched and max(searched) <= 11  # the 10 best kept by the free key, and the edited article
    finally:
        builder.close()
    monkeypatch.setattr(ranking, "trending", real)
    paths = config.paths.model_copy(update={"output": tmp_path / "reference", "state": tmp_path / "reference-state"})
    build(config.model_copy(update={"paths": paths}), now=NOW + timedelta(hours=1))
    assert snapshot(tmp_path / "public") == snapshot(tmp_path / "reference")
