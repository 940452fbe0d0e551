"""BUILD, end to end on a copy of the sample articles: what a subscriber and a publisher see."""

from __future__ import annotations

import gc
import gzip
import json
import re
import shutil
import subprocess
import sys
import weakref
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin

import feedparser
import lxml.html
import pytest
from lxml import etree

from feedd.config import load_config
from feedd.pipeline import Builder, build
from tests.helpers import NOW, ROOT, SEEDS, make_config, no_retention, write_article

WIRED_LINK = "https://www.wired.com/story/chinese-lab-aiming-big-ai-breakthroughs/"
SEED_000 = next(SEEDS.glob("000_*.txt"))
SEED_002 = next(SEEDS.glob("002_*.txt"))
FEEDS_WITH_000 = {
    "feeds/all",
    "feeds/categories/news",
    "feeds/providers/wired-com",
    "feeds/topics/ai-hardware",
    "feeds/topics/ai",
    "feeds/topics/facebook-ai",
    "feeds/topics/ai-ethics",
    "feeds/topics/natural-language-processing",
}
FORMATS = ("rss", "atom", "json")

GEN_CORPUS = ROOT.parent / "shared" / "tools" / "gen_corpus.py"


def secured_value() -> str:
    match = re.search(r'^secured: "([^"]+)"', SEED_000.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, "articles/000 has no secured field any more"
    return match.group(1)


def config(seeds: Path, **sections):
    sections.setdefault("defaults", {"content": "full"})
    return make_config(seeds, **sections)


def output(seeds: Path) -> Path:
    return seeds.parent / "public"


def feeds_on_disk(out: Path) -> set[str]:
    """Feed paths (without extension) that have at least one format published."""
    return {p.relative_to(out).with_suffix("").as_posix()
            for p in out.glob("feeds/**/*") if p.suffix in (".rss", ".atom", ".json")}


def ids_in(out: Path, feed: str) -> dict[str, list[str]]:
    """The item links of each format of one feed, as readers see them."""
    found = {}
    for fmt in FORMATS:
        data = (out / f"{feed}.{fmt}").read_bytes()
        if fmt == "json":
            found[fmt] = [i["url"] for i in json.loads(data)["items"]]
        else:
            found[fmt] = [e.link for e in feedparser.parse(data).entries]
    return found


def links(out: Path, feed: str) -> list[str]:
    per_format = ids_in(out, feed)
    assert per_format["rss"] == per_format["atom"] == per_format["json"], feed
    return per_format["json"]


def json_feed_problems(feed: object) -> list[str]:
    """The required fields of JSON Feed 1.1."""
    if not isinstance(feed, dict):
        return ["not an object"]
    problems = []
    if feed.get("version") != "https://jsonfeed.org/version/1.1":
        problems.append("version")
    if not isinstance(feed.get("title"), str):
        problems.append("title")
    if not isinstance(feed.get("items"), list):
        return [*problems, "items"]
    for i, item in enumerate(feed["items"]):
        if not isinstance(item.get("id"), str):
            problems.append(f"items[{i}].id")
        if not any(isinstance(item.get(k), str) for k in ("content_html", "content_text")):
            problems.append(f"items[{i}].content")
    return problems


def mtimes(out: Path) -> dict[str, int]:
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}


def test_000_is_in_exactly_its_feeds(seeds_dir):
    report = build(config(seeds_dir), now=NOW)
    assert report.ok
    out = output(seeds_dir)
    on_disk = feeds_on_disk(out)
    assert on_disk == FEEDS_WITH_000
    for feed in on_disk:
        assert links(out, feed) == [WIRED_LINK], feed
    for unwanted in ("feeds/topics/ai-in-healthcare", "feeds/providers/scmp-com"):
        assert not any(out.glob(f"{unwanted}.*")), unwanted
    assert {s.spec.path for s in report.summaries} == FEEDS_WITH_000
    assert all(s.count == 1 for s in report.summaries)


def test_every_feed_has_a_preview_and_a_gz(seeds_dir):
    build(config(seeds_dir), now=NOW)
    out = output(seeds_dir)
    for feed in FEEDS_WITH_000:
        for ext in (*FORMATS, "html"):
            data = (out / f"{feed}.{ext}").read_bytes()
            assert gzip.decompress((out / f"{feed}.{ext}.gz").read_bytes()) == data
        page = lxml.html.fromstring((out / f"{feed}.html").read_bytes())
        assert page.xpath("//article//h2/a/@href") == [WIRED_LINK]


@pytest.mark.skipif(not GEN_CORPUS.exists(), reason="needs ../shared/tools/gen_corpus.py")
def test_gz_siblings_are_as_small_as_zlibs_best(tmp_path):
    """Readers fetch the .gz: it must not trade size for build speed (zlib-ng at 6 vs zlib at 9: 0.998x)."""
    subprocess.run([sys.executable, str(GEN_CORPUS), str(tmp_path / "articles"), "--count", "300", "--seed", "3"],
                   check=True, capture_output=True)
    build(make_config(tmp_path / "articles"), now=NOW)
    packed = best = 0
    for path in (tmp_path / "public" / "feeds").rglob("*.gz"):
        data = gzip.decompress(path.read_bytes())
        assert data == path.with_suffix("").read_bytes()
        packed, best = packed + path.stat().st_size, best + len(gzip.compress(data, compresslevel=9, mtime=0))
    assert best > 100_000 and packed <= best * 1.02


def test_000_carries_002s_full_text(seeds_dir):
    build(config(seeds_dir), now=NOW)
    out = output(seeds_dir)
    text = SEED_002.read_text(encoding="utf-8")
    expected = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()][1:]  # minus the title
    assert len(expected) > 5
    item = json.loads((out / "feeds/all.json").read_bytes())["items"][0]
    paragraphs = [" ".join(p.text_content().split())
                  for p in lxml.html.fragment_fromstring(item["content_html"], create_parent="div")]
    assert paragraphs == expected
    entry = feedparser.parse((out / "feeds/all.rss").read_bytes()).entries[0]
    assert expected[0] in entry.content[0].value
    assert expected[-1][:60] in " ".join(entry.content[0].value.split())


def test_no_output_leaks_secured_or_mojibake(seeds_dir):
    build(config(seeds_dir), now=NOW)
    secret = secured_value()
    needles = [secret[:24], secret[-24:]]
    files = [p for p in output(seeds_dir).rglob("*") if p.is_file()]
    assert len(files) > 20
    for path in files:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        text = data.decode("utf-8")
        for needle in needles:
            assert needle not in text, path
        assert "â€" not in text, path
        assert "\\u00e2\\u20ac" not in text.lower(), path  # nor mojibake escaped in JSON


def test_every_feed_parses(seeds_dir):
    build(config(seeds_dir), now=NOW)
    out = output(seeds_dir)
    checked = 0
    for path in sorted(out.glob("feeds/**/*")):
        if path.suffix in (".rss", ".atom"):
            parsed = feedparser.parse(path.read_bytes())
            assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
            assert parsed.version == ("rss20" if path.suffix == ".rss" else "atom10"), path
            checked += 1
        elif path.suffix == ".json":
            assert json_feed_problems(json.loads(path.read_bytes())) == [], path
            checked += 1
        elif path.suffix == ".html":
            etree.fromstring(path.read_bytes(), etree.HTMLParser(recover=False))
    assert checked == 3 * len(FEEDS_WITH_000)
    opml = etree.fromstring((out / "feeds.opml").read_bytes())
    assert len(opml.findall("body/outline/outline")) == len(FEEDS_WITH_000)


def test_a_rebuild_writes_nothing(seeds_dir):
    cfg = config(seeds_dir)
    first = build(cfg, now=NOW)
    assert first.written
    out = output(seeds_dir)
    before = mtimes(out)
    again = build(cfg, now=NOW + timedelta(hours=1))
    assert again.written == []
    assert again.removed == []
    assert sorted(again.unchanged) == sorted(first.written)
    assert mtimes(out) == before


def test_a_rebuild_of_a_feed_cut_by_max_bytes_writes_nothing(seeds_dir):
    """Found by tests/test_properties.py: a restarted build listed the feed's uncut item count, rewriting index.html."""
    cfg = config(seeds_dir, feeds=[{"name": "tiny", "max_bytes": 500}])
    build(cfg, now=NOW)
    out = output(seeds_dir)
    before = mtimes(out)
    again = build(cfg, now=NOW)
    assert (again.written, again.removed) == ([], [])
    assert mtimes(out) == before
    assert next(f for f in again.summaries if f.spec.slug == "tiny").count == 0


def test_unpublishing_000_removes_every_generated_feed(seeds_dir):
    cfg = config(seeds_dir, feeds=[{"name": "trending", "sort": "trending"}], families=no_retention())
    build(cfg, now=NOW)
    out = output(seeds_dir)
    assert feeds_on_disk(out) == FEEDS_WITH_000 | {"feeds/trending"}
    path = seeds_dir / SEED_000.name
    text = path.read_text(encoding="utf-8")
    assert "\npublished: true\n" in text
    path.write_text(text.replace("\npublished: true\n", "\npublished: false\n"), encoding="utf-8")

    report = build(cfg, now=NOW, allow_mass_removal=True)  # `all` is emptied: on purpose
    assert feeds_on_disk(out) == {"feeds/all", "feeds/trending"}
    for feed in ("feeds/all", "feeds/trending"):
        assert links(out, feed) == []
    assert "feeds/topics/ai.rss" in report.removed
    assert not any((out / "feeds/topics").rglob("*.*"))  # .gz and .html siblings gone too
    assert report.articles["published"] == 0
    assert report.articles["withheld"] == 2
    index = lxml.html.fromstring((out / "index.html").read_bytes())
    assert [a.get("href") for a in index.xpath("//table//td[1]/a")] == ["feeds/all.html", "feeds/trending.html"]


def test_an_embargoed_article_appears_when_its_time_comes(seeds_dir):
    due = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    write_article(seeds_dir, "embargo.txt", title='"Embargoed story"', webUrl='"https://example.com/embargoed"',
                  publishedDateTime=due.strftime("%Y-%m-%dT%H:%M:%SZ"), topics="[AI]")
    cfg = config(seeds_dir)
    out = output(seeds_dir)

    before = build(cfg, now=NOW)
    assert before.next_embargo == due
    assert before.articles["embargoed"] == 1
    for feed in feeds_on_disk(out):
        assert "https://example.com/embargoed" not in links(out, feed)

    after = build(cfg, now=due + timedelta(seconds=1))
    assert after.next_embargo is None
    assert after.articles["embargoed"] == 0
    assert links(out, "feeds/all") == ["https://example.com/embargoed", WIRED_LINK]
    assert links(out, "feeds/topics/ai") == ["https://example.com/embargoed", WIRED_LINK]


def test_a_render_failure_keeps_that_feeds_previous_files(seeds_dir, fail_render):
    cfg = config(seeds_dir)
    out = output(seeds_dir)
    build(cfg, now=NOW)
    previous = {ext: (out / f"feeds/topics/ai.{ext}").read_bytes() for ext in (*FORMATS, "html")}

    write_article(seeds_dir, "new.txt", title='"A newer story"', webUrl='"https://example.com/newer"',
                  publishedDateTime="2026-11-01T00:00:00Z", topics="[AI, Robots]")
    fail_render("feeds/topics/ai")
    report = build(cfg, now=NOW)
    assert report.failed == ["feeds/topics/ai"]
    assert not report.ok
    assert any(d.path == "feeds/topics/ai" and d.level == "error" for d in report.errors)
    for ext, data in previous.items():
        assert (out / f"feeds/topics/ai.{ext}").read_bytes() == data, ext
        assert (out / f"feeds/topics/ai.{ext}.gz").exists(), ext
    assert links(out, "feeds/topics/ai") == [WIRED_LINK]  # the old feed, still served
    assert links(out, "feeds/all") == ["https://example.com/newer", WIRED_LINK]
    assert links(out, "feeds/topics/robots") == ["https://example.com/newer"]


@pytest.mark.parametrize("broken", [
    "---\ntitle: [unclosed\n---\n",
    "---\ntitle: Missing link\npublishedDateTime: 2021-01-01T00:00:00Z\n---\n",
    "---\n- just\n- a list\n---\n",
    "\xff\xfe\x00garbage",
])
def test_a_broken_article_does_not_hurt_the_others(seeds_dir, broken):
    (seeds_dir / "999_broken.txt").write_bytes(broken.encode("latin-1"))
    report = build(config(seeds_dir), now=NOW)
    assert report.ok
    out = output(seeds_dir)
    assert feeds_on_disk(out) == FEEDS_WITH_000
    for feed in FEEDS_WITH_000:
        assert links(out, feed) == [WIRED_LINK], feed
    assert report.articles["published"] == 1


def test_summary_counts(seeds_dir):
    report = build(config(seeds_dir), now=NOW)
    assert report.articles == {"published": 1, "withheld": 1, "embargoed": 0, "rejected": 0, "orphan_texts": 2}
    write_article(seeds_dir, "later.txt", webUrl='"https://example.com/later"',
                  publishedDateTime="2030-01-01T00:00:00Z")
    (seeds_dir / "bad.txt").write_text("---\ntitle: No link\n---\n", encoding="utf-8")
    report = build(config(seeds_dir), now=NOW)
    assert report.articles == {"published": 1, "withheld": 1, "embargoed": 1, "rejected": 1, "orphan_texts": 2}
    assert report.next_embargo == datetime(2030, 1, 1, tzinfo=UTC)
    assert any(d.path == "bad.txt" and d.level == "error" for d in report.diagnostics)


def test_the_shipped_config_produces_its_configured_feeds(seeds_dir):
    out = seeds_dir.parent / "public"
    cfg = load_config(ROOT / "config" / "feedd.yaml", **{
        "paths.articles": str(seeds_dir), "paths.output": str(out), "paths.state": str(seeds_dir.parent / "state")})
    report = build(cfg, now=NOW)
    assert report.ok
    assert feeds_on_disk(out) == FEEDS_WITH_000 | {"feeds/trending", "feeds/top"}
    assert links(out, "feeds/trending") == [WIRED_LINK]
    assert links(out, "feeds/top") == [WIRED_LINK]  # quality 95 >= 80
    trending = json.loads((out / "feeds/trending.json").read_bytes())
    assert trending["title"] == "Trending in AI"
    assert "content_html" in trending["items"][0]  # defaults.content: full
    top = json.loads((out / "feeds/top.json").read_bytes())
    assert top["title"] == "Top stories"
    assert "content_html" not in top["items"][0]  # content: summary
    assert trending["feed_url"] == "http://127.0.0.1:8080/feeds/trending.json"


def test_a_feed_whose_render_failed_stays_listed(seeds_dir, fail_render):
    cfg = config(seeds_dir)
    out = output(seeds_dir)
    build(cfg, now=NOW)
    fail_render("feeds/topics/ai")
    build(cfg, now=NOW)
    assert (out / "feeds/topics/ai.rss").exists()  # still served...
    index = lxml.html.fromstring((out / "index.html").read_bytes())
    assert "feeds/topics/ai.html" in index.xpath("//table//td[1]/a/@href")  # ...so still listed
    opml = etree.fromstring((out / "feeds.opml").read_bytes())
    assert "http://127.0.0.1:8080/feeds/topics/ai.rss" in opml.xpath("//outline/@xmlUrl")


def test_every_url_is_under_a_base_url_with_a_path(seeds_dir):
    base = "https://news.example.org/digest/"
    build(config(seeds_dir, site={"base_url": "https://news.example.org/digest"}), now=NOW)
    out = output(seeds_dir)
    rss = etree.fromstring((out / "feeds/topics/ai.rss").read_bytes())
    self_link = rss.find("channel/{http://www.w3.org/2005/Atom}link[@rel='self']").get("href")
    assert self_link == base + "feeds/topics/ai.rss"
    assert rss.findtext("channel/link") == base + "feeds/topics/ai.html"
    source = rss.find("channel/item/source")
    assert source.get("url") == base + "feeds/providers/wired-com.rss"
    feed = json.loads((out / "feeds/all.json").read_bytes())
    assert (feed["feed_url"], feed["home_page_url"]) == (base + "feeds/all.json", base + "feeds/all.html")
    opml = etree.fromstring((out / "feeds.opml").read_bytes())
    urls = opml.xpath("//outline/@xmlUrl") + opml.xpath("//outline/@htmlUrl")
    assert urls and all(u.startswith(base) for u in urls)
    index = lxml.html.fromstring((out / "index.html").read_bytes())  # relative links: served under the base URL
    hrefs = index.xpath("//head/link[@rel='alternate']/@href")
    assert hrefs and all(urljoin(base + "index.html", h).startswith(base + "feeds/") for h in hrefs)


def test_a_full_build_leaves_the_cycle_collector_on(seeds_dir, tmp_path, monkeypatch):
    """Full builds pause Python's cycle collector (feedd.collector); a service whose collector stayed off would
    leak every reference cycle for good, also after a build that failed."""
    builder = Builder(make_config(seeds_dir, tmp_path / "public"), workers=1)
    try:
        builder.build(NOW)
        assert gc.isenabled()
        monkeypatch.setattr(builder.index, "refresh", lambda paths=None: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            builder.build(NOW)
        assert gc.isenabled()
    finally:
        builder.close()


def test_a_closed_builder_is_freed_although_full_builds_freeze_what_they_made(seeds_dir, tmp_path):
    """gc.freeze() (feedd.collector) keeps frozen cycles for good: a builder that a reload replaces must be freed by
    reference counting alone, or every SIGHUP would keep a whole index (hundreds of MB at 100k articles)."""
    builder = Builder(make_config(seeds_dir, tmp_path / "public"), workers=1)
    builder.build(NOW)
    builder.build(NOW)
    gone = [weakref.ref(builder), weakref.ref(builder.index), weakref.ref(builder.membership)]
    builder.close()
    del builder
    assert [ref() for ref in gone] == [None, None, None]


# --- related links never lead to what the folder holds back ---------------------------------------------

SCMP_001 = "https://www.scmp.com/news/china/science/article/3119115/us-leads-world-artificial-intelligence-china-catching-study"


def published_files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*")
            if p.is_file() and p.suffix in (".rss", ".atom", ".json", ".html")}


def test_a_withheld_article_is_no_related_link(seeds_dir):
    """Seed 000 lists seed 001 among its related articles; 001 is `published: false`."""
    build(config(seeds_dir), now=NOW)
    files = published_files(output(seeds_dir))
    assert files and not [rel for rel, data in files.items() if SCMP_001.encode() in data]
    entry = json.loads(files["feeds/all.json"])["items"][0]
    related = [r["url"] for r in entry["_feedd"]["related"]]
    assert related and SCMP_001 not in related  # 000's other related links stay


def related_links(out: Path, feed: str = "feeds/all") -> list[str]:
    entries = json.loads((out / f"{feed}.json").read_bytes())["items"]
    return sorted(r["url"] for item in entries for r in item.get("_feedd", {}).get("related", []))


def linking(name: str, target: str, **fields) -> dict:
    related = f'[{{title: "Target", webUrl: "https://example.com/{target}"}}, {{title: "Elsewhere", ' \
              f'webUrl: "https://elsewhere.example/{name}"}}]'
    return {"title": f'"Links to {target}"', "webUrl": f'"https://example.com/{name}"', "related": related, **fields}


@pytest.mark.parametrize(("target", "hidden"), [
    ({"published": "false"}, True),
    ({"publishedDateTime": "2026-12-24T00:00:00Z"}, True),  # embargoed until after NOW
    ({"publishedDateTime": "0001-01-01T00:00:00Z"}, True),  # rejected, with a valid link
    ({"title": None}, True),  # rejected: no title
    ({}, False),
])
def test_a_related_link_to_a_held_back_article_is_left_out(seeds_dir, target, hidden):
    write_article(seeds_dir, "target.md", **{"webUrl": '"https://example.com/target"', **target})
    write_article(seeds_dir, "source.md", **linking("source", "target"))
    build(config(seeds_dir), now=NOW)
    links = related_links(output(seeds_dir))
    assert "https://elsewhere.example/source" in links
    assert ("https://example.com/target" in links) is not hidden


def test_related_links_follow_their_targets_state_incrementally(seeds_dir, tmp_path):
    """Releasing, withholding and deleting the target re-renders the linking article's feeds, with exactly what
    a fresh full build gives."""
    target = write_article(seeds_dir, "target.md", webUrl='"https://example.com/target"',
                           publishedDateTime="2026-11-22T18:00:00Z")  # embargoed for six hours after NOW
    write_article(seeds_dir, "source.md", **linking("source", "target"))
    cfg = config(seeds_dir)
    builder = Builder(cfg, workers=1)
    out = output(seeds_dir)

    def reference(now) -> dict[str, bytes]:
        ref = tmp_path / "ref"
        shutil.rmtree(ref, ignore_errors=True)
        ref_cfg = cfg.model_copy(update={"paths": cfg.paths.model_copy(update={"output": ref / "public",
                                                                                "state": ref / "state"})})
        build(ref_cfg, now=now)
        return published_files(ref / "public")

    try:
        builder.build(NOW)
        assert "https://example.com/target" not in related_links(out)
        later = NOW + timedelta(hours=7)
        builder.build(later, paths=set())  # the embargo is due: only time moved
        assert "https://example.com/target" in related_links(out)
        assert published_files(out) == reference(later)
        target.write_text(target.read_text().replace("published: true", "published: false"))
        builder.build(later, paths={str(target)})
        assert "https://example.com/target" not in related_links(out)
        assert published_files(out) == reference(later)
        target.unlink()  # gone from the folder: a link like any other to elsewhere
        builder.build(later, paths={str(target)})
        assert "https://example.com/target" in related_links(out)
        assert published_files(out) == reference(later)
    finally:
        builder.close()


# --- a published feed never breaks: kept while empty, then Gone -----------------------------------------------


def test_a_feed_that_loses_its_articles_stays_published_empty_then_is_gone(seeds_dir, tmp_path):
    write_article(seeds_dir, "other.md", topics="[Other]")  # `all` keeps an article throughout
    cfg = config(seeds_dir)
    out = output(seeds_dir)
    build(cfg, now=NOW)
    assert links(out, "feeds/topics/ai-hardware")
    (seeds_dir / SEED_000.name).unlink()  # the topic's only article
    later = NOW + timedelta(days=1)
    report = build(cfg, now=later)
    assert "feeds/topics/ai-hardware.rss" in report.written and not report.removed
    assert links(out, "feeds/topics/ai-hardware") == []
    rss = feedparser.parse((out / "feeds/topics/ai-hardware.rss").read_bytes())
    assert not rss.bozo and rss.feed.updated_parsed[:6] == later.timetuple()[:6]  # when it became empty
    atom = feedparser.parse((out / "feeds/topics/ai-hardware.atom").read_bytes())
    assert atom.feed.updated_parsed[:6] == later.timetuple()[:6]
    index = lxml.html.fromstring((out / "index.html").read_bytes())
    row = next(r for r in index.xpath("//tr") if r.xpath(".//a[@href='feeds/topics/ai-hardware.html']"))
    assert "AI Hardware" in row.text_content() and "empty" in row.text_content()
    assert build(cfg, now=later + timedelta(days=29)).removed == []  # still within the 30 days, after a restart
    gone = build(cfg, now=later + timedelta(days=30))
    assert "feeds/topics/ai-hardware.rss" in gone.removed
    assert not (out / "feeds/topics/ai-hardware.rss").exists()
    assert (out / ".gone/feeds/topics/ai-hardware.rss").exists()  # remembered: answered 410 Gone
    assert "feeds/topics/ai-hardware.html" not in (out / "index.html").read_text()


def test_a_retained_feed_that_gets_an_article_again_is_a_feed_again(seeds_dir):
    write_article(seeds_dir, "other.md", topics="[Other]")
    cfg = config(seeds_dir)
    out = output(seeds_dir)
    build(cfg, now=NOW)
    moved = seeds_dir.parent / SEED_000.name
    (seeds_dir / SEED_000.name).rename(moved)
    build(cfg, now=NOW + timedelta(days=1))
    assert links(out, "feeds/topics/ai-hardware") == []
    moved.rename(seeds_dir / SEED_000.name)
    build(cfg, now=NOW + timedelta(days=40))  # past the retain window: it is a feed again, never Gone
    assert links(out, "feeds/topics/ai-hardware") == [WIRED_LINK]
    assert not (out / ".gone").exists()


def test_a_configured_feed_removed_from_the_config_is_gone_at_once(seeds_dir):
    out = output(seeds_dir)
    build(config(seeds_dir, feeds=[{"name": "mine"}]), now=NOW)
    assert (out / "feeds/mine.rss").exists()
    report = build(config(seeds_dir), now=NOW)
    assert "feeds/mine.rss" in report.removed
    assert sorted(p.name for p in (out / ".gone/feeds").iterdir()) == ["mine.atom", "mine.html", "mine.json",
                                                                        "mine.rss"]
    build(config(seeds_dir, feeds=[{"name": "mine"}]), now=NOW)  # declared again: published, no longer Gone
    assert (out / "feeds/mine.rss").exists() and not (out / ".gone/feeds/mine.rss").exists()
