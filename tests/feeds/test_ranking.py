"""feedd/ranking.py: date, heat and trending order, with the same tie-breaks everywhere."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from feedd.feeds import ranking
from feedd.models import Article
from tests.helpers import NOW

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def rank(articles, sort, now, limit=None, half_life=timedelta(hours=24)):
    """ranking.rank over every article, unless a limit is given."""
    articles = list(articles)
    return ranking.rank(articles, sort, now, len(articles) if limit is None else limit, half_life)


def art(name: str, age: timedelta = HOUR, heat: float | None = None) -> Article:
    return Article(id=f"urn:{name}", source=f"{name}.txt", title=name, link=f"https://example.com/{name}",
                   published_at=NOW - age, heat=heat)


def names(articles) -> list[str]:
    return [a.id.removeprefix("urn:") for a in articles]


def expected_trending(heat: float, age: timedelta, half_life: timedelta) -> float:
    """The README formula, written independently: heat × 0.5^(age / half_life)."""
    return heat * 0.5 ** (age / half_life)


def shuffled(articles: list[Article], seed: int = 7) -> list[Article]:
    copy = list(articles)
    random.Random(seed).shuffle(copy)
    return copy


def test_date_sort_is_newest_first():
    articles = [art("old", 3 * DAY, heat=100), art("new", HOUR, heat=1), art("mid", DAY, heat=50)]
    assert names(rank(shuffled(articles), "date", NOW)) == ["new", "mid", "old"]


def test_heat_sort_is_hottest_first():
    articles = [art("warm", HOUR, heat=50), art("hot", 3 * DAY, heat=100), art("cold", 0 * HOUR, heat=1)]
    assert names(rank(shuffled(articles), "heat", NOW)) == ["hot", "warm", "cold"]


@pytest.mark.parametrize("sort", ["heat", "date"])
def test_missing_heat_sorts_after_any_heat(sort):
    articles = [art("none", HOUR, heat=None), art("zero", HOUR, heat=0), art("some", HOUR, heat=5)]
    assert names(rank(shuffled(articles), sort, NOW)) == ["some", "zero", "none"]


def test_missing_heat_is_last_in_heat_sort_even_when_newest():
    articles = [art("fresh-unknown", 0 * HOUR, heat=None), art("old-cold", 30 * DAY, heat=0)]
    assert names(rank(articles, "heat", NOW)) == ["old-cold", "fresh-unknown"]


@pytest.mark.parametrize(("sort", "articles", "expected"), [
    # same published time: heat desc, then id asc
    ("date", [art("b", HOUR, 5), art("a", HOUR, 5), art("c", HOUR, 9)], ["c", "a", "b"]),
    # same heat: date desc, then id asc
    ("heat", [art("b", HOUR, 5), art("a", HOUR, 5), art("newer", 0 * HOUR, 5)], ["newer", "a", "b"]),
    # every score 0: heat desc (0 beats missing), date desc, id asc
    ("trending", [art("b", HOUR, 0), art("a", HOUR, 0), art("newer", 0 * HOUR, 0), art("none", 0 * HOUR)],
     ["newer", "a", "b", "none"]),
    # equal trending scores from different heats: the hotter wins (100 two half-lives old = 25 now)
    ("trending", [art("fresh", 0 * HOUR, 25), art("older", 2 * DAY, 100)], ["older", "fresh"]),
])
def test_ties_break_by_heat_then_date_then_id(sort, articles, expected):
    assert names(rank(shuffled(articles), sort, NOW, half_life=DAY)) == expected


@pytest.mark.parametrize("seed", range(5))
def test_order_does_not_depend_on_input_order(seed):
    articles = [art(f"x{i}", (i % 3) * HOUR, heat=i % 4) for i in range(12)]
    for sort in ("date", "heat", "trending"):
        assert rank(shuffled(articles, seed), sort, NOW) == rank(articles, sort, NOW)


def test_trending_old_hot_article_loses_to_fresh_warm_one():
    half_life = timedelta(hours=12)
    old_hot, fresh_warm = art("old-hot", 4 * half_life, heat=100), art("fresh-warm", HOUR, heat=20)
    # 100 × 0.5^4 = 6.25 against 20 × 0.5^(1/12) ≈ 18.9
    assert expected_trending(100, 4 * half_life, half_life) < expected_trending(20, HOUR, half_life)
    assert names(rank([old_hot, fresh_warm], "trending", NOW, half_life=half_life)) == ["fresh-warm", "old-hot"]
    assert names(rank([old_hot, fresh_warm], "heat", NOW)) == ["old-hot", "fresh-warm"]


def test_trending_hot_article_wins_while_still_fresh():
    half_life = timedelta(hours=24)
    hot, warm = art("hot", timedelta(hours=12), heat=100), art("warm", HOUR, heat=20)
    assert expected_trending(100, timedelta(hours=12), half_life) > expected_trending(20, HOUR, half_life)
    assert names(rank([warm, hot], "trending", NOW, half_life=half_life)) == ["hot", "warm"]


@pytest.mark.parametrize("half_life", [timedelta(hours=6), timedelta(hours=24), timedelta(days=7)])
def test_trending_order_follows_the_formula(half_life):
    rng = random.Random(42)
    articles = [art(f"a{i}", timedelta(minutes=rng.randrange(0, 20 * 24 * 60)), heat=rng.randrange(0, 500))
                for i in range(40)]
    expected = sorted(articles, key=lambda a: (-expected_trending(a.heat, NOW - a.published_at, half_life),
                                               -a.heat, -(a.published_at - NOW).total_seconds(), a.id))
    assert rank(articles, "trending", NOW, half_life=half_life) == expected


def test_trending_crossover_depends_on_half_life():
    # 100 heat at 2 days against 30 heat at 1 hour: a short half-life favours the fresh one, a long one the hot one
    old, fresh = art("old", 2 * DAY, heat=100), art("fresh", HOUR, heat=30)
    assert names(rank([old, fresh], "trending", NOW, half_life=12 * HOUR)) == ["fresh", "old"]
    assert names(rank([old, fresh], "trending", NOW, half_life=7 * DAY)) == ["old", "fresh"]


@pytest.mark.parametrize("sort", ["date", "heat", "trending"])
@pytest.mark.parametrize("limit", [0, 1, 3, 10, 100])
def test_limit_returns_the_best_n(sort, limit):
    articles = [art(f"a{i:02}", timedelta(hours=i * 7 % 23), heat=(i * 13) % 17) for i in range(20)]
    full = rank(articles, sort, NOW)
    assert len(full) == 20
    assert rank(shuffled(articles), sort, NOW, limit) == full[:limit]


def test_unknown_sort_is_refused():
    with pytest.raises(ValueError, match="popular"):
        rank([art("a")], "popular", NOW)


# -- trending from a key without `now` (ranking.top_trending) --------------------------------------------------

MARGIN = ranking.MARGIN


def _trending_members(articles: list[Article], half_life: timedelta) -> tuple[dict, dict]:
    members = {a.id: a for a in articles}
    return members, {i: ranking.trending_order_key(a, half_life) for i, a in members.items()}


@pytest.mark.parametrize("seed", range(40))
def test_top_trending_equals_ranking_every_member(seed):
    """top_trending scores only the candidates its now-free key picks: the same items in the same order as
    scoring every member, with near-ties, equal scores from different heats, no heat, negative and infinite
    heats, and scores that underflow."""
    rng = random.Random(seed)
    half_life = rng.choice([timedelta(seconds=0.5), HOUR, 36 * HOUR, 7 * DAY])
    pool = []
    for n in range(rng.choice([3, 60, 400])):
        kind = rng.random()
        if kind < 0.3:  # a few heats and ages only: many equal and nearly equal scores
            age, heat = rng.choice([0, 1, 2, 3]) * half_life, rng.choice([25.0, 50.0, 100.0, 1e-3])
        elif kind < 0.4:
            age, heat = timedelta(seconds=rng.uniform(0, 3e8)), rng.uniform(0, 100)  # up to 10 years: underflow
        elif kind < 0.5:
            age, heat = timedelta(seconds=rng.uniform(0, 1e6)), rng.choice([None, 0.0, -5.0, float("inf")])
        else:
            age, heat = timedelta(microseconds=rng.randrange(0, 10**12)), rng.uniform(0, 1000)
        pool.append(art(f"a{n:03d}", age, heat))
    now = NOW + timedelta(seconds=rng.uniform(0, 1e6))  # a later build: the keys were made before it
    members, order_keys = _trending_members(pool, half_life)
    for limit in (1, 5, 20, 50):
        expected = rank(pool, "trending", now, limit, half_life)
        assert names(ranking.top_trending(members, order_keys, now, limit, half_life)) == names(expected)


@pytest.mark.parametrize("margin", [0.0, 1e-12, MARGIN])
def test_top_trending_is_exact_where_rounding_reverses_its_key(monkeypatch, margin):
    """Pairs whose scores are equal but for rounding: the now-free key orders a quarter of them the other way, so
    the margin must cover its rounding. No margin, or one of 1e-12, gets some of these pairs wrong."""
    monkeypatch.setattr(ranking, "MARGIN", margin)
    rng = random.Random(1)
    wrong = 0
    for _ in range(500):
        half_life = timedelta(seconds=rng.choice([3600, 86400, 129600]))
        age, gap = timedelta(microseconds=rng.randrange(10**11)), timedelta(microseconds=rng.randrange(1, 10**10))
        heat = rng.uniform(1, 100)
        pair = [art("older", age + gap, heat * 2 ** (gap / half_life)), art("newer", age, heat)]
        members, order_keys = _trending_members(pair, half_life)
        wrong += ranking.top_trending(members, order_keys, NOW, 1, half_life) != rank(pair, "trending", NOW, 1,
                                                                                     half_life)
    assert (wrong > 0) == (margin < MARGIN)


def test_top_trending_scores_only_the_candidates(monkeypatch):
    """At 100k articles an unfiltered trending feed scored 85k members on every edit."""
    pool = [art(f"a{n:04d}", timedelta(minutes=n), heat=float(n % 97 + 1)) for n in range(2000)]
    members, order_keys = _trending_members(pool, 36 * HOUR)
    scored = []
    real = ranking.trending
    monkeypatch.setattr(ranking, "trending", lambda a, now, hl: scored.append(a) or real(a, now, hl))
    top = ranking.top_trending(members, order_keys, NOW, 20, 36 * HOUR)
    assert len(scored) < 100
    monkeypatch.setattr(ranking, "trending", real)
    assert top == rank(pool, "trending", NOW, 20, 36 * HOUR)
