"""feedd/ingest/store/: the state database (files, the record of what is published) and the record format."""

from __future__ import annotations

import dataclasses
import math
import pickle
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feedd.config import Config
from feedd.ingest.corpus import list_files
from feedd.ingest.fields import article_id
from feedd.ingest.parse import Parsed
from feedd.ingest.store import Store, fingerprint, from_record, parse_rows, slim, to_record, to_row
from feedd.ingest.store import database as store_module
from feedd.ingest.store.records import full_article
from feedd.models import Article, Diagnostic, Image, Provider, Related
from feedd.pipeline import build
from tests.helpers import NOW, make_config, write_article


@pytest.fixture
def config(articles_dir: Path) -> Config:
    return make_config(articles_dir)


def rows_of(config: Config):
    """Every file of the articles folder parsed as the index does, ready for Store.save."""
    entries = list(list_files(config.paths.articles))
    return parse_rows((entries, config.limits.max_file_bytes, config.site.timezone))


def stored(store: Store) -> dict[str, str | None]:
    """rel → title of every file's slim record (None: no article)."""
    return {p.rel: p.article.title if p.article else None for p in store.files()}


@pytest.fixture
def three_files(articles_dir: Path):
    write_article(articles_dir, "a.md", title='"Alpha"')
    write_article(articles_dir, "b.md", title='"Beta"')
    (articles_dir / "c.txt").write_text("Alpha\n\nThe full text.\n", encoding="utf-8")


# -- files ---------------------------------------------------------------------------------------------------

def test_save_files_forget_round_trip_across_a_reopen(config: Config, three_files):
    store = Store(config)
    assert not store.has_files()
    saved = store.save(rows_of(config))
    assert [p.rel for p in saved] == ["a.md", "b.md", "c.txt"]
    assert all(p.article is None or p.article.excerpt is None for p in saved)  # slim: what selection needs
    store.forget(["b.md", "not-stored.md"])
    store.close()
    again = Store(config)
    try:
        assert again.has_files()
        assert stored(again) == {"a.md": "Alpha", "c.txt": None}
        by_rel = {p.rel: p for p in again.files()}
        assert by_rel["c.txt"].title_key == "alpha"
        assert {p.rel: p.signature for p in saved if p.rel != "b.md"} == {r: p.signature for r, p in by_rel.items()}
        assert {p.rel: p.digest for p in saved if p.rel != "b.md"} == {r: p.digest for r, p in by_rel.items()}
    finally:
        again.close()


def test_saving_a_file_again_replaces_its_record(config: Config, articles_dir: Path, three_files):
    store = Store(config, persist=False)
    try:
        store.save(rows_of(config))
        write_article(articles_dir, "a.md", title='"Alpha, edited"')
        store.save([row for row in rows_of(config) if row[0] == "a.md"])
        assert stored(store) == {"a.md": "Alpha, edited", "b.md": "Beta", "c.txt": None}
    finally:
        store.close()


def test_read_whole_gives_the_full_article_and_the_chosen_full_text(config: Config, articles_dir: Path):
    write_article(articles_dir, "a.md", title='"Alpha"', excerpt='"The excerpt"', images='[{url: "https://e.com/i.png"}]')
    (articles_dir / "c.txt").write_text("Alpha\n\nThe full text.\n", encoding="utf-8")
    store = Store(config, persist=False)
    try:
        saved = {p.rel: p for p in store.save(rows_of(config))}
        article = saved["a.md"].article
        assert article.excerpt is None and article.images == ()
        whole = store.read_whole(article, "c.txt")
        assert (whole.excerpt, [i.url for i in whole.images], whole.body) == \
            ("The excerpt", ["https://e.com/i.png"], "The full text.")
        assert store.read_whole(article, None).body is None
        assert store.read_whole(article, None).excerpt == "The excerpt"
    finally:
        store.close()


def test_start_over_forgets_files_and_what_is_published(config: Config, three_files):
    store = Store(config)
    store.save(rows_of(config))
    store.save_published_feeds({"feeds/all": ("f1", 3, "All")})
    store.save_pages_fingerprint("p1")
    store.start_over()
    assert (store.has_files(), store.published_feeds(), store.pages_fingerprint()) == (False, {}, None)
    store.save(rows_of(config))  # still usable: fresh tables
    store.close()
    again = Store(config)
    try:
        assert list(stored(again)) == ["a.md", "b.md", "c.txt"]
    finally:
        again.close()


# -- a damaged or old database is started over ------------------------------------------------------------

def test_a_file_that_is_not_a_database_is_started_over(config: Config, three_files, caplog):
    config.paths.state.mkdir(parents=True)
    path = config.paths.state / "index.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    (config.paths.state / "index.sqlite-wal").write_bytes(b"nor is this")
    store = Store(config)
    try:
        assert "is unusable" in caplog.text
        assert not store.has_files()
        store.save(rows_of(config))
        assert len(stored(store)) == 3
    finally:
        store.close()


@pytest.mark.parametrize("key", ["fingerprint", "code"])
def test_a_database_of_other_parse_settings_or_code_forgets_its_records(config: Config, three_files, key: str):
    """Another schema or other parse settings drop the files table; another feedd version only the record of
    what is published (its files still parse the same)."""
    store = Store(config)
    store.save(rows_of(config))
    store.save_published_feeds({"feeds/all": ("f1", 3, "All")})
    store.save_pages_fingerprint("p1")
    store._db.execute("UPDATE meta SET value = 'from another feedd' WHERE key = ?", (key,))
    store.close()
    again = Store(config)
    try:
        assert again.published_feeds() == {} and again.pages_fingerprint() is None
        assert again.has_files() is (key == "code")
    finally:
        again.close()


@pytest.mark.parametrize("setting", ["timezone", "max_file_bytes", "articles"])
def test_the_parse_fingerprint_covers_every_setting_parsing_depends_on(config: Config, tmp_path: Path, setting: str):
    other = {"timezone": make_config(config.paths.articles, site={"timezone": "Asia/Tokyo"}),
             "max_file_bytes": make_config(config.paths.articles, limits={"max_file_bytes": 1000}),
             "articles": make_config(tmp_path / "elsewhere")}[setting]
    assert fingerprint(other) != fingerprint(config)
    assert fingerprint(make_config(config.paths.articles, site={"title": "Another title"})) == fingerprint(config)


def test_the_code_fingerprint_drops_only_the_record_of_what_is_published(config: Config, three_files, monkeypatch):
    store = Store(config)
    store.save(rows_of(config))
    store.save_published_feeds({"feeds/all": ("f1", 3, "All")})
    store.save_pages_fingerprint("p1")
    store.close()
    monkeypatch.setattr(store_module, "code_fingerprint", lambda: "a newer feedd")
    upgraded = Store(config)
    try:
        assert upgraded.published_feeds() == {} and upgraded.pages_fingerprint() is None
        assert list(stored(upgraded)) == ["a.md", "b.md", "c.txt"]  # no file is parsed again
        upgraded.save_published_feeds({"feeds/all": ("f2", 3, "All")})
    finally:
        upgraded.close()
    again = Store(config)  # the same version again: what it recorded stays
    try:
        assert again.published_feeds() == {"feeds/all": ("f2", 3, "All")}
    finally:
        again.close()


@pytest.mark.parametrize("state", ["old schema", "old shape, current fingerprint", "garbage"])
def test_an_old_or_broken_index_is_rebuilt_not_fatal(seeds_dir: Path, tmp_path: Path, state: str):
    config = make_config(seeds_dir, tmp_path / "public")
    config.paths.state.mkdir(parents=True)
    db_path = config.paths.state / "index.sqlite"
    if state == "garbage":
        db_path.write_bytes(b"this is not a database" * 100)
    else:
        with sqlite3.connect(db_path) as db:
            db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
            db.execute("CREATE TABLE files (rel TEXT PRIMARY KEY, parsed BLOB, body TEXT)")
            fingerprint_ = "from an older feedd"
            if state.endswith("current fingerprint"):
                fingerprint_ = fingerprint(config)
            db.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (fingerprint_,))
    report = build(config, now=NOW)
    assert report.articles["published"] == 1
    assert build(config, now=NOW).written == []


# -- what is published --------------------------------------------------------------------------------------

def test_the_record_of_published_feeds_and_pages_persists(config: Config):
    store = Store(config)
    assert (store.published_feeds(), store.pages_fingerprint()) == ({}, None)
    store.save_published_feeds({"feeds/all": ("f1", 50, "All"), "feeds/topics/ai": ("f2", 7, "AI"),
                                "feeds/topics/old": ("f3", 1, "Old")})
    store.save_published_feeds({"feeds/topics/ai": ("f2b", 6, "AI"), "feeds/topics/old": None})  # None: it is gone
    store.save_pages_fingerprint("p1")
    store.save_pages_fingerprint("p2")
    store.close()
    again = Store(config)
    try:
        assert again.published_feeds() == {"feeds/all": ("f1", 50, "All"), "feeds/topics/ai": ("f2b", 6, "AI")}
        assert again.pages_fingerprint() == "p2"
    finally:
        again.close()


def test_an_in_memory_store_leaves_nothing_on_disk(config: Config, three_files):
    store = Store(config, persist=False)
    try:
        assert not store.shared
        store.save(rows_of(config))
        store.save_published_feeds({"feeds/all": ("f1", 3, "All")})
    finally:
        store.close()
    assert not config.paths.state.exists()


# -- the slugs given to names: subscribers hold those URLs, so they outlive everything that is only a cache --
# (issue 13, point 12)

ROBOTS = ("topics", "robots", "robots-2", "robots", "Robots")
BOT = ("topics", "🤖 robots", "robots", "robots", "🤖 Robots")


def kept(config: Config, persist: bool = True) -> list[tuple]:
    db = Store(config, persist=persist)
    try:
        return sorted(db.slugs())
    finally:
        db.close()


def keep(config: Config, *rows: tuple) -> None:
    db = Store(config)
    try:
        db.save_slugs(list(rows))
    finally:
        db.close()


def test_slugs_are_kept(config: Config):
    keep(config, BOT)
    keep(config, ROBOTS, ("topics", "robots!", "robots", "robots", "Robots!"))  # robots is 🤖 Robots's for good
    assert kept(config) == sorted([BOT, ROBOTS])


def test_slugs_outlive_other_parse_settings_and_another_feedd_version(config: Config, monkeypatch):
    keep(config, BOT)
    other = config.model_copy(update={"site": config.site.model_copy(update={"timezone": "Europe/Paris"})})
    assert store_module.fingerprint(other) != store_module.fingerprint(config)
    monkeypatch.setattr(store_module, "code_fingerprint", lambda: "a newer version")
    db = Store(other)
    try:
        assert db.slugs() == [BOT]
        db.start_over()  # an unreadable index is rebuilt: the slugs stay
        assert db.slugs() == [BOT]
    finally:
        db.close()


def test_a_state_that_is_not_a_database_starts_over_without_slugs(config: Config):
    keep(config, BOT)
    path = config.paths.state / "index.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"garbage" * 100)
    assert kept(config) == []


def test_feedd_check_reads_the_slugs_of_the_state_and_writes_none(config: Config):
    keep(config, BOT)
    db = Store(config, persist=False)
    try:
        assert db.slugs() == [BOT]
        db.save_slugs([ROBOTS])
    finally:
        db.close()
    assert kept(config) == [BOT]


@pytest.mark.parametrize("state", ["none", "old", "garbage"])
def test_feedd_check_without_slugs_in_the_state(config: Config, state: str):
    path = config.paths.state / "index.sqlite"
    if state != "none":
        config.paths.state.mkdir()
        if state == "old":  # a feedd from before slugs were kept
            sqlite3.connect(path).execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)").connection.close()
        else:
            path.write_bytes(b"garbage")
    assert kept(config, persist=False) == []
    assert not config.paths.state.exists() or state != "none"


# -- the record format ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("year", [1, 1969, 2021, 9999])
def test_compact_records_keep_times_exactly(year):
    when = datetime(year, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    article = slim(Article(id="urn:x", source="a.md", title="T", link="https://e.com/a", published_at=when,
                           heat=3.0, topics=("AI", "Robots"), provider=Provider("Wired", "wired.com", None)))
    assert from_record("a.md", to_record(Parsed("a.md", (1, 2, 3), article)), "d").article == article


def test_compact_records_keep_every_field_selection_uses():
    article = Article(id="urn:x", source="a.md", title="T", link="https://e.com/a", published=False,
                      published_at=datetime(2024, 5, 1, 9, 30, tzinfo=ZoneInfo("Europe/Paris")), excerpt="E",
                      heat=3.5, quality=0.75, category="Tech", type="video", images=(Image("https://e.com/i.png"),),
                      provider=Provider("Wired", "wired.com", "https://e.com/logo.png"), topics=("AI", "Robots"),
                      title_key="t")
    parsed = Parsed("a.md", (1, 2, 3), slim(article), has_body=True, title_key="k", first_line="F",
                    diagnostics=[Diagnostic("a.md", "warning", "w")], rejected=True)
    back = from_record("a.md", to_record(parsed), "d")
    assert back.article == slim(article)
    assert back.article.published_at.utcoffset() == article.published_at.utcoffset()
    assert (back.signature, back.has_body, back.title_key, back.first_line, back.diagnostics, back.rejected,
            back.digest) == ((1, 2, 3), True, "k", "F", tuple(parsed.diagnostics), True, "d")


def test_compact_records_share_what_many_articles_repeat():
    """At 100k articles, a copy of the file name as the article's source and a category, a type, a heat and a
    quality object per article were about 24 MB of the index in memory. Signs and NaN stay as written."""
    def loaded(rel: str, heat: float) -> Article:
        article = Article(id=f"urn:{rel}", source=rel, title="T", link=f"https://e.com/{rel}", heat=heat, quality=80.0,
                          published_at=datetime(2024, 5, 1, tzinfo=UTC), category="news", type="article")
        back = from_record(rel, to_record(Parsed(rel, (1, 2, 3), article)), "d").article
        assert back is not None and back.source is rel
        return back

    first, second = loaded("a.txt", 12.0), loaded("b.txt", 12.0)
    assert (first.heat, first.quality, first.category, first.type) == (12.0, 80.0, "news", "article")
    for name in ("heat", "quality", "category", "type"):
        assert getattr(first, name) is getattr(second, name)
    assert math.copysign(1.0, loaded("c.txt", -0.0).heat) == -1.0
    assert math.isnan(loaded("d.txt", math.nan).heat)


def test_full_records_are_plain_values_and_read_back_whole():
    """Every feed item a cold build renders is read back from its full record (100k at 100k articles): plain
    tuples unpickle in half the time of the Parsed and Article objects they used to be."""
    whole = Article(id="urn:x", source="a.md", title="T", link="https://e.com/a", excerpt="E", heat=3.5, quality=1.0,
                    published_at=datetime(2024, 5, 1, 9, 30, tzinfo=UTC), category="Tech", type="video",
                    provider=Provider("Wired", "wired.com", "https://e.com/l.png"), topics=("AI",),
                    images=(Image("https://e.com/i.png", 800, None),),
                    related=(Related("R", "https://e.com/r"), Related("S", "https://www.e.com/s/")), title_key="t")
    rel, record, digest, full, body, targets = to_row(Parsed("a.md", (1, 2, 3), whole, has_body=True, body="Text."))
    stored_full = pickle.loads(full)
    assert type(stored_full) is tuple and type(stored_full[1]) is tuple  # no dataclass in it
    assert full_article(full, body) == dataclasses.replace(whole, body="Text.")
    assert full_article(pickle.dumps(((1, 2, 3), None))) is None
    # the slim record and the related links' targets are made from the same parse, as before
    assert from_record(rel, record, digest).article == slim(whole)
    assert targets == (article_id("https://e.com/r", ""), article_id("https://www.e.com/s/", ""))


def test_a_state_with_records_of_another_shape_is_started_over(config: Config, three_files, monkeypatch):
    """Full records were pickled Parsed objects up to SCHEMA 5: a state of that feedd is started over (one parse
    of every file) rather than read, and an older feedd meeting this one's state does the same."""
    monkeypatch.setattr(store_module, "SCHEMA", store_module.SCHEMA - 1)
    old = Store(config)
    old.save(rows_of(config))
    old.close()
    monkeypatch.undo()
    store = Store(config)
    try:
        assert not store.has_files()
    finally:
        store.close()


def test_compact_records_without_diagnostics_hold_no_container_of_their_own():
    """Nearly every file has no diagnostics: an empty list each was 9 MB at 100k articles, and a third of the
    objects the cycle collector walks after a restart loads the index."""
    first, second = (from_record(rel, to_record(Parsed(rel, (1, 2, 3))), "d") for rel in ("a.txt", "b.txt"))
    assert first.diagnostics == () and first.diagnostics is second.diagnostics


def test_retained_feeds_survive_what_drops_the_record_of_published_feeds(tmp_path):
    """Subscribers hold the URLs of retained feeds: a new version (code) or other parse settings keep them."""
    from datetime import UTC, datetime

    since = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    config = make_config(tmp_path / "articles")
    store = Store(config)
    store.save_retained({"feeds/topics/ai": ("AI", since), "feeds/topics/old": ("Old", since)})
    store.save_retained({"feeds/topics/old": None})
    store.close()
    other = make_config(tmp_path / "articles", site={"timezone": "Asia/Tokyo"})  # another parse fingerprint
    again = Store(other)
    try:
        assert again.retained() == {"feeds/topics/ai": ("AI", since)}
        again.start_over()
        assert again.retained() == {"feeds/topics/ai": ("AI", since)}
    finally:
        again.close()


def test_the_code_fingerprint_covers_every_module_and_template_of_the_package():
    """An upgrade that changes how any feed is rendered must render every feed again once."""
    names = {name for name, _ in store_module.package_files()}
    assert {"pipeline.py", "feeds/render.py", "feeds/templates/feed.html", "ingest/store/records.py",
            "serve/app.py"} <= names
