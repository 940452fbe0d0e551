"""RANK: pure scoring and ordering. Ties always break the same way: heat desc, date desc, id asc."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
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
