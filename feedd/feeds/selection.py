"""SELECT: which articles are visible now, which feeds exist, and what goes in each. Pure functions, but for the
slugs memberships() gives to names that have none (feeds.slugs keeps them)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from feedd.config import Config, FeedConfig, FeedSettings, Filter
from feedd.feeds.slugs import Slugs, name_key
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


_ALL, _CONFIGURED = (Family.ALL, "all"), Family.CONFIGURED
_CATEGORIES, _TOPICS, _PROVIDERS = Family.CATEGORIES, Family.TOPICS, Family.PROVIDERS  # Family.X costs a lookup


@dataclass(frozen=True, slots=True)
class _Wanted:
    """A filter's name lists, as name_key makes them, as sets: matches() runs for every article and configured
    feed."""

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
        folded = [frozenset(map(name_key, values)) for values in (f.topics, f.providers, f.categories)]
        folded.append(frozenset(map(str.casefold, f.types)))
        hit = _WANTED[id(f)] = (f, _Wanted(*folded))
    return hit[1]


def _named(family: Family, name: str, wanted: frozenset[str], slugs: Slugs) -> bool:
    """Is this name among the wanted ones, given in any case or as its feed's URL slug (`ai-hardware`: `AI Hardware`;
    `robots-2`: `🤖 Robots` when `Robots` has `robots`)?"""
    return name_key(name) in wanted or (slugs.spelled[family].get(name) or slugs.peek(family, name)) in wanted


def matches(article: Article, f: Filter, now: datetime, slugs: Slugs) -> bool:
    """Does a configured feed's filter accept this article? Empty lists accept anything. Topics, providers (by
    name or domain) and categories match in any case or by their URL slug; types in any case."""
    w = _wanted(f)
    if w.topics and not any(_named(_TOPICS, t, w.topics, slugs) for t in article.topics):
        return False
    if w.providers:
        p = article.provider
        if not p or not (_named(_PROVIDERS, p.name, w.providers, slugs)
                         or p.domain and _named(_PROVIDERS, p.domain, w.providers, slugs)):
            return False
    if w.categories and not (article.category and _named(_CATEGORIES, article.category, w.categories, slugs)):
        return False
    if w.types and (article.type or "").casefold() not in w.types:
        return False
    if f.max_age is not None and article.published_at < now - f.max_age:
        return False
    return _meets(article, f.min_quality, f.min_heat)


ALL_NAME = "All articles"  # how the index lists the `all` feed, whose title is the site's
_DESCRIPTIONS = {Family.CATEGORIES: "{name} articles", Family.TOPICS: "Articles about {name}",
                 Family.PROVIDERS: "Articles from {name}"}


def memberships(article: Article, config: Config, now: datetime,
                slugs: Slugs) -> list[tuple[tuple[Family, str], str | None]]:
    """Every feed an article belongs to now, with the spelling it gives the feed's name (None: no name).
    Keys are plain (family, slug) tuples, equal to FeedKeys: membership keeps one FeedKey per feed. A name
    without a slug is given one (see Slugs.of; while it collects, the article's places are incomplete)."""
    d = config.defaults
    if not (is_visible(article, now) and _meets(article, d.min_quality, d.min_heat)):
        return []
    places: list[tuple[tuple[Family, str], str | None]] = [(_ALL, None)]
    families, spelled = config.families, slugs.spelled
    if families.categories.enabled and (category := article.category):
        if s := spelled[_CATEGORIES].get(category) or slugs.of(_CATEGORIES, category):
            places.append(((_CATEGORIES, s), category))
    if families.topics.enabled:
        topics = spelled[_TOPICS]
        places += [((_TOPICS, s), topic) for topic in article.topics
                   if (s := topics.get(topic) or slugs.of(_TOPICS, topic))]
    p = article.provider
    if families.providers.enabled and p:
        name = p.domain or p.name
        if s := spelled[_PROVIDERS].get(name) or slugs.of(_PROVIDERS, name):
            places.append(((_PROVIDERS, s), p.name))
    if config.feeds:  # after the names have their slugs
        places[1:1] = [((_CONFIGURED, feed.name), None) for feed in config.feeds
                       if matches(article, feed.filter, now, slugs)]
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
