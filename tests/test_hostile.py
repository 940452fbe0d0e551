"""The hostile corpus (tests/hostile.py) built whole, and each of its files judged on its own outcome.

The whole build runs once per module, in a forked child as `nobody` when the tests run as root (an unreadable
file is only unreadable to someone else), so a crash of the child (a libyaml segfault) fails the tests rather
than killing pytest.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import pickle
import re
import shutil
import signal
import stat
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import pytest
from lxml import etree

import feedd.ingest.parse
from feedd.feeds.slugs import slug
from feedd.pipeline import Builder, build
from feedd.urls import domain_url
from tests.helpers import NOW, SEEDS, date_problem, load_corpus, make_config, url_problem
from tests.hostile import CASES, SECRET, Case, fm, write_corpus

NOBODY = 65534
SEED_000 = "https://www.wired.com/story/chinese-lab-aiming-big-ai-breakthroughs/"
SEED_001_TITLE = "US leads world on artificial intelligence but China is catching up: study"
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def run_in_child(fn: Callable[[], Any], uid: int | None, timeout: int = 120) -> tuple[int, Any]:
    """fn() in a forked child (as uid), its result pickled back; (wait status, result or None)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read)
            signal.alarm(timeout)  # a build that blocks is killed, and fails the test
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            result = fn()
            with os.fdopen(write, "wb") as out:
                pickle.dump(result, out)
            code = 0
        except BaseException:  # noqa: BLE001 - reported on stderr, seen as exit status 1
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as handle:
        data = handle.read()
    _, status = os.waitpid(pid, 0)
    return status, pickle.loads(data) if data else None


@dataclass
class Site:
    root: Path
    articles: Path
    output: Path
    status: int
    result: Any
    seconds: float
    as_other_user: bool

    @property
    def diagnostics(self) -> list:
        return self.result["diagnostics"]

    def items(self) -> dict[str, dict]:
        feed = json.loads((self.output / "feeds" / "all.json").read_text(encoding="utf-8"))
        return {item["url"]: item for item in feed["items"]}

    def outputs(self) -> list[Path]:
        return sorted(p for p in self.output.rglob("*") if p.is_file() and p.suffix != ".gz")


@pytest.fixture(scope="module")
def site() -> Site:
    root = Path(tempfile.mkdtemp(prefix="feedd-hostile-"))
    root.chmod(0o755)  # traversable by nobody
    try:
        articles = root / "articles"
        shutil.copytree(SEEDS, articles)
        write_corpus(articles)
        output, state = root / "public", root / "state"
        as_other_user = os.geteuid() == 0
        for folder in (output, state):
            folder.mkdir()
            if as_other_user:
                os.chown(folder, NOBODY, NOBODY)
        config = make_config(articles, output, defaults={"content": "full"})
        # warm up in this process: every module the build imports lazily is loaded before the child drops
        # root (the interpreter's own files may be unreadable to nobody)
        warm = root / "warm"
        shutil.copytree(SEEDS, warm / "articles")
        build(make_config(warm / "articles", warm / "public", defaults={"content": "full"}), now=NOW)
        ZoneInfo("UTC")
        slug("Bücher")  # text_unidecode, and idna's UTS 46 tables and the punycode codec
        domain_url.__wrapped__("bücher.example")
        for codec in ("utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252", "latin-1", "punycode"):
            codecs.lookup(codec)

        def whole_build() -> dict:
            started = time.monotonic()
            report = build(config, now=NOW)
            return {"diagnostics": report.diagnostics, "articles": report.articles, "failed": report.failed,
                    "seconds": time.monotonic() - started}

        started = time.monotonic()
        status, result = run_in_child(whole_build, NOBODY if as_other_user else None)
        yield Site(root, articles, output, status, result, time.monotonic() - started, as_other_user)
    finally:
        for path in root.rglob("*"):  # unreadable files and FIFOs: let rmtree through
            if not path.is_symlink() and path.is_file():
                path.chmod(0o644)
        shutil.rmtree(root, ignore_errors=True)


# --- (a) the whole corpus in one build ----------------------------------------------------------------------

def test_whole_build_finishes_and_publishes_the_seeds(site):
    assert os.WIFEXITED(site.status) and os.WEXITSTATUS(site.status) == 0, f"build crashed: status {site.status}"
    assert site.result["failed"] == []
    print(f"hostile build: {site.result['seconds']:.2f} s, {len(CASES)} cases, {site.result['articles']}")
    assert site.result["seconds"] < 60  # generous: a blocked read or a quadratic step takes far longer
    items = site.items()
    assert items[SEED_000]["title"] == "This Chinese Lab Is Aiming for Big AI Breakthroughs"
    assert items[SEED_000]["content_html"].startswith("<p>BAAI opened a year later")  # 002's full text
    assert SEED_001_TITLE not in {i["title"] for i in items.values()}  # published: false
    for path in ("feeds/topics/ai-hardware", "feeds/providers/wired-com", "feeds/categories/news"):
        feed = json.loads((site.output / f"{path}.json").read_text(encoding="utf-8"))
        assert SEED_000 in {i["url"] for i in feed["items"]}, path


def test_nothing_from_outside_or_unmapped_reaches_any_output(site):
    secured = [line.split(":", 1)[1].strip().strip('"')[:40] for seed in SEEDS.iterdir()
               for line in seed.read_text(encoding="utf-8").splitlines() if line.startswith("secured:")]
    assert secured
    passwd = Path("/etc/passwd").read_text(encoding="utf-8").splitlines()[0]
    forbidden = [passwd, "secured", SECRET, *secured, *(text for case in CASES for text in case.absent)]
    for path in site.outputs():
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":  # JSON Feed titles are plain text: markup may appear, but not as HTML
            html = [i.get("content_html", "") for i in json.loads(text)["items"]]
            text = text if not any(n.startswith("<") and n in text for n in forbidden) else "\n".join(html)
        for needle in forbidden:
            assert needle not in text, f"{needle[:40]!r} in {path.relative_to(site.output)}"
    assert not any(passwd in d.reason or SECRET in d.reason for d in site.diagnostics)


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_every_output_is_valid_and_free_of_xml_illegal_characters(site):
    outputs = site.outputs()
    assert len([p for p in outputs if p.suffix == ".rss"]) > 50  # topics, providers, categories of the corpus
    for path in outputs:
        text = path.read_text(encoding="utf-8")
        assert not XML_ILLEGAL.search(text), path
        if path.suffix in (".rss", ".atom", ".opml"):
            etree.fromstring(path.read_bytes())
        if path.suffix in (".rss", ".atom"):
            parsed = feedparser.parse(path.read_bytes())
            assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
        if path.suffix == ".json":
            assert not any(XML_ILLEGAL.search(s) for s in _strings(json.loads(text))), path


# --- (b) each case: its outcome, and a diagnostic naming the file and the problem ---------------------------

@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_outcome_and_diagnostic(site, case: Case):
    if case.as_user and not site.as_other_user and os.geteuid() == 0:
        pytest.skip("needs a reader other than root")
    assert os.WIFEXITED(site.status) and os.WEXITSTATUS(site.status) == 0, "the whole build crashed"
    items = site.items()
    mine = [d for d in site.diagnostics if d.path == case.rel]
    if case.outcome == "skipped":
        assert case.url not in items
    else:
        assert case.url in items, mine
        assert items[case.url]["title"] == case.expected_title
    if case.body:
        assert case.body in items[case.url]["content_html"]
    if case.diagnostic is None:
        assert [d for d in mine if d.level != "info"] == []
    else:
        assert any(case.diagnostic in d.reason for d in mine), mine
    if case.outcome == "repaired":
        assert [d for d in mine if d.level in ("warning", "info")]
    if case.outcome == "skipped" and case.diagnostic:
        assert any(d.level in ("error", "warning") for d in mine)


def test_topics_capped_deduplicated_and_rendered_once(site):
    items = site.items()
    assert len(items["https://hostile.example/ten-thousand-topics"]["tags"]) == 50
    assert items["https://hostile.example/duplicate-topics"]["tags"] == ["AI Hardware", "AI"]
    assert len(items["https://hostile.example/thousands-of-related"]["_feedd"]["related"]) == 20


# --- every URL and every date a feed carries -----------------------------------------------------------------

XML_URLS = {"link", "uri", "docs", "icon", "logo", "url", "id", "guid"}  # elements whose text is a URL
JSON_URLS = {"url", "feed_url", "home_page_url", "image", "icon", "favicon", "id"}
DATES = {"pubDate", "lastBuildDate", "updated", "published", "date_published", "date_modified"}


def feed_values(path: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Every URL and every (field, date) in an RSS, Atom or JSON Feed file."""
    urls, dates = [], []
    if path.suffix == ".json":
        def walk(value: Any, key: str | None = None) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(v, k)
            elif isinstance(value, list):
                for v in value:
                    walk(v, key)
            elif key in JSON_URLS:
                urls.append(value)
            elif key in DATES:
                dates.append((key, value))
        walk(json.loads(path.read_bytes()))
        return urls, dates
    for el in etree.fromstring(path.read_bytes()).iter():
        if not isinstance(el.tag, str):
            continue
        urls.extend(el.get(attr) for attr in ("href", "url", "uri", "src") if el.get(attr) is not None)
        name = etree.QName(el).localname
        if name in XML_URLS and el.text and el.text.strip() and not len(el):
            urls.append(el.text.strip())
        elif name in DATES:
            dates.append((name, el.text))
    return urls, dates


def test_every_url_and_date_in_every_feed_is_valid(site):
    """Issue 13 (7, 8): `0001-01-01` gave `Mon, 01 Jan 1` (feedparser: 2001); `"><script>` went out raw."""
    checked_urls = checked_dates = 0
    for path in site.outputs():
        if path.suffix not in (".rss", ".atom", ".json"):
            continue
        urls, dates = feed_values(path)
        for url in urls:
            assert url_problem(url) is None, (path.relative_to(site.output), url, url_problem(url))
        for name, text in dates:
            assert date_problem(name, text) is None, (path.relative_to(site.output), name, text)
        checked_urls, checked_dates = checked_urls + len(urls), checked_dates + len(dates)
    assert checked_urls > 1000 and checked_dates > 500
    items = site.items()
    assert items["https://hostile.example/year-1970"]["date_published"] == "1970-01-01T00:00:00Z"
    bad = items["https://hostile.example/bad-urls"]
    assert bad["image"] == "https://cdn.example/a%20b.jpg"
    assert bad["authors"] == [{"name": "Bücher", "url": "https://xn--bcher-kva.example/"}]
    assert bad["_feedd"]["related"] == [{"title": "Ok", "url": "https://r.example/%C3%BC"}]
    provider = json.loads((site.output / "feeds/providers/bucher-example.json").read_text(encoding="utf-8"))
    assert provider["icon"] == "https://cdn.example/%22logo%22.png"


def test_feedd_check_names_each_bad_date_and_url(tmp_path):
    """What the build refuses or repairs, `feedd check` prints as `path: level: reason` (exit 1 on the errors)."""
    from click.testing import CliRunner

    from feedd.cli import main

    ids = {"year-one", "year-one-offset", "year-999", "year-1969", "far-future", "year-9999", "year-9999-offset",
           "year-10000", "offset-25h", "html-link", "space-link", "iri-link", "idn-link", "backslash-link", "tab-link",
           "markup-host-link", "bad-urls"}
    cases = [c for c in CASES if c.id in ids]
    assert len(cases) == len(ids)
    articles = tmp_path / "articles"
    articles.mkdir()
    write_corpus(articles, cases)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:  # the CLI points the root logger at CliRunner's throw-away streams
        result = CliRunner().invoke(main, ["check", "-v", "--articles", str(articles), "--output",
                                           str(tmp_path / "out"), "--state", str(tmp_path / "state")])
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    for case in cases:
        assert any(line.startswith(f"{case.rel}: ") and case.diagnostic in line for line in lines), (case.id, lines)
    assert "far-future.md: error: publishedDateTime: '2999-01-01T00:00:00Z' is more than 10 years ahead" \
        in result.output
    assert not (tmp_path / "out").exists()


# --- races: files that vanish or change between listing and reading ------------------------------------------

def _corpus_with(articles_dir: Path, monkeypatch, name: str, action: Callable[[Path], None], where: str):
    """load_corpus, with action(path) run on `name` just before it is read (`where`: which read step)."""
    target = articles_dir / name
    real = getattr(feedd.ingest.parse, where)

    def racing(first, *args):
        path = Path(first.path) if where == "_read" else Path(first)
        if path.name == name and not racing.done:
            racing.done = True
            action(target)
        return real(first, *args)

    racing.done = False
    monkeypatch.setattr(feedd.ingest.parse, where, racing)
    corpus = load_corpus(make_config(articles_dir))
    assert racing.done
    return corpus


@pytest.mark.parametrize("where", ["_read", "read_file"])  # after listing; after the stat before opening
def test_file_vanishing_before_it_is_read_is_not_an_error(articles_dir, monkeypatch, where):
    (articles_dir / "gone.md").write_bytes(fm("gone"))
    (articles_dir / "kept.md").write_bytes(fm("kept"))
    corpus = _corpus_with(articles_dir, monkeypatch, "gone.md", Path.unlink, where)
    assert [a.source for a in corpus.articles] == ["kept.md"]
    assert corpus.diagnostics == []


def test_file_changing_before_it_is_read_converges(articles_dir, monkeypatch):
    (articles_dir / "a.md").write_bytes(fm("a", title="Old title"))
    config = make_config(articles_dir)
    builder = Builder(config, persist=False, workers=1)
    real = feedd.ingest.parse._read

    def racing(entry, *args):
        if entry.rel == "a.md" and not racing.done:
            racing.done = True
            (articles_dir / "a.md").write_bytes(fm("a", "excerpt: a longer file now", title="New title"))
        return real(entry, *args)

    racing.done = False
    monkeypatch.setattr(feedd.ingest.parse, "_read", racing)
    try:
        builder.build(NOW)
        monkeypatch.undo()
        builder.build(NOW)  # the listing's signature was the old file's: the next rescan reads it again
        assert [a.title for a in builder.index.articles()] == ["New title"]
    finally:
        builder.close()


def test_file_swapped_for_a_symlink_outside_is_not_followed(articles_dir, monkeypatch):
    (articles_dir / "swap.md").write_bytes(fm("swap"))

    def swap(path: Path) -> None:
        path.unlink()
        path.symlink_to("/etc/passwd")

    corpus = _corpus_with(articles_dir, monkeypatch, "swap.md", swap, "read_file")
    assert corpus.articles == []
    assert [d.reason for d in corpus.diagnostics] == ["skipped: Too many levels of symbolic links"]
    assert "root:" not in repr(corpus)


def test_file_swapped_for_a_fifo_does_not_block(articles_dir, monkeypatch):
    (articles_dir / "swap.md").write_bytes(fm("swap"))

    def swap(path: Path) -> None:
        path.unlink()
        os.mkfifo(path)

    result = {}
    thread = threading.Thread(target=lambda: result.setdefault(
        "corpus", _corpus_with(articles_dir, monkeypatch, "swap.md", swap, "read_file")), daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():  # unblock the reader before failing
        os.close(os.open(articles_dir / "swap.md", os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("reading a FIFO blocked")
    assert [d.reason for d in result["corpus"].diagnostics] == ["skipped: not a regular file"]


def test_file_growing_while_read_is_cut_at_the_limit(articles_dir, monkeypatch):
    path = articles_dir / "grow.md"
    path.write_bytes(fm("grow"))
    inode = path.stat().st_ino
    real = os.fstat

    def fstat(fd):
        info = real(fd)
        if info.st_ino == inode and stat.S_ISREG(info.st_mode):
            with open(path, "ab") as handle:
                handle.write(b"x" * 5000)
        return info

    monkeypatch.setattr(feedd.ingest.files.os, "fstat", fstat)
    corpus = load_corpus(make_config(articles_dir, limits={"max_file_bytes": 1000}))
    monkeypatch.undo()
    assert corpus.articles == []
    assert [d.reason for d in corpus.diagnostics] == ["skipped: file grew past the 1,000-byte limit while being read"]


# --- the articles folder deleted and re-created while `feedd run` runs --------------------------------------

def test_articles_folder_missing_for_a_moment_keeps_every_feed(seeds_dir):
    builder = Builder(make_config(seeds_dir), persist=False, workers=1)
    try:
        builder.build(NOW)
        shutil.rmtree(seeds_dir)
        report = builder.build(NOW)
        assert any("does not exist" in d.reason for d in report.errors)
        assert report.removed == []
        all_json = json.loads((seeds_dir.parent / "public" / "feeds" / "all.json").read_text(encoding="utf-8"))
        assert [i["url"] for i in all_json["items"]] == [SEED_000]
    finally:
        builder.close()


@pytest.mark.slow
def test_articles_folder_deleted_and_recreated_while_running(seeds_dir, tmp_path):
    from tests.running import Daemon, free_port, wait_for, write_config

    port = free_port()
    daemon = Daemon(write_config(tmp_path / "feedd.yaml", seeds_dir, port), port)
    try:
        title = "This Chinese Lab Is Aiming for Big AI Breakthroughs"
        assert wait_for(lambda: title in daemon.titles(), timeout=10)
        shutil.rmtree(seeds_dir)
        time.sleep(1)  # the watcher and a build see the folder gone
        assert daemon.status("/healthz") == 200
        assert title in daemon.titles(), "a missing folder emptied the feeds"
        seeds_dir.mkdir()
        shutil.copy(SEEDS / "000_8e0c099ee215eaaa.txt", seeds_dir)
        time.sleep(0.5)
        (seeds_dir / "new.md").write_bytes(fm("recreated", title="Hostile after re-creation"))
        assert wait_for(lambda: "Hostile after re-creation" in daemon.titles(), timeout=10), daemon.log[-20:]
        assert title in daemon.titles()
        (seeds_dir / "later.md").write_bytes(fm("later", title="Hostile later still"))
        assert wait_for(lambda: "Hostile later still" in daemon.titles(), timeout=10), daemon.log[-20:]
    finally:
        assert daemon.stop() == 0


# --- what the corpus cannot show on its own ----------------------------------------------------------------

def test_a_file_name_cannot_forge_a_line_of_feedd_check(articles_dir, tmp_path):
    from click.testing import CliRunner

    from feedd.cli import main

    (articles_dir / "x\nforged.md: error: everything is fine").write_bytes(fm("forged", published="'no'"))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:  # the CLI points the root logger at CliRunner's throw-away streams
        result = CliRunner().invoke(main, ["check", "--articles", str(articles_dir), "--output",
                                           str(tmp_path / "out"), "--state", str(tmp_path / "state")])
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert not any(line.startswith("forged") for line in lines), lines
    assert lines[0].startswith("x\\nforged.md: error: everything is fine: error: published: expected true or false")


def test_ten_thousand_topics_render_in_linear_time():
    """fields caps topics at 50, but render must not be quadratic either: feedgen re-maps every category
    on each category() call, so one call per topic is O(n²)."""
    from datetime import UTC, datetime

    from feedd.feeds.render import SiteInfo, render_atom, render_rss
    from feedd.models import Article, Family, FeedSpec

    topics = tuple(f"topic {i}" for i in range(10_000))
    article = Article(id="urn:uuid:00000000-0000-0000-0000-000000000001", source="a.md", title="Many topics",
                      link="https://hostile.example/many", published_at=datetime(2021, 1, 1, tzinfo=UTC),
                      topics=topics)
    site_ = SiteInfo("Site", "https://news.example/", "All", "en", "Team")
    spec_ = FeedSpec(Family.ALL, "all", "All", "Everything")
    started = time.monotonic()
    for render in (render_rss, render_atom):
        assert render(site_, spec_, [article]).count(b"topic 9999") == 1
    assert time.monotonic() - started < 5  # about 0.2 s in one call; minutes with a call per topic


def test_many_repeated_keys_are_read_in_linear_time(tmp_path):
    from feedd.ingest.files import read_file

    case = next(c for c in CASES if c.id == "many-duplicate-keys")
    path = tmp_path / "keys.md"
    path.write_bytes(case.data)
    started = time.monotonic()
    content = read_file(path, "keys.md", 10**8)
    assert time.monotonic() - started < 5  # about 0.1 s; 20 s when each key is counted with list.count
    assert len(content.diagnostics) == 1
