"""feedd/feeds/selection.py: which articles are visible, which feeds exist, what goes in each."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from feedd.config import validate_config
from feedd.feeds.selection import is_visible
from feedd.feeds.slugs import slug
from feedd.models import Article, Provider
from tests.helpers import NOW, plan_all

WIRED = Provider("Wired", "wired.com", "https://wired.example/logo.png")
SCMP = Provider("South China Morning Post", "scmp.com")


def art(name: str, age: timedelta = timedelta(hours=1), **fields) -> Article:
    """An article published `age` before NOW (negative: embargoed)."""
    return Article(id=f"urn:{name}", source=f"{name}.txt", title=name.title(), link=f"https://example.com/{name}",
                   published_at=NOW - age, **fields)


def plan(articles, **config):
    """Feed path → ids of its items, for a config given as keyword sections."""
    return {p.spec.path: [a.id for a in p.items] for p in plan_all(validate_config(config), articles, NOW)}


def ids(*names: str) -> list[str]:
    return [f"urn:{n}" for n in names]


# --- visibility ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("published", "age", "visible"), [
    (True, timedelta(days=3), True),
    (True, timedelta(0), True),  # due right now
    (True, -timedelta(seconds=1), False),  # embargoed
    (True, -timedelta(days=30), False),
    (False, timedelta(days=3), False),  # withheld
    (False, -timedelta(days=3), False),
])
def test_is_visible(published, age, visible):
    assert is_visible(art("a", age, published=published), NOW) is visible


# --- the `all` feed and the families -------------------------------------------------------------------


def test_all_feed_holds_only_visible_articles():
    articles = [art("old", timedelta(days=2)), art("new", timedelta(hours=1)),
                art("withheld", published=False), art("embargoed", -timedelta(hours=1))]
    assert plan(articles)["feeds/all"] == ids("new", "old")


def test_one_feed_per_topic_provider_and_category():
    articles = [
        art("a", topics=("AI Hardware", "Robotics"), provider=WIRED, category="news"),
        art("b", timedelta(hours=2), topics=("Robotics",), provider=SCMP, category="opinion"),
    ]
    feeds = plan(articles)
    assert feeds["feeds/topics/ai-hardware"] == ids("a")
    assert feeds["feeds/topics/robotics"] == ids("a", "b")
    assert feeds["feeds/providers/wired-com"] == ids("a")
    assert feeds["feeds/providers/scmp-com"] == ids("b")
    assert feeds["feeds/categories/news"] == ids("a")
    assert feeds["feeds/categories/opinion"] == ids("b")
    assert len(feeds) == 1 + 2 + 2 + 2


def test_provider_without_domain_is_grouped_by_name():
    feeds = plan([art("a", provider=Provider("Local Paper"))])
    assert feeds["feeds/providers/local-paper"] == ids("a")


def test_invisible_articles_create_no_family_feed():
    feeds = plan([art("w", topics=("Secret",), published=False), art("e", -timedelta(hours=1), topics=("Future",))])
    assert not any(path.startswith("feeds/topics/") for path in feeds)


def test_min_items_drops_small_groups():
    articles = [art("a", topics=("Big", "Small")), art("b", topics=("Big",))]
    feeds = plan(articles, families={"topics": {"min_items": 2}})
    assert "feeds/topics/big" in feeds
    assert "feeds/topics/small" not in feeds


@pytest.mark.parametrize("family", ["topics", "providers", "categories"])
def test_disabled_family_has_no_feeds(family):
    articles = [art("a", topics=("T",), provider=WIRED, category="news")]
    feeds = plan(articles, families={family: {"enabled": False}})
    assert not any(path.startswith(f"feeds/{family}/") for path in feeds)
    others = {"topics", "providers", "categories"} - {family}
    assert all(any(path.startswith(f"feeds/{o}/") for path in feeds) for o in others)


def test_family_title_pattern():
    config = validate_config({"site": {"title": "Digest"}, "families": {"topics": {"title": "{name} by {site}"}}})
    (topic,) = [p for p in plan_all(config, [art("a", topics=("AI",))], NOW) if p.spec.path == "feeds/topics/ai"]
    assert topic.spec.title == "AI by Digest"


def test_each_feed_has_a_name_for_the_index_without_the_site_title():
    config = validate_config({"site": {"title": "Digest"}, "feeds": [{"name": "top"}, {"name": "hot", "title": "Hot"}]})
    specs = {p.spec.path: p.spec for p in plan_all(config, [art("a", topics=("AI Hardware",), provider=WIRED)], NOW)}
    assert {path: (spec.name, spec.title) for path, spec in specs.items()} == {
        "feeds/all": ("All articles", "Digest"),
        "feeds/top": ("top", "Digest: top"),
        "feeds/hot": ("Hot", "Hot"),
        "feeds/topics/ai-hardware": ("AI Hardware", "Digest: AI Hardware"),
        "feeds/providers/wired-com": ("Wired", "Digest: Wired"),
    }


def test_topics_differing_only_in_case_merge_into_one_feed():
    articles = [art("a", topics=("AI",)), art("b", topics=("ai",)), art("c", topics=("AI",))]
    plans = [p for p in plan_all(validate_config({}), articles, NOW) if p.spec.path.startswith("feeds/topics/")]
    assert len(plans) == 1
    assert plans[0].spec.slug == "ai"
    assert sorted(a.id for a in plans[0].items) == ids("a", "b", "c")
    assert "AI" in plans[0].spec.title  # the most common spelling


def test_defaults_min_quality_applies_to_auto_families():
    articles = [art("good", quality=90, topics=("T",), provider=WIRED, category="news"),
                art("poor", quality=10, topics=("T",), provider=WIRED, category="news"),
                art("unrated", topics=("T",), provider=WIRED, category="news")]
    feeds = plan(articles, defaults={"min_quality": 50})
    for path in ("feeds/all", "feeds/topics/t", "feeds/providers/wired-com", "feeds/categories/news"):
        assert feeds[path] == ids("good"), path


def test_an_article_exactly_at_defaults_min_quality_is_in_every_feed():
    """README: articles *below* defaults.min_quality are left out; one exactly at it is not below."""
    articles = [art("at", quality=50, topics=("T",), provider=WIRED, category="news"),
                art("below", quality=49.99, topics=("T",), provider=WIRED, category="news")]
    feeds = plan(articles, defaults={"min_quality": 50}, feeds=[{"name": "mine"}])
    for path in ("feeds/all", "feeds/mine", "feeds/topics/t", "feeds/providers/wired-com", "feeds/categories/news"):
        assert feeds[path] == ids("at"), path


def test_an_article_exactly_at_a_feed_s_min_quality_is_in_it():
    articles = [art("at", quality=60), art("below", quality=59.5, age=timedelta(minutes=30))]
    feeds = plan(articles, feeds=[{"name": "good", "filter": {"min_quality": 60}}])
    assert feeds["feeds/good"] == ids("at")
    assert feeds["feeds/all"] == ids("below", "at")


def test_defaults_min_heat_hides_groups_of_cold_articles():
    feeds = plan([art("hot", heat=100, topics=("Hot",)), art("cold", heat=1, topics=("Cold",))],
                 defaults={"min_heat": 50})
    assert "feeds/topics/hot" in feeds
    assert "feeds/topics/cold" not in feeds


def test_defaults_thresholds_apply_to_configured_feeds_too():
    # README: articles below defaults.min_quality "are left out of every feed"; configured feeds used to ignore it
    articles = [art("good", quality=90, heat=10), art("poor", quality=10, heat=10), art("cold", quality=90, heat=1)]
    feeds = plan(articles, defaults={"min_quality": 50, "min_heat": 5}, feeds=[{"name": "mine"}])
    assert feeds["feeds/mine"] == ids("good")


# --- configured feeds ----------------------------------------------------------------------------------

CATALOGUE = [
    art("a", timedelta(hours=1), topics=("Machine Learning", "AI"), provider=WIRED, category="news",
        type="article", heat=100, quality=90),
    art("b", timedelta(hours=30), topics=("Robotics",), provider=SCMP, category="Opinion", type="video",
        heat=10, quality=50),
    art("c", timedelta(days=10), topics=("ai",), provider=None, category=None, type=None, heat=None, quality=None),
]


@pytest.mark.parametrize(("filter_", "expected"), [
    ({}, ["a", "b", "c"]),
    ({"topics": ["AI"]}, ["a", "c"]),  # case-insensitive
    ({"topics": ["machine learning", "robotics"]}, ["a", "b"]),  # any of
    ({"topics": ["Quantum"]}, []),
    ({"providers": ["wired"]}, ["a"]),  # by name, any case
    ({"providers": ["SCMP.com"]}, ["b"]),  # by domain
    ({"providers": ["Wired", "scmp.com"]}, ["a", "b"]),
    ({"categories": ["opinion"]}, ["b"]),
    ({"types": ["Article"]}, ["a"]),
    ({"types": ["video", "article"]}, ["a", "b"]),
    ({"min_heat": 50}, ["a"]),
    ({"min_heat": 10}, ["a", "b"]),  # inclusive
    ({"min_quality": 60}, ["a"]),
    ({"max_age": "1d"}, ["a"]),
    ({"max_age": "2d"}, ["a", "b"]),
    ({"topics": ["ai", "robotics"], "max_age": "2d", "min_quality": 60}, ["a"]),  # all conditions at once
    ({"topics": ["machine-learning"]}, ["a"]),  # a name's URL slug
    ({"topics": ["MACHINE LEARNING"]}, ["a"]),
    ({"topics": ["Machine-Learning", "ROBOTICS"]}, ["a", "b"]),
    ({"topics": ["machine learning!"]}, []),  # neither the name nor its slug
    ({"providers": ["south-china-morning-post"]}, ["b"]),  # name's slug
    ({"providers": ["wired-com"]}, ["a"]),  # domain's slug: the provider feed's URL name
    ({"categories": ["OPINION"]}, ["b"]),
])
def test_configured_feed_filters(filter_, expected):
    feeds = plan(CATALOGUE, feeds=[{"name": "mine", "filter": filter_}])
    assert feeds["feeds/mine"] == ids(*expected)


def test_a_filter_matches_as_the_feed_urls_name_it():
    """A filter value written as the topic feed's URL name selects what that feed holds."""
    articles = [art("a", topics=("AI Hardware",)), art("b", topics=("AI",)), art("c", topics=("C++",))]
    feeds = plan(articles, feeds=[{"name": "hw", "filter": {"topics": ["ai-hardware"]}},
                                  {"name": "cpp", "filter": {"topics": [slug("C++")]}}])
    assert feeds["feeds/hw"] == feeds["feeds/topics/ai-hardware"] == ids("a")
    assert feeds["feeds/cpp"] == feeds[f"feeds/topics/{slug('C++')}"] == ids("c")


@pytest.mark.parametrize(("max_age", "age", "included"), [
    ("1d", timedelta(days=1), True),  # exactly max_age old: in (README: "at most this old")
    ("1d", timedelta(days=1, microseconds=1), False),
    ("1d", timedelta(days=1) - timedelta(microseconds=1), True),
    ("36h", timedelta(hours=36), True),
    ("PT90M", timedelta(minutes=90), True),
    ("PT90M", timedelta(minutes=90, seconds=1), False),
])
def test_max_age_keeps_articles_at_most_that_old(max_age: str, age: timedelta, included: bool):
    feeds = plan([art("edge", age)], feeds=[{"name": "recent", "filter": {"max_age": max_age}}])
    assert feeds["feeds/recent"] == (ids("edge") if included else [])
    assert feeds["feeds/all"] == ids("edge")


def test_configured_feed_excludes_invisible_articles():
    articles = [art("ok", topics=("AI",)), art("w", topics=("AI",), published=False),
                art("e", -timedelta(hours=1), topics=("AI",))]
    assert plan(articles, feeds=[{"name": "ai", "filter": {"topics": ["AI"]}}])["feeds/ai"] == ids("ok")


def test_configured_feed_exists_even_when_empty():
    assert plan([], feeds=[{"name": "empty", "filter": {"topics": ["nothing"]}}])["feeds/empty"] == []


def test_configured_feed_settings_override_defaults():
    config = validate_config({"defaults": {"sort": "heat", "limit": 7, "content": "full"},
                              "feeds": [{"name": "own", "sort": "trending", "limit": 2, "half_life": "6h"},
                                        {"name": "inherits"}]})
    specs = {p.spec.slug: p.spec for p in plan_all(config, [], NOW)}
    own, inherits = specs["own"].settings, specs["inherits"].settings
    assert (own.sort, own.limit, own.half_life) == ("trending", 2, timedelta(hours=6))
    assert (inherits.sort, inherits.limit, inherits.content) == ("heat", 7, "full")


def test_limit_keeps_the_newest_but_total_counts_all():
    articles = [art(f"n{i}", timedelta(hours=i + 1)) for i in range(5)]
    (everything,) = [p for p in plan_all(validate_config({"defaults": {"limit": 2}}), articles, NOW)
                     if p.spec.path == "feeds/all"]
    assert [a.id for a in everything.items] == ids("n0", "n1")
    assert everything.total == 5


# --- slugs ---------------------------------------------------------------------------------------------

URL_SAFE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@pytest.mark.parametrize(("name", "expected"), [
    ("wired.com", "wired-com"),
    ("AI Hardware", "ai-hardware"),
    ("  AI   Hardware ", "ai-hardware"),
])
def test_slug(name, expected):
    assert slug(name) == expected


@pytest.mark.parametrize(("a", "b"), [("C++", "C"), ("C#", "C"), ("C++", "C#"), ("🔥", "🚀"), ("人工智能", "机器学习")])
def test_distinct_names_get_distinct_slugs(a, b):
    assert slug(a) != slug(b)


@pytest.mark.parametrize("name", ["🔥", "🔥🚀", "人工智能", "機械学習", "Ünïcödé", "C++", "Ωμέγα", "a/b?c#d",
                                  "x" * 500])
def test_slug_is_never_empty_and_url_safe(name):
    value = slug(name)
    assert URL_SAFE.match(value), value
    assert len(value) <= 80


def test_emoji_topic_gets_its_own_feed():
    feeds = plan([art("a", topics=("🔥",)), art("b", topics=("AI",))])
    topic_feeds = [p for p in feeds if p.startswith("feeds/topics/")]
    assert len(topic_feeds) == 2
    assert feeds[f"feeds/topics/{slug('🔥')}"] == ids("a")
