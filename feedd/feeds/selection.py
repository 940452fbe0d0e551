"""SELECT: which articles are visible now, which feeds exist, and what goes in each. Pure functions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from feedd.config import Config, FeedConfig, FeedSettings, Filter
from feedd.feeds.slugs import slug
from feedd.models import Article, Family, FeedKey, FeedSpec


def is_visible(article: Article, now: datetime) -> bool:
    """Published and past its embargo."""
    return article.published and article.published_at <= now


def state_of(article: Article, now: datetime) -> str:
    """What a build reports the article as: published, withheld (published: false) or embargoed."""
    return "withheld" if not article.published else "published" if is_visible(article, now) else "embargoed"


def next_embargo(articles: Iterable[Article], now: datetime) -> datetime | None:
    """When the next embargoed article becomes due, if any."""
    return min((a.published_at for a in articles if a.published and a.published_at > now), default=None)


def _meets(article: Article, min_quality: float | None, min_heat: float | None) -> bool:
    if min_quality is not None and (article.quality is None or article.quality < min_quality):
        return False
    return min_heat is None or (article.heat is not None and article.heat >= min_heat)


@dataclass(frozen=True, slots=True)
class _Wanted:
    """A filter's name lists, case-folded, as sets: matches() runs for every article and configured feed."""

    topics: frozenset[str]
    providers: frozenset[str]
    categories: frozenset[str]
    types: frozenset[str]


_WANTED: dict[int, tuple[Filter, _Wanted]] = {}  # id(filter) → the filter (kept alive, so its id) and its sets


def _wanted(f: Filter) -> _Wanted:
    """The filter's sets, made once per Filter: keyed by id, since hashing a pydantic model costs microseconds."""
    hit = _WANTED.get(id(f))
    if hit is None or hit[0] is not f:
        if len(_WANTED) > 1024:  # filters of configs long replaced
            _WANTED.clear()
        folded = [frozenset(map(str.casefold, values)) for values in (f.topics, f.providers, f.categories, f.types)]
        hit = _WANTED[id(f)] = (f, _Wanted(*folded))
    return hit[1]


def _named(name: str, wanted: frozenset[str]) -> bool:
    """Is this name among the wanted ones, given in any case or as its URL slug (`ai-hardware`: `AI Hardware`)?"""
    return name.casefold() in wanted or slug(name) in wanted


def matches(article: Article, f: Filter, now: datetime) -> bool:
    """Does a configured feed's filter accept this article? Empty lists accept anything. Topics, providers (by
    name or domain) and categories match in any case or by their URL slug; types in any case."""
    w = _wanted(f)
    if w.topics and not any(_named(t, w.topics) for t in article.topics):
        return False
    if w.providers:
        p = article.provider
        if not p or not (_named(p.name, w.providers) or p.domain and _named(p.domain, w.providers)):
            return False
    if w.categories and not (article.category and _named(article.category, w.categories)):
        return False
    if w.types and (article.type or "").casefold() not in w.types:
        return False
    if f.max_age is not None and article.published_at < now - f.max_age:
        return False
    return _meets(article, f.min_quality, f.min_heat)


ALL_NAME = "All articles"  # how the index lists the `all` feed, whose title is the site's
_DESCRIPTIONS = {Family.CATEGORIES: "{name} articles", Family.TOPICS: "Articles about {name}",
                 Family.PROVIDERS: "Articles from {name}"}


def memberships(article: Article, config: Config, now: datetime) -> list[tuple[tuple[Family, str], str | None]]:
    """Every feed an article belongs to now, with the spelling it gives the feed's name (None: no name).
    Keys are plain (family, slug) tuples, equal to FeedKeys: membership keeps one FeedKey per feed."""
    d = config.defaults
    if not (is_visible(article, now) and _meets(article, d.min_quality, d.min_heat)):
        return []
    places: list[tuple[tuple[Family, str], str | None]] = [((Family.ALL, "all"), None)]
    places += [((Family.CONFIGURED, feed.name), None) for feed in config.feeds if matches(article, feed.filter, now)]
    families = config.families
    if families.categories.enabled and article.category and (s := slug(article.category)):
        places.append(((Family.CATEGORIES, s), article.category))
    if families.topics.enabled:
        places += [((Family.TOPICS, s), topic) for topic in article.topics if (s := slug(topic))]
    p = article.provider
    if families.providers.enabled and p and (s := slug(p.domain or p.name)):
        places.append(((Family.PROVIDERS, s), p.name))
    return places


def _display_name(names: Counter[str], fallback: str) -> str:
    """The most common spelling of a group's name; ties go to the first in sort order."""
    return min(names, key=lambda n: (-names[n], n)) if names else fallback


def spec_for(config: Config, key: FeedKey, names: Counter[str], logo: str | None = None,
             retained: tuple[str, datetime] | None = None) -> FeedSpec:
    """The spec of one feed: its title, description and rendering settings. `retained`: (name, since) of a
    family feed kept published after it lost its articles."""
    family, slug_ = key
    site = config.site
    if family is Family.ALL:
        return FeedSpec(family, slug_, site.title, site.description, config.defaults, name=ALL_NAME)
    if family is Family.CONFIGURED:
        feed = next(f for f in config.feeds if f.name == slug_)
        title = feed.title or f"{site.title}: {feed.name}"
        return FeedSpec(family, slug_, title, feed.description or title, _settings(feed, config.defaults),
                        name=feed.title or feed.name)
    name = _display_name(names, retained[0] if retained else slug_)
    title = config.families.of(family).title.format(site=site.title, name=name)
    return FeedSpec(family, slug_, title, _DESCRIPTIONS[family].format(name=name), config.defaults, logo, name,
                    retained[1] if retained else None)


@lru_cache(maxsize=256)  # asked for each time a configured feed is planned
def _settings(feed: FeedConfig, defaults: FeedSettings) -> FeedSettings:
    return feed.settings(defaults)
