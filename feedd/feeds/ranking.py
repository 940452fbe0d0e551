"""RANK: pure scoring and ordering. Ties always break the same way: heat desc, date desc, id asc."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Container, Iterable, Mapping
from datetime import datetime, timedelta

from feedd.models import Article

NO_HEAT = -1.0


def heat(article: Article) -> float:
    return article.heat if article.heat is not None else NO_HEAT


def trending(article: Article, now: datetime, half_life: timedelta) -> float:
    """Heat decayed by age: an article loses half its pull every half-life."""
    age = max((now - article.published_at).total_seconds(), 0.0)
    return max(heat(article), 0.0) * 0.5 ** (age / max(half_life.total_seconds(), 1.0))


def sort_key(sort: str, now: datetime, half_life: timedelta) -> Callable[[Article], tuple]:
    """A key for ascending sort that puts the best article first."""
    if sort == "date":
        return lambda a: (-a.published_at.timestamp(), -heat(a), a.id)
    if sort == "heat":
        return lambda a: (-heat(a), -a.published_at.timestamp(), a.id)
    if sort == "trending":
        return lambda a: (-trending(a, now, half_life), -heat(a), -a.published_at.timestamp(), a.id)
    raise ValueError(f"unknown sort {sort!r}")


def rank(articles: Iterable[Article], sort: str, now: datetime, limit: int, half_life: timedelta) -> list[Article]:
    """The best `limit` articles, best first."""
    return heapq.nsmallest(limit, articles, key=sort_key(sort, now, half_life))


# Trending order without `now`: heat × 0.5^(age / half-life) = 2^(log2(heat) + published / half-life - now / half-life),
# so ordering by -(log2(heat) + published / half-life), ascending, is the same order at every moment. Floats round
# both ways (this key reverses a quarter of pairs whose scores are equal but for rounding), so it only picks the
# candidates: every article within MARGIN of the limit-th best, then ranked by the real key. Rounding moves a key
# by less than 1e-11 at a half-life of a day and about 2e-7 at the shortest, a second (now / half-life ~ 1.8e9).
MARGIN = 1e-6
NORMAL = 1e-300  # below this a score may have lost precision (subnormal) or be 0: rank every member instead


def trending_order_key(article: Article, half_life: timedelta) -> float:
    """Smaller is hotter, at every `now`: -(log2 of the trending score + now / half-life); +inf with no heat,
    -inf with an infinite one."""
    h = max(heat(article), 0.0)
    if h == 0.0:
        return math.inf
    return -(math.log2(h) + article.published_at.timestamp() / max(half_life.total_seconds(), 1.0))


def top_trending(members: Mapping[str, Article], order_keys: Mapping[str, float], now: datetime, limit: int,
                 half_life: timedelta, best: list[str] | None = None) -> list[Article]:
    """rank(members.values(), "trending", now, limit, half_life), from each member's trending_order_key: only the
    few candidates are scored at `now`, not every member. `best`: the ids of the 2 × limit members with the
    smallest order keys, in order, when the caller keeps them. Members must be visible (published_at <= now), as
    feeds hold them."""
    if len(members) <= limit:
        return rank(members.values(), "trending", now, limit, half_life)
    if best is None:
        best = heapq.nsmallest(2 * limit, members, key=order_keys.__getitem__)
    ceiling = order_keys[best[limit - 1]] + MARGIN
    if not (math.isfinite(order_keys[best[0]]) and math.isfinite(ceiling)) or \
            min(trending(members[i], now, half_life) for i in best[:limit]) < NORMAL:
        return rank(members.values(), "trending", now, limit, half_life)  # no heat, infinite heat, underflow
    if order_keys[best[-1]] <= ceiling:  # more candidates than that: look at every member
        best = [i for i in members if order_keys[i] <= ceiling]
    return rank([members[i] for i in best if order_keys[i] <= ceiling], "trending", now, limit, half_life)


def rerank(previous: list[str], limit: int, changed: set[str], members: Container[str],
           keys: Mapping[str, tuple] | Mapping[str, float]) -> list[str] | None:
    """The new `limit` best ids (smallest keys) from the last ones and the changed articles alone, when that is
    sure to be right; None when every member must be ranked (an edited title in `all` would re-rank them all).

    Articles that did not change and were not among the last best all rank below every unchanged one that was,
    at `ceiling` or lower. So when at least `limit` candidates rank at `ceiling` or higher, none of them is
    needed."""
    kept = [i for i in previous if i not in changed]
    if len(previous) < limit or not kept:
        return None
    ceiling = max(keys[i] for i in kept)
    fresh = [i for i in changed if i in members]
    if len(kept) + sum(keys[i] <= ceiling for i in fresh) < limit:
        return None
    return heapq.nsmallest(limit, kept + fresh, key=keys.__getitem__)
