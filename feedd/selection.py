"""SELECT: which articles are visible now, which feeds exist, and what goes in each. Pure functions."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache

from slugify import slugify

from feedd.config import Config, FeedConfig, Filter
from feedd.models import Article, Family, FeedPlan, FeedSpec
from feedd.ranking import rank

_REPLACEMENTS = [["+", " plus "], ["&", " and "], ["#", " sharp "]]


@lru_cache(maxsize=65536)
def slug(name: str) -> str:
    """A URL-safe name for a topic, provider domain or category (`wired.com` → `wired-com`)."""
    return slugify(name, replacements=_REPLACEMENTS, max_length=80, word_boundary=True) or \
        "x-" + slugify(name.encode("unicode_escape").decode("ascii"), max_length=60)


def is_visible(article: Article, now: datetime) -> bool:
    """Published and past its embargo."""
    return article.published and article.published_at <= now


def next_embargo(articles: Iterable[Article], now: datetime) -> datetime | None:
    """When the next embargoed article becomes due, if any."""
    return min((a.published_at for a in articles if a.published and a.published_at > now), default=None)


def _meets(article: Article, min_quality: float | None, min_heat: float | None) -> bool:
    if min_quality is not None and (article.quality is None or article.quality < min_quality):
        return False
    return min_heat is None or (article.heat is not None and article.heat >= min_heat)


def matches(article: Article, f: Filter, now: datetime) -> bool:
    """Does a configured feed's filter accept this article? Empty lists accept anything."""
    fold = str.casefold
    if f.topics and not {fold(t) for t in f.topics} & {fold(t) for t in article.topics}:
        return False
    if f.providers:
        names = {fold(p) for p in f.providers}
        p = article.provider
        if not p or not ({fold(p.name), fold(p.domain or "")} & names):
            return False
    if f.categories and fold(article.category or "") not in {fold(c) for c in f.categories}:
        return False
    if f.types and fold(article.type or "") not in {fold(t) for t in f.types}:
        return False
    if f.max_age is not None and article.published_at < now - f.max_age:
        return False
    return _meets(article, f.min_quality, f.min_heat)


def _spec(config: Config, family: Family, slug_: str, title: str, description: str,
          feed: FeedConfig | None = None, logo: str | None = None) -> FeedSpec:
    d = config.defaults

    def pick(name: str):  # a configured feed's own value, else the default
        own = getattr(feed, name, None) if feed else None
        return own if own is not None else getattr(d, name)

    return FeedSpec(family=family, slug=slug_, title=title, description=description, sort=pick("sort"),
                    half_life=pick("half_life"), limit=pick("limit"), formats=tuple(pick("formats")),
                    content=pick("content"), max_bytes=pick("max_bytes"), logo=logo)


def _groups(articles: list[Article], keys: Callable[[Article], Iterable[str]]) -> dict[str, list[Article]]:
    """Group by slug; one article counts once per group however its names are spelled."""
    groups: dict[str, dict[str, Article]] = defaultdict(dict)
    for article in articles:
        for name in keys(article):
            if s := slug(name):
                groups[s][article.id] = article
    return {s: list(members.values()) for s, members in groups.items()}


def _display_name(names: Iterable[str]) -> str:
    """The most common spelling of a group's name; ties go to the first in sort order."""
    counts = Counter(names)
    return min(counts, key=lambda n: (-counts[n], n))


def plan_feeds(config: Config, articles: Iterable[Article], now: datetime) -> list[FeedPlan]:
    """Every feed that exists now, with its ranked and limited items, in a stable order."""
    site, d = config.site, config.defaults
    visible = [a for a in articles if is_visible(a, now) and _meets(a, d.min_quality, d.min_heat)]
    candidates: list[tuple[FeedSpec, list[Article]]] = [
        (_spec(config, Family.ALL, "all", site.title, site.description), visible)]
    for feed in config.feeds:
        members = [a for a in visible if matches(a, feed.filter, now)]  # defaults' thresholds apply too
        title = feed.title or f"{site.title}: {feed.name}"
        candidates.append((_spec(config, Family.CONFIGURED, feed.name, title,
                                 feed.description or title, feed), members))
    families = (
        (Family.CATEGORIES, config.families.categories, lambda a: [a.category] if a.category else [],
         "{name} articles"),
        (Family.TOPICS, config.families.topics, lambda a: a.topics, "Articles about {name}"),
        (Family.PROVIDERS, config.families.providers,
         lambda a: [a.provider.domain or a.provider.name] if a.provider else [], "Articles from {name}"),
    )
    for family, settings, keys, describe in families:
        if not settings.enabled:
            continue
        for key, members in sorted(_groups(visible, keys).items()):
            if len(members) < settings.min_items:
                continue
            if family is Family.PROVIDERS:
                name = _display_name(a.provider.name for a in members if a.provider)
                logo = next((a.provider.logo for a in rank(members, "date", now) if a.provider.logo), None)
            else:
                slugs = [n for a in members for n in keys(a) if slug(n) == key]
                name, logo = _display_name(slugs), None
            title = settings.title.format(site=site.title, name=name)
            candidates.append((_spec(config, family, key, title, describe.format(name=name), logo=logo), members))
    return [FeedPlan(spec, tuple(rank(members, spec.sort, now, spec.limit, spec.half_life)), len(members))
            for spec, members in candidates]
