"""Names that slugify alike get a feed each, and keep it (issue 13, point 12): `Robots` and `🤖 Robots` were one
feed `topics/robots`, and `🔥` was `topics/x-u0001f525`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from feedd.cli import main
from feedd.pipeline import Builder
from tests.helpers import NOW, make_config, write_article

pytestmark = pytest.mark.usefixtures("keep_logging")

ROBOTS, BOT = "https://example.com/robots.md", "https://example.com/bot.md"


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    write_article(folder, "intro.md", topics="[News]")  # so that no build here empties `all`
    return folder


def robots(folder: Path, name: str = "robots.md") -> Path:
    return write_article(folder, name, title='"Plain robots"', webUrl=f'"{ROBOTS}"', topics="[Robots]")


def bot(folder: Path, name: str = "bot.md") -> Path:
    return write_article(folder, name, title='"Emoji robots"', webUrl=f'"{BOT}"', topics='["🤖 Robots"]')


def build(articles: Path, paths: set[Path] | None = None, builder: Builder | None = None, **sections):
    """One build (a fresh Builder: a restart, unless one is given); what each topic feed holds."""
    own = builder is None
    builder = builder or Builder(make_config(articles, **sections), workers=1)
    try:
        report = builder.build(NOW, paths=None if paths is None else {str(p) for p in paths})
        assert report.ok, report.diagnostics
    finally:
        if own:
            builder.close()
    return topic_feeds(articles.parent / "public")


def topic_feeds(out: Path) -> dict[str, list[str]]:
    return {p.stem: [item["url"] for item in json.loads(p.read_bytes())["items"]]
            for p in sorted((out / "feeds" / "topics").glob("*.json"))}


def test_names_that_slugify_alike_get_a_feed_each(articles: Path):
    robots(articles)
    bot(articles)
    write_article(articles, "fire.md", webUrl='"https://example.com/fire"', topics='["🔥"]')
    feeds = build(articles)
    assert feeds["robots"] == [ROBOTS]
    assert feeds["robots-2"] == [BOT]
    assert feeds["fire"] == ["https://example.com/fire"]
    titles = {name: json.loads((articles.parent / "public" / "feeds" / "topics" / f"{name}.json").read_bytes())["title"]
              for name in ("robots", "robots-2", "fire")}
    assert titles == {"robots": "feedd: Robots", "robots-2": "feedd: 🤖 Robots", "fire": "feedd: 🔥"}


@pytest.mark.parametrize(("first", "second"), [("a.md", "b.md"), ("b.md", "a.md")])
@pytest.mark.parametrize("workers", [1, 2])
def test_a_cold_build_gives_the_plain_slug_to_the_plain_name_whatever_the_parse_order(tmp_path: Path, first,
                                                                                     second, workers):
    articles = tmp_path / "articles"
    articles.mkdir()
    bot(articles, first)
    robots(articles, second)
    builder = Builder(make_config(articles), workers=workers)
    try:
        assert builder.build(NOW).ok
    finally:
        builder.close()
    assert topic_feeds(tmp_path / "public") == {"robots": [ROBOTS], "robots-2": [BOT]}


def test_new_names_in_one_burst_get_slugs_in_name_order(articles: Path):
    """A daemon's incremental build: the changed files come as a set, in no particular order."""
    builder = Builder(make_config(articles), workers=1)
    try:
        build(articles, builder=builder)
        assert build(articles, {bot(articles), robots(articles)}, builder) == {
            "news": ["https://example.com/intro.md"], "robots": [ROBOTS], "robots-2": [BOT]}
    finally:
        builder.close()


def test_a_slug_stays_with_its_name_across_restarts_and_its_first_claimants_absence(articles: Path):
    bot(articles)
    assert build(articles)["robots"] == [BOT]  # first come
    robots(articles)
    assert build(articles)["robots-2"] == [ROBOTS]  # a restart: the state says robots is taken
    assert build(articles)["robots-2"] == [ROBOTS]
    (articles / "bot.md").unlink()  # the first claimant leaves: its slug is not passed on
    feeds = build(articles)
    assert feeds["robots-2"] == [ROBOTS] and BOT not in feeds.get("robots", [])
    assert ROBOTS not in feeds.get("robots", [])
    bot(articles)  # and comes back to its own feed
    assert build(articles) == {"news": ["https://example.com/intro.md"], "robots": [BOT], "robots-2": [ROBOTS]}


def test_incremental_builds_keep_slugs_too(articles: Path):
    builder = Builder(make_config(articles), workers=1)
    try:
        build(articles, builder=builder)
        assert build(articles, {bot(articles)}, builder)["robots"] == [BOT]
        assert build(articles, {robots(articles)}, builder)["robots-2"] == [ROBOTS]
        gone = articles / "bot.md"
        gone.unlink()
        assert build(articles, {gone}, builder)["robots-2"] == [ROBOTS]
        assert build(articles, {bot(articles)}, builder)["robots"] == [BOT]
    finally:
        builder.close()


@pytest.mark.parametrize(("value", "expected"), [("robots-2", [BOT]), ("Robots", [ROBOTS]), ("robots", [ROBOTS]),
                                                 ("🤖 ROBOTS", [BOT])])
def test_a_filter_names_the_feed_its_value_is_the_slug_or_name_of(articles: Path, value, expected):
    robots(articles)
    bot(articles)
    config = make_config(articles, feeds=[{"name": "mine", "filter": {"topics": [value]}}])
    builder = Builder(config, workers=1)
    try:
        report = builder.build(NOW)
    finally:
        builder.close()
    assert [d for d in report.diagnostics if d.level == "warning"] == []  # robots-2 is a name articles have
    mine = json.loads((articles.parent / "public" / "feeds" / "mine.json").read_bytes())
    assert [item["url"] for item in mine["items"]] == expected


def test_each_provider_links_its_own_feed(articles: Path):
    """RSS <source> names the provider's feed: the one its domain was given, not the other's."""
    write_article(articles, "one.md", webUrl='"https://a-b.example/1"', provider="{name: One, domain: a-b.example}")
    write_article(articles, "two.md", webUrl='"https://a.b-example/2"', provider="{name: Two, domain: a.b-example}")
    build(articles)
    out = articles.parent / "public" / "feeds" / "providers"
    for feed, link in (("a-b-example", "https://a-b.example/1"), ("a-b-example-2", "https://a.b-example/2")):
        (item,) = etree.parse(out / f"{feed}.rss").findall("channel/item")
        assert item.findtext("link") == link
        assert item.find("source").get("url").endswith(f"/feeds/providers/{feed}.rss")


def test_check_verbose_names_the_collision_as_the_state_has_it(articles: Path, tmp_path: Path):
    bot(articles)
    build(articles)
    robots(articles)  # comes second: robots stays with 🤖 Robots
    flags = ["--articles", str(articles), "--output", str(tmp_path / "public"), "--state", str(tmp_path / "state")]
    state = sqlite3.connect(tmp_path / "state" / "index.sqlite")
    try:
        before = state.execute("SELECT * FROM slugs").fetchall()
        quiet, verbose = (CliRunner().invoke(main, ["check", *flags]),
                          CliRunner().invoke(main, ["check", "-v", *flags]))
        assert state.execute("SELECT * FROM slugs").fetchall() == before  # check writes nothing
    finally:
        state.close()
    line = ('feeds/topics/robots: info: 2 topics want the URL slug "robots"; each has its own feed: '
            '"🤖 Robots" → topics/robots, "Robots" → topics/robots-2')
    assert line in verbose.stdout.splitlines()
    assert ": info: " not in quiet.stdout
    assert quiet.exit_code == verbose.exit_code == 0


def test_the_build_says_it_once(articles: Path):
    builder = Builder(make_config(articles), workers=1)
    try:
        builder.build(NOW)
        robots(articles)
        report = builder.build(NOW, paths={str(bot(articles)), str(articles / "robots.md")})
        (said,) = [d for d in report.diagnostics if d.level == "info" and "URL slug" in d.reason]
        assert said.path == "feeds/topics/robots"
        assert report.open_diagnostics == 0  # an info: nothing is wrong
        assert not [d for d in builder.build(NOW, paths={str(articles / "intro.md")}).diagnostics
                    if "URL slug" in d.reason]  # not again until it changes
        assert [d for d in builder.build(NOW).diagnostics if "URL slug" in d.reason] == [said]  # a full build
    finally:
        builder.close()
