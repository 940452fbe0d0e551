"""feedd/feeds/membership.py: which feeds exist and what each holds, kept current one article at a time."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import pytest

from feedd.config import validate_config
from feedd.feeds import ranking
from feedd.feeds.membership import Membership
from feedd.feeds.ranking import rank
from feedd.feeds.slugs import Slugs
from feedd.models import Family, FeedKey
from tests.feeds.test_selection import SCMP, WIRED, art
from tests.helpers import NOW


def paths(feeds: Membership) -> list[str]:
    return [key.path for key in feeds.keys()]


def items(feeds: Membership, path: str) -> list[str]:
    (key,) = [k for k in feeds.keys() if k.path == path]
    return [a.id for a in feeds.plan(key).items]


def key_of(path: str) -> FeedKey:
    family, _, slug_ = path.removeprefix("feeds/").rpartition("/")
    return FeedKey(Family(family or ("all" if slug_ == "all" else "configured")), slug_)


def test_placing_many_at_once_is_placing_each_in_turn():
    """Membership.add_all (first builds) must leave exactly what add() one article at a time leaves."""
    config = validate_config({"feeds": [{"name": "wired-ai", "filter": {"topics": ["AI"], "providers": ["Wired"]}}],
                              "defaults": {"sort": "heat"}})
    articles = [art("a", topics=("AI", "Robots"), provider=WIRED, heat=5.0, category="Tech"),
                art("b", topics=("ai",), provider=SCMP, heat=1.0),
                art("c", age=-timedelta(hours=1), topics=("AI",)),  # embargoed
                art("d", published=False, topics=("AI",)),
                art("e", topics=("Robots",), provider=WIRED),
                art("a", topics=("Space",), provider=SCMP, heat=2.0)]  # a new version of "a"
    one_by_one, at_once = Membership(config, NOW), Membership(config, NOW)
    for article in articles:
        one_by_one.add(article)
    at_once.add_all(articles)
    for feeds in (one_by_one, at_once):
        feeds.members = {k: v for k, v in feeds.members.items() if v}  # add() leaves emptied groups behind
        feeds.names = {k: +v for k, v in feeds.names.items() if +v}
    assert at_once.members == one_by_one.members
    assert at_once.names == one_by_one.names
    assert at_once.placed == one_by_one.placed
    assert at_once.keys_by == one_by_one.keys_by
    assert at_once.keys() == one_by_one.keys()
    assert [at_once.plan(k) for k in at_once.keys()] == [one_by_one.plan(k) for k in one_by_one.keys()]


# -- add, remove, move -----------------------------------------------------------------------------------------

def test_an_article_moves_between_feeds_when_it_changes():
    feeds = Membership(validate_config({"feeds": [{"name": "wired", "filter": {"providers": ["Wired"]}}]}), NOW)
    touched = feeds.add(art("a", topics=("AI",), provider=WIRED, category="news"))
    assert {k.path for k in touched} == {"feeds/all", "feeds/wired", "feeds/topics/ai", "feeds/providers/wired-com",
                                         "feeds/categories/news"}
    feeds.add(art("b", topics=("AI",), provider=SCMP))
    assert items(feeds, "feeds/topics/ai") == ["urn:a", "urn:b"]
    touched = feeds.add(art("a", topics=("Robots",), provider=SCMP, category="news"))  # a new version of "a"
    assert {k.path for k in touched} == {"feeds/all", "feeds/wired", "feeds/topics/ai", "feeds/topics/robots",
                                         "feeds/providers/wired-com", "feeds/providers/scmp-com",
                                         "feeds/categories/news"}  # the feeds it left and the feeds it joined
    assert items(feeds, "feeds/topics/ai") == ["urn:b"]
    assert items(feeds, "feeds/topics/robots") == ["urn:a"]
    assert items(feeds, "feeds/wired") == []
    assert "feeds/providers/wired-com" not in paths(feeds)  # emptied: the feed is gone
    touched = feeds.remove("urn:a")
    assert {k.path for k in touched} == {"feeds/all", "feeds/topics/robots", "feeds/providers/scmp-com",
                                         "feeds/categories/news"}
    assert paths(feeds) == ["feeds/all", "feeds/wired", "feeds/topics/ai", "feeds/providers/scmp-com"]
    assert feeds.remove("urn:a") == set()  # removing what is not placed touches nothing


def test_an_article_that_becomes_invisible_leaves_every_feed():
    feeds = Membership(validate_config({}), NOW)
    feeds.add(art("a", topics=("AI",)))
    touched = feeds.add(art("a", topics=("AI",), published=False))
    assert {k.path for k in touched} == {"feeds/all", "feeds/topics/ai"}
    assert paths(feeds) == ["feeds/all"] and items(feeds, "feeds/all") == []


def test_a_group_has_a_feed_only_from_min_items_on():
    feeds = Membership(validate_config({"families": {"topics": {"min_items": 2}}}), NOW)
    feeds.add(art("a", topics=("AI",)))
    assert paths(feeds) == ["feeds/all"]
    feeds.add(art("b", topics=("AI",)))
    assert paths(feeds) == ["feeds/all", "feeds/topics/ai"]  # keys() kept from before is not what it shows
    feeds.add(art("b", topics=("Robots",)))
    assert paths(feeds) == ["feeds/all"]
    feeds.add(art("c", topics=("AI", "Robots")))
    assert paths(feeds) == ["feeds/all", "feeds/topics/ai", "feeds/topics/robots"]
    feeds.remove("urn:c")
    assert paths(feeds) == ["feeds/all"]


def test_keys_are_in_index_order():
    config = validate_config({"feeds": [{"name": "zeta"}, {"name": "alpha"}]})
    feeds = Membership(config, NOW)
    assert paths(feeds) == ["feeds/all", "feeds/zeta", "feeds/alpha"]  # configured feeds exist even when empty
    feeds.add_all([art("a", topics=("Zoo", "Art"), provider=SCMP, category="news"),
                   art("b", topics=("Mid",), provider=WIRED, category="analysis")])
    assert paths(feeds) == ["feeds/all", "feeds/zeta", "feeds/alpha",  # as declared, not sorted
                            "feeds/categories/analysis", "feeds/categories/news",
                            "feeds/topics/art", "feeds/topics/mid", "feeds/topics/zoo",
                            "feeds/providers/scmp-com", "feeds/providers/wired-com"]


def test_keys_are_kept_until_a_feed_appears_or_disappears():
    """The list is kept (the builder keeps what it derives from it while it is the same object)."""
    feeds = Membership(validate_config({}), NOW)
    feeds.add(art("a", topics=("AI",)))
    kept = feeds.keys()
    feeds.add(art("b", topics=("AI",)))  # joins an existing feed
    feeds.add(art("a", topics=("AI",), heat=5.0))
    assert feeds.keys() is kept
    feeds.add(art("c", topics=("Robots",)))
    assert [k.path for k in feeds.keys()] == ["feeds/all", "feeds/topics/ai", "feeds/topics/robots"]
    kept = feeds.keys()
    feeds.remove("urn:c")
    assert [k.path for k in feeds.keys()] == ["feeds/all", "feeds/topics/ai"]
    feeds.add_all([art("d", topics=("Space",))])
    assert "feeds/topics/space" in paths(feeds)


# -- plan ----------------------------------------------------------------------------------------------------

def test_a_change_that_cannot_reach_the_shown_items_keeps_the_last_plan(monkeypatch):
    config = validate_config({"defaults": {"limit": 3}})
    feeds = Membership(config, NOW)
    feeds.add_all([art(f"n{i}", timedelta(hours=i + 1)) for i in range(6)])  # n0 newest
    all_ = key_of("feeds/all")
    first = feeds.plan(all_)
    assert [a.id for a in first.items] == ["urn:n0", "urn:n1", "urn:n2"] and first.total == 6
    ranked = []
    real = Membership._rank
    monkeypatch.setattr(Membership, "_rank", lambda self, *a: ranked.append(1) or real(self, *a))
    feeds.add(art("n5", timedelta(hours=6), heat=9.0))  # edited, still the oldest
    feeds.add(art("old", timedelta(days=3)))  # new, older than every shown item
    again = feeds.plan(all_)
    assert again.items == first.items and again.total == 7
    assert ranked == []  # not ranked again
    feeds.add(art("new", timedelta(minutes=1)))  # newer than every shown item: in
    assert [a.id for a in feeds.plan(all_).items] == ["urn:new", "urn:n0", "urn:n1"]
    feeds.remove("urn:n0")  # a shown item leaves
    assert [a.id for a in feeds.plan(all_).items] == ["urn:new", "urn:n1", "urn:n2"]
    assert feeds.plan(all_).total == 7


@pytest.mark.parametrize("sort", ["date", "heat", "trending"])
def test_incremental_plans_equal_a_full_ranking_after_any_edits(sort: str):
    """plan() after edits (reusing the last plan, re-ranking from its items and the changed ones, or from the
    trending candidates) must give exactly what ranking every member from scratch gives."""
    config = validate_config({"defaults": {"limit": 4, "sort": sort},
                              "feeds": [{"name": "three", "limit": 3, "filter": {"topics": ["A", "B"]}}]})
    rng = random.Random(f"membership-{sort}")
    feeds = Membership(config, NOW)
    current: dict[str, object] = {}

    def random_article(name: str):
        return art(name, timedelta(hours=rng.choice(range(1, 12))), heat=float(rng.choice(range(5))),
                   topics=tuple(rng.sample(["A", "B", "C"], rng.choice([1, 2]))))

    for n in range(12):
        current[f"a{n}"] = random_article(f"a{n}")
    feeds.add_all(current.values())
    for key in feeds.keys():
        feeds.plan(key)
    for step in range(300):
        op = rng.random()
        if op < 0.15 and current:
            name = rng.choice(sorted(current))
            del current[name]
            feeds.remove(f"urn:{name}")
        else:
            name = rng.choice(sorted(current)) if op < 0.8 and current else f"new{step}"
            current[name] = random_article(name)
            feeds.add(current[name])
        reference = Membership(config, NOW)
        reference.add_all(current.values())
        assert feeds.keys() == reference.keys(), step
        for key in rng.sample(feeds.keys(), k=min(3, len(feeds.keys()))):  # some feeds skip a few edits
            assert feeds.plan(key) == reference.plan(key), (step, key)
            assert list(feeds.plan(key).items) == ranked(reference, key), (step, key)
    for key in feeds.keys():
        assert feeds.plan(key) == reference.plan(key), key


def ranked(feeds: Membership, key: FeedKey) -> list:
    """Every member of the feed ranked from scratch (ranking.rank)."""
    s = feeds.plan(key).spec.settings
    return rank(list(feeds.members.get(key, {}).values()), s.sort, feeds.now, s.limit, s.half_life)


def test_rerank_from_the_shown_items_is_a_full_ranking_of_the_candidates():
    """ranking.rerank alone: when it answers, the answer is the top of every member; when it cannot be sure,
    None."""
    config = validate_config({"defaults": {"limit": 3, "sort": "heat"}})
    feeds = Membership(config, NOW)
    feeds.add_all([art(f"h{i}", heat=float(10 - i)) for i in range(6)])  # h0 hottest
    all_ = key_of("feeds/all")
    previous = feeds.plan(all_)
    keys = feeds.keys_by["heat"]
    members = feeds.members[all_]

    def rerank(*edits):
        for article in edits:
            feeds.add(article)
        changed = {a.id for a in edits}
        feeds.dirty.pop(all_, None)
        return ranking.rerank([a.id for a in previous.items], 3, changed, members, keys)

    assert rerank(art("h4", heat=50.0)) == ["urn:h4", "urn:h0", "urn:h1"]  # from below to the top
    assert rerank(art("h4", heat=6.0)) == ["urn:h0", "urn:h1", "urn:h2"]  # back below: shown items stand
    # a shown item falls: the next one down was never shown, so only a full ranking can tell which it is
    assert rerank(art("h0", heat=0.0)) is None
    assert [a.id for a in feeds.plan(all_).items] == ["urn:h1", "urn:h2", "urn:h3"]
    previous = feeds.plan(all_)
    # every shown item changed at once (an edit of many files): nothing to re-rank from
    assert rerank(art("h1", heat=30.0), art("h2", heat=20.0), art("h3", heat=1.0)) is None
    assert [a.id for a in feeds.plan(all_).items] == ["urn:h1", "urn:h2", "urn:h4"]  # h4 was raised to 6


# -- what time alone changes ---------------------------------------------------------------------------------

def test_aged_takes_articles_out_of_a_max_age_window_at_exactly_its_end():
    config = validate_config({"feeds": [{"name": "day", "filter": {"max_age": "1d"}},
                                        {"name": "forever"}]})
    feeds = Membership(config, NOW)
    feeds.add_all([art("young", timedelta(hours=1)), art("older", timedelta(hours=23))])
    day = key_of("feeds/day")
    assert items(feeds, "feeds/day") == ["urn:young", "urn:older"]
    end = NOW + timedelta(hours=1)  # "older" is exactly one day old: still in (at most max_age old)
    feeds.now = end
    assert feeds.aged(end) == set()
    assert items(feeds, "feeds/day") == ["urn:young", "urn:older"]
    later = end + timedelta(microseconds=1)
    feeds.now = later
    assert day in feeds.aged(later)
    assert items(feeds, "feeds/day") == ["urn:young"]
    assert items(feeds, "feeds/forever") == ["urn:young", "urn:older"]  # other feeds keep it
    assert items(feeds, "feeds/all") == ["urn:young", "urn:older"]


def test_aged_touches_trending_feeds_on_every_rescan():
    config = validate_config({"feeds": [{"name": "trend", "sort": "trending"}, {"name": "by-date"}]})
    feeds = Membership(config, NOW)
    feeds.add_all([art("a", topics=("AI",))])
    assert feeds.aged(NOW) == {key_of("feeds/trend")}  # trending order moves with time alone
    everything = validate_config({"defaults": {"sort": "trending"}, "feeds": [{"name": "by-date", "sort": "date"}]})
    feeds = Membership(everything, NOW)
    feeds.add_all([art("a", topics=("AI",))])
    assert feeds.aged(NOW) == set(feeds.keys())


# -- slugs (issue 13, point 12) --------------------------------------------------------------------------------

def test_new_names_get_the_same_slugs_in_any_order():
    """A cold build places articles in the order they were parsed: the slugs must not depend on it."""
    config = validate_config({"feeds": [{"name": "bots", "filter": {"topics": ["robots-2"]}}]})
    articles = [art("plain", topics=("Robots",)), art("emoji", topics=("🤖 Robots",), category="🤖 Robots"),
                art("loud", topics=("ROBOTS!", "🔥")), art("fire", topics=("Fire",), category="Robots")]
    placed = set()
    for order in itertools.permutations(articles):
        membership = Membership(config, NOW)
        membership.add_all(order)
        placed.add(tuple((key.path, tuple(sorted(membership.members[key]))) for key in membership.keys()))
    (only,) = placed
    assert dict(only) == {
        "feeds/all": ("urn:emoji", "urn:fire", "urn:loud", "urn:plain"),
        "feeds/bots": ("urn:loud",),  # robots-2: ROBOTS! sorts before 🤖 Robots
        "feeds/categories/robots": ("urn:fire",), "feeds/categories/robots-2": ("urn:emoji",),
        "feeds/topics/fire": ("urn:fire",), "feeds/topics/fire-2": ("urn:loud",),
        "feeds/topics/robots": ("urn:plain",), "feeds/topics/robots-2": ("urn:loud",),
        "feeds/topics/robots-3": ("urn:emoji",)}


def test_names_already_given_slugs_are_placed_in_one_pass():
    """A warm restart: every name has its slug from the state, so add_all never stops to give any."""
    membership = Membership(validate_config({}), NOW)
    membership.add_all([art("a", topics=("Robots",)), art("b", topics=("🤖 Robots",))])
    kept = membership.slugs.take_new()
    restarted = Membership(validate_config({}), NOW, Slugs(kept))
    restarted.name_all = None  # would fail if called
    restarted.add_all([art("b", topics=("🤖 Robots",)), art("a", topics=("Robots",))])
    assert restarted.keys() == membership.keys()
