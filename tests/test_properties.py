"""Property tests: for any front matter and any article folder, a build never raises, every feed it writes
parses (lxml, feedparser, JSON Feed 1.1), ids are unique within each feed, every link is an absolute URL
RFC 3986 accepts and every date one RFC 822 / RFC 3339 and readers accept, a rebuild writes nothing, and an
incremental build gives the bytes a full build gives."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import feedparser
import pytest
import yaml
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from lxml import etree
from lxml import html as lxml_html

from feedd.config import Config
from feedd.errors import ConfigError
from feedd.ingest.store import Store
from feedd.pipeline import Builder, build
from tests.helpers import NOW, date_problem, make_config, no_retention, url_problem

# FEEDD_PROPERTY_SCALE=20 runs twenty times the examples, randomly: for a local bug hunt, not for CI.
SCALE = int(os.environ.get("FEEDD_PROPERTY_SCALE", "1"))
SETTINGS = settings(max_examples=150 * SCALE, deadline=None, derandomize=SCALE == 1, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])
ATOM = "{http://www.w3.org/2005/Atom}"

# -- strategies: YAML values --------------------------------------------------------------------------------

texts = st.text(max_size=40)  # any surrogate-free text, control characters included
tricky_texts = st.sampled_from([
    "", " ", "no", "yes", "true", "~", "null", "1:20", "2021-01-01", "0x1F", "&amp;", "<b>bold</b>", "]]>",
    "worldâ€™s", "line\nbreak", "tab\there", "\x00nul", "\x1bescape", "\u2028sep", "\ufeffbom", "\ufffe",
    "emoji 🎉", "right-to-left \u202e", "a" * 300, "café", "Cafe\u0301", "-", "---", "...", "#", "{", "'",
])
any_text = st.one_of(texts, tricky_texts)
aware = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                     timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                                                timezone(timedelta(hours=-11))]))
scalars = st.one_of(
    any_text,
    st.integers(), st.integers(-5, 200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.none(),
    st.dates(),
    st.datetimes(), aware,
)
yaml_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(any_text, inner, max_size=4)), max_leaves=12)

# -- strategies: realistic fields ---------------------------------------------------------------------------

hosts = st.sampled_from(["example.com", "www.example.com", "news.example.org", "wired.com", "EXAMPLE.com",
                         "example.com:8080", "xn--bcher-kva.example", "127.0.0.1", "[::1]"])
url_paths = st.text(st.characters(codec="ascii", exclude_categories=("Cc", "Zs")), max_size=15)
valid_urls = st.builds(lambda scheme, host, path, tail: f"{scheme}://{host}/{path}{tail}",
                       st.sampled_from(["http", "https", "HTTPS"]), hosts, url_paths,
                       st.sampled_from(["", "/", "?a=1", "#frag", "/?q=é"]))
weird_urls = st.sampled_from([
    "/relative/path", "relative", "//example.com/x", "ftp://example.com/x", "javascript:alert(1)",
    "mailto:a@example.com", "http://", "https://", "http:///x", "https://exa mple.com/", "https://example.com/a b",
    "https://example.com:99999/", "https://example.com:abc/", "http://[::1/", "https://exämple.com/ä",
    "https://example.com/\x00", " https://example.com/padded ", "https://user:pw@example.com/",
    "data:text/html,<b>x</b>", "https://example.com/<script>", "https://example.com/\"quote",
])
SHARED_URLS = ["https://example.com/shared", "http://www.example.com/shared/", "https://example.com/shared#x",
               "https://example.com/other"]
web_urls = st.one_of(valid_urls, valid_urls, weird_urls, st.sampled_from(SHARED_URLS), scalars)

FUTURE = (NOW + timedelta(days=3)).isoformat()
dates_written = st.one_of(
    st.sampled_from([
        "2021-01-21T12:06:00Z", "2021-01-21T12:06:00+02:00", "2021-01-21T12:06:00", "2021-01-21",
        "2021-02-30T00:00:00Z", "2021-13-01", "yesterday", "", "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-12:00", "2026-11-22T12:00:00Z", "2026-11-22T12:00:01Z", FUTURE, "2030-01-01",
        "2021-01-21T12:06:00.123456Z", "2021-W03-4",
    ]),
    aware, st.datetimes(), st.dates(), scalars,
)
published = st.one_of(st.booleans(), st.booleans(), st.sampled_from(["false", "true", "no", "yes", "on", 0, 1, None]))
numbers = st.one_of(st.integers(-10, 500), st.floats(allow_nan=True, allow_infinity=True), scalars)
topic_names = st.sampled_from(["AI", "ai", "AI Hardware", "Robots", "C++", "C#", "R&D", "日本", "🎉", "-", "", " "])
topics = st.one_of(st.lists(st.one_of(topic_names, any_text, scalars), max_size=5), topic_names, scalars)
provider_names = st.sampled_from(["Wired", "wired", "The Verge", "", "日経", "<b>X</b>"])
provider_domains = st.sampled_from(["wired.com", "www.wired.com", "theverge.com", "WIRED.COM", "", "a b",
                                    "example.com/path", "exa_mple.com", "例え.jp", "x:1"])
provider = st.one_of(
    st.fixed_dictionaries({}, optional={
        "name": st.one_of(provider_names, any_text, scalars), "domain": st.one_of(provider_domains, scalars),
        "logo": web_urls,
        "images": st.lists(st.fixed_dictionaries({"url": web_urls}), max_size=2)}),
    yaml_values,
)
image = st.fixed_dictionaries({"url": web_urls}, optional={"width": numbers, "height": numbers,
                                                              "isCached": st.booleans()})
images = st.one_of(st.lists(st.one_of(image, scalars), max_size=3), yaml_values)
related_item = st.fixed_dictionaries({}, optional={"title": any_text, "webUrl": web_urls, "originalUrl": web_urls,
                                                   "excerpt": any_text})
related = st.one_of(st.lists(st.one_of(related_item, scalars), max_size=3), yaml_values)
titles = st.one_of(st.sampled_from(["A title", "Robots arrive", "  robots   ARRIVE ", "worldâ€™s best"]),
                   any_text, scalars)

REALISTIC = {
    "title": titles, "excerpt": st.one_of(any_text, scalars), "publishedDateTime": dates_written,
    "webUrl": web_urls, "originalUrl": web_urls, "published": published, "heat": numbers, "quality": numbers,
    "category": st.one_of(st.sampled_from(["news", "News", "research"]), any_text, scalars),
    "type": st.one_of(st.sampled_from(["article", "video"]), scalars),
    "provider": provider, "topics": topics, "images": images, "related": related, "secured": yaml_values,
}


REQUIRED = ("title", "webUrl", "publishedDateTime", "published")
good_fields = {
    "title": st.one_of(st.sampled_from(["A title", "Robots arrive", "  robots   ARRIVE "]), texts.filter(str.strip)),
    "webUrl": st.one_of(valid_urls, st.sampled_from(SHARED_URLS)),
    "publishedDateTime": st.one_of(st.sampled_from(["2021-01-21T12:06:00Z", "2021-01-22", "2026-11-22T12:00:00Z",
                                                    "2021-01-21T12:06:00+05:00", "2021-01-21T12:06:00", FUTURE]),
                                   st.datetimes(datetime(1971, 1, 1), datetime(2026, 11, 1), timezones=st.just(UTC)),
                                   st.dates(date(1971, 1, 1), date(2026, 11, 1))),
    "published": st.sampled_from([True, True, True, True, False]),
}


@st.composite
def front_matter(draw, link: str | None = None) -> dict:
    """A mapping of realistic fields (required ones usually valid) and arbitrary extra keys."""
    meta: dict = draw(st.fixed_dictionaries({}, optional=REALISTIC))
    if draw(st.sampled_from([True, True, True, True, False])):  # usually publishable, so feeds have items
        for key in REQUIRED:
            meta[key] = draw(good_fields[key])
        if draw(st.booleans()):
            del meta["published"]  # a missing `published` publishes
        if link:
            meta["webUrl"] = link
    for key, value in draw(st.dictionaries(st.one_of(any_text, st.integers(), st.booleans()), yaml_values,
                                           max_size=3)).items():
        meta.setdefault(key, value)
    return meta


RAW_LINES = ["title: no", "title: 1:20", "title: 2021-01-01", "title: 'quoted'", 'title: "A title"',
             "webUrl: https://example.com/raw", "webUrl: /relative", "publishedDateTime: 2021-01-21T12:06:00Z",
             "publishedDateTime: 2021-02-30", "published: 'false'", "published: no", "published: true",
             "heat: 1e400", "heat: .nan", "heat: -.inf", "quality: 0x1F", "topics: [AI, no, ~]", "topics: AI",
             "provider: {name: Wired, domain: wired.com}", "provider: x", "images: [{url: 'https://e.com/i.png'}]",
             "related: [{title: R, webUrl: 'https://example.com/r'}]", "key: &a [1, 2]", "other: *a", "dup: 1",
             "dup: 2", "bad: [unclosed", "\tindented: tab", "x: !!binary aGk=", "x: !!python/object:os.system {}",
             "? complex\n: key", "- not a mapping", ": empty key", "title: |\n  block\n  text"]


def render_front(meta: dict, style: int) -> str:
    if style == 0:
        return yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    if style == 1:
        return yaml.safe_dump(meta, allow_unicode=False, default_flow_style=True, width=60)
    return yaml.safe_dump(meta, allow_unicode=True, default_style='"')


@st.composite
def article_file(draw, link: str | None = None) -> tuple[str, dict | None]:
    """The text of one front matter file (safe_dump in a few styles, or raw lines), and its mapping if dumped."""
    if draw(st.sampled_from([True, False, False, False, False, False])):
        lines = draw(st.lists(st.sampled_from(RAW_LINES), min_size=1, max_size=6))
        front, meta = "\n".join(lines) + "\n", None
    else:
        meta = draw(front_matter(link))
        front = render_front(meta, draw(st.integers(0, 2)))
    body = draw(st.sampled_from(["", "\n", "Inline body after the front matter.\n"]))
    return f"---\n{front}---\n{body}", meta


@st.composite
def full_text(draw, titles_so_far: list[str]) -> str:
    """A plain-text file whose first line may be an article's title (in another case or spacing)."""
    if titles_so_far and draw(st.booleans()):
        title = draw(st.sampled_from(titles_so_far))
        first = draw(st.sampled_from([title, title.upper(), f"  {title}  ", title.replace(" ", "   ")]))
    else:
        first = draw(any_text)
    lead = draw(st.sampled_from(["", "\n\n"]))
    paragraphs = draw(st.lists(any_text, max_size=3))
    return lead + first + "\n\n" + "\n\n".join(paragraphs) + "\n"


ENCODINGS = ["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16"]


@st.composite
def folders(draw, max_articles: int = 5) -> list[tuple[str, bytes]]:
    """Several front matter files (some sharing a link), plain-text full texts, in subfolders or not."""
    files: list[tuple[str, bytes]] = []
    titles_so_far: list[str] = []
    for i in range(draw(st.integers(1, max_articles))):
        link = draw(st.sampled_from([None, None, None, None, SHARED_URLS[0], SHARED_URLS[1]]))
        text, meta = draw(article_file(link))
        if meta and isinstance(meta.get("title"), str):
            titles_so_far.append(meta["title"])
        folder = draw(st.sampled_from(["", "", "sub/", "sub/deeper/", "späce dir/"]))
        name = draw(st.sampled_from(["{i:02d}.md", "{i:02d}.md", "{i:02d}.txt", "{i:02d} é #.MD", "{i:02d}",
                                     ".hidden{i}.md", "{i:02d}.md~", "#{i}.md#"])).format(i=i)
        files.append((folder + name, text.encode(draw(st.sampled_from(ENCODINGS)))))
    for i in range(draw(st.integers(0, 3))):
        files.append((f"text{i:02d}.txt", draw(full_text(titles_so_far)).encode("utf-8")))
    return files


feed_names = st.sampled_from(["hot", "ai", "wired_only", "recent", "x-1"])
filters = st.fixed_dictionaries({}, optional={
    "topics": st.lists(topic_names, max_size=2), "providers": st.lists(st.one_of(provider_names, provider_domains),
                                                                       max_size=2),
    "categories": st.lists(st.sampled_from(["news", "research"]), max_size=2),
    "types": st.lists(st.sampled_from(["article", "video"]), max_size=1),
    "min_heat": st.integers(0, 200), "min_quality": st.integers(0, 100),
    "max_age": st.sampled_from(["1d", "7d", "3000d", "30m"]),
})
feed_configs = st.lists(st.fixed_dictionaries({"name": feed_names}, optional={
    "title": any_text, "description": any_text,
    "filter": filters, "sort": st.sampled_from(["date", "heat", "trending"]), "limit": st.integers(1, 5),
    "content": st.sampled_from(["summary", "full"]), "max_bytes": st.integers(500, 5000),
    "formats": st.lists(st.sampled_from(["rss", "atom", "json"]), min_size=1, max_size=3, unique=True),
}), max_size=3, unique_by=lambda f: f["name"])
site_texts = st.one_of(st.sampled_from(["feedd", "Site & <Co>", "日本", " ", "]]>"]), any_text)
sections = st.fixed_dictionaries({"feeds": feed_configs}, optional={
    "site": st.fixed_dictionaries({}, optional={
        "base_url": st.sampled_from(["https://feeds.example.org/", "http://127.0.0.1:8080", "https://ex.org/sub/",
                                     "https://ex.org/a b/", "http://ex.org/?q=1", "https://ex.org/#f",
                                     "https://例え.jp/ä/", "http://[::1]:8080/x"]),
        "title": site_texts, "description": site_texts, "author": site_texts, "language": site_texts,
        "timezone": st.sampled_from(["UTC", "Asia/Tokyo", "America/St_Johns"]),
    }),
    "defaults": st.fixed_dictionaries({}, optional={
        "content": st.sampled_from(["summary", "full"]), "sort": st.sampled_from(["date", "heat", "trending"]),
        "limit": st.integers(1, 5), "min_heat": st.integers(0, 100), "max_bytes": st.integers(300, 3000),
        "formats": st.lists(st.sampled_from(["rss", "atom", "json"]), min_size=1, max_size=3, unique=True)}),
    "families": st.fixed_dictionaries({}, optional={
        "topics": st.fixed_dictionaries({}, optional={
            "min_items": st.integers(1, 2), "title": st.sampled_from(["{name}", "", "{site} » {name}", "\x01{name}"])}),
        "providers": st.fixed_dictionaries({}, optional={"enabled": st.booleans()}),
        "categories": st.fixed_dictionaries({}, optional={"enabled": st.booleans()})}),
})

# -- checks --------------------------------------------------------------------------------------------------


def write_folder(root: Path, files: list[tuple[str, bytes]]) -> list[Path]:
    paths = []
    for rel, data in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    return paths


def snapshot(folder: Path, with_times: bool = False) -> dict:
    """The published files (not the markers of removed ones, which record a folder's history)."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns) if with_times else p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.relative_to(folder).as_posix().startswith(".")}


def is_absolute(url: str | None) -> bool:
    """An absolute http(s) URL that RFC 3986 accepts as it is."""
    return bool(url) and url_problem(url) is None  # type: ignore[arg-type]


def check_dates(rel: str, dates: list[tuple[str, str]]) -> None:
    assert all(date_problem(name, text) is None for name, text in dates), \
        (rel, [(name, text, date_problem(name, text)) for name, text in dates if date_problem(name, text)])


def check_xml_feed(rel: str, data: bytes) -> None:
    root = etree.fromstring(data)
    parsed = feedparser.parse(data)
    assert not parsed.bozo, (rel, parsed.get("bozo_exception"))
    if rel.endswith(".rss"):
        channel = root.find("channel")
        assert channel is not None and channel.findtext("title") and channel.find("description") is not None, rel
        guids = [g.text for g in channel.iter("guid")]
        assert len(guids) == len(channel.findall("item")), rel
        links = [e.text for e in channel.iter("link") if e.text] + [e.get("href") for e in root.iter(f"{ATOM}link")]
        links += [e.get("url") for e in root.iter() if e.get("url") is not None]  # source, media, enclosure
        links += [e.text for e in root.iter("url")]  # channel image
    else:
        assert root.tag == f"{ATOM}feed" and root.findtext(f"{ATOM}id") and root.find(f"{ATOM}title") is not None
        guids = [e.findtext(f"{ATOM}id") for e in root.iter(f"{ATOM}entry")]
        assert all(guids), rel
        links = [e.get("href") for e in root.iter(f"{ATOM}link")] + [e.text for e in root.iter(f"{ATOM}uri")]
        links += [e.get("url") for e in root.iter() if e.get("url") is not None]
        links += [e.text for e in root.iter(f"{ATOM}icon", f"{ATOM}logo")]
    assert len(guids) == len(set(guids)), (rel, guids)
    assert all(is_absolute(u) for u in links), (rel, [u for u in links if not is_absolute(u)])
    assert len(parsed.entries) == len(guids), rel
    check_dates(rel, [(etree.QName(e).localname, e.text) for e in root.iter() if isinstance(e.tag, str)
                      and etree.QName(e).localname in ("pubDate", "lastBuildDate", "updated", "published")])


def check_json_feed(rel: str, data: bytes) -> None:
    """JSON Feed 1.1: the required structure and the types of the members feedd writes."""
    feed = json.loads(data)
    assert isinstance(feed, dict) and feed["version"] == "https://jsonfeed.org/version/1.1", rel
    assert isinstance(feed["title"], str) and feed["title"], rel
    assert isinstance(feed["items"], list), rel
    links = [feed.get("home_page_url"), feed.get("feed_url")] + [feed[k] for k in ("icon", "favicon") if k in feed]
    for author in feed.get("authors", []):
        assert isinstance(author, dict) and isinstance(author.get("name"), str), rel
    ids = []
    for item in feed["items"]:
        assert isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"], (rel, item)
        ids.append(item["id"])
        assert isinstance(item.get("content_html"), str) or isinstance(item.get("content_text"), str), (rel, item)
        for key in ("title", "summary", "content_html", "content_text"):
            assert key not in item or isinstance(item[key], str), (rel, key)
        for key in ("date_published", "date_modified"):
            if key in item:
                assert datetime.fromisoformat(item[key]).tzinfo is not None, (rel, item[key])
                check_dates(rel, [(key, item[key])])
        assert isinstance(item.get("tags", []), list) and all(isinstance(t, str) for t in item.get("tags", []))
        links += [item.get("url")] + [item[k] for k in ("image", "external_url") if k in item]
        for author in item.get("authors", []):
            assert isinstance(author, dict) and isinstance(author.get("name"), str), (rel, author)
            links += [author["url"]] if "url" in author else []
        links += [r["url"] for r in item.get("_feedd", {}).get("related", [])]
    assert len(ids) == len(set(ids)), (rel, ids)
    assert all(is_absolute(u) for u in links), (rel, [u for u in links if not is_absolute(u)])


def check_output(out: Path) -> int:
    """Every file parses and keeps the properties; returns how many feed files were checked."""
    feeds = 0
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        rel, data = path.relative_to(out).as_posix(), path.read_bytes()
        if rel.endswith(".gz"):
            assert gzip.decompress(data) == (out / rel[:-3]).read_bytes(), rel
        elif rel.endswith((".rss", ".atom")):
            check_xml_feed(rel, data)
            feeds += 1
        elif rel.endswith(".json"):
            check_json_feed(rel, data)
            feeds += 1
        elif rel.endswith(".opml"):
            root = etree.fromstring(data)
            assert root.tag == "opml", rel
            urls = [o.get(k) for o in root.iter("outline") if o.get("type") for k in ("xmlUrl", "htmlUrl")]
            assert all(is_absolute(u) for u in urls), (rel, urls)
        elif rel.endswith(".html"):
            assert lxml_html.document_fromstring(data) is not None, rel
    return feeds


def config_for(root: Path, extra: dict, name: str = "public"):
    """A config over root/articles; a ConfigError (a setting feedd refuses) is the one other allowed outcome."""
    (root / "articles").mkdir(exist_ok=True)
    try:
        config = make_config(root / "articles", root / name, **extra)
    except ConfigError:
        reject()
    paths = config.paths.model_copy(update={"state": root / f"{name}-state"})
    return config.model_copy(update={"paths": paths})


def same_slugs(source: Config, target: Config) -> None:
    """Give the target state the slugs the source state has given names."""
    given = Store(source)
    try:
        rows = given.slugs()
    finally:
        given.close()
    fresh = Store(target)
    try:
        fresh.save_slugs(rows)
    finally:
        fresh.close()


# -- properties ------------------------------------------------------------------------------------------------


@SETTINGS
@given(meta=front_matter(), style=st.integers(0, 2))
def test_any_front_matter_builds_valid_feeds(meta, style):
    """One article with any front matter: the build never raises or fails, and every file it writes is valid."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = config_for(root, {})
        (root / "articles" / "a.md").write_text(f"---\n{render_front(meta, style)}---\nBody.\n", encoding="utf-8")
        report = build(config, now=NOW)
        assert report.failed == [], report.diagnostics
        check_output(root / "public")


@pytest.mark.slow
@settings(SETTINGS, max_examples=100 * SCALE)
@given(files=folders(), extra=sections)
def test_any_folder_builds_valid_feeds_and_rebuilds_write_nothing(files, extra):
    """A whole folder and config: valid feeds, unique ids, absolute links; rebuilding writes nothing."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = config_for(root, extra)
        write_folder(root / "articles", files)
        report = build(config, now=NOW)
        assert report.failed == [], report.diagnostics
        out = root / "public"
        assert (out / "index.html").is_file() and (out / "feeds.opml").is_file()
        check_output(out)

        before = snapshot(out, with_times=True)
        again = build(config, now=NOW)  # a new Builder, from the saved index
        assert (again.written, again.removed, again.failed) == ([], [], [])
        builder = Builder(config, workers=1)  # and one Builder building twice
        try:
            assert builder.build(NOW).written == []
            assert builder.build(NOW).written == []
        finally:
            builder.close()
        assert snapshot(out, with_times=True) == before


edits = st.one_of(
    st.tuples(st.just("rewrite"), st.integers(0, 20), article_file()),
    st.tuples(st.just("delete"), st.integers(0, 20), st.none()),
    st.tuples(st.just("add"), st.integers(0, 20), article_file()),
    st.tuples(st.just("text"), st.integers(0, 20), full_text(["A title", "Robots arrive"])),
    st.tuples(st.just("later"), st.integers(0, 20), st.none()),  # the embargo on FUTURE ends: a rescan
    st.tuples(st.just("move"), st.integers(0, 20), st.sampled_from(["moved.md", "sub/moved.md", "new/moved.md"])),
    st.tuples(st.just("rmdir"), st.integers(0, 20), st.sampled_from(["sub", "sub/deeper", "new"])),
)


@pytest.mark.slow
@settings(SETTINGS, max_examples=80 * SCALE)
@given(files=folders(max_articles=4), extra=sections, changes=st.lists(edits, min_size=1, max_size=3))
def test_incremental_build_matches_a_full_build(files, extra, changes):
    """Random edits applied with Builder.build(paths=...) give the same bytes as a fresh full build (without
    retention, which keeps a feed published after its articles are gone: a fresh build has no such history)."""
    extra = {**extra, "families": no_retention(extra.get("families"))}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = config_for(root, extra)
        articles = root / "articles"
        paths = write_folder(articles, files)
        builder, now = Builder(config, workers=1, allow_mass_removal=True), NOW  # the guard has its own tests
        try:
            builder.build(now)
            for kind, which, content in changes:
                path = paths[which % len(paths)]
                if kind == "later":
                    now += timedelta(days=3, seconds=which)
                    report = builder.build(now)
                    assert report.failed == [], report.diagnostics
                    continue
                changed = {str(path)}
                if kind == "delete":
                    path.unlink(missing_ok=True)
                elif kind == "move" and path.exists():
                    target = articles / content
                    target.parent.mkdir(parents=True, exist_ok=True)
                    path.rename(target)
                    changed.add(str(target))
                elif kind == "rmdir":
                    shutil.rmtree(articles / content, ignore_errors=True)
                    changed = {str(articles / content)}
                elif kind == "add":
                    path = articles / f"new{which:02d}.md"
                    path.write_text(content[0], encoding="utf-8")
                elif kind == "text":
                    path = articles / f"newtext{which:02d}.txt"
                    path.write_text(content, encoding="utf-8")
                elif kind == "rewrite":
                    path.parent.mkdir(parents=True, exist_ok=True)  # its folder may have been removed
                    path.write_text(content[0], encoding="utf-8")
                report = builder.build(now, paths=changed | {str(path)})
                assert report.failed == [], report.diagnostics
        finally:
            builder.close()
        reference = config_for(root, extra, name="reference")
        same_slugs(config, reference)  # first come, first served: a fresh build gives names slugs in name order
        full = build(reference, now=now)
        assert full.failed == []
        assert snapshot(root / "public") == snapshot(root / "reference")
        assert (report.articles, report.open_diagnostics) == (full.articles, full.open_diagnostics)
        before = snapshot(root / "public", with_times=True)
        again = build(config, now=now)  # a restart after the incremental builds: its saved state is right
        assert (again.written, again.removed, again.failed) == ([], [], [])
        assert snapshot(root / "public", with_times=True) == before
        shutil.rmtree(root / "reference")
