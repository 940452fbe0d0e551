"""SELECT, kept current: which feeds exist and which articles each holds, updated one article at a time.

A full build adds every article; an edit removes the old version and adds the new one, and only the
feeds those two touch need ranking and rendering again.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from feedd.config import Config
from feedd.feeds.ranking import rerank, sort_key
from feedd.feeds.selection import matches, memberships, spec_for
from feedd.feeds.slugs import Slugs
from feedd.feeds.trending import TrendingKeys
from feedd.models import Article, Diagnostic, Family, FeedKey, FeedPlan, FeedSpec

_KEPT_KEYS = {sort: sort_key(sort, datetime.min, timedelta()) for sort in ("date", "heat")}  # neither depends on now
_ORDER = {Family.ALL: 0, Family.CONFIGURED: 1, Family.CATEGORIES: 2, Family.TOPICS: 3, Family.PROVIDERS: 4}


class Membership:
    """Which feeds exist and which articles each holds, for one config; `now` moves forward with each build.
    `slugs`: the names' slugs the state holds (new names are given theirs here; take_new() to keep them)."""

    def __init__(self, config: Config, now: datetime, slugs: Slugs | None = None) -> None:
        self.config, self.now = config, now
        self.slugs = slugs if slugs is not None else Slugs()
        self.members: dict[FeedKey, dict[str, Article]] = defaultdict(dict)
        self.names: dict[FeedKey, Counter[str]] = defaultdict(Counter)
        # article id → where it went, flat: (key, name, key, name, ...) with one FeedKey object per feed (_keys):
        # a list of (key, name) pairs with a key each costs several times the memory.
        self.placed: dict[str, tuple[FeedKey | str | None, ...]] = {}
        self._keys: dict[tuple[Family, str], FeedKey] = {}
        # sort → article id → its sort key, for the sorts some feed uses (a large map: only those used)
        sorts = {config.defaults.sort} | {feed.sort for feed in config.feeds if feed.sort}
        self.keys_by: dict[str, dict[str, tuple]] = {sort: {} for sort in _KEPT_KEYS if sort in sorts}
        self.trending = TrendingKeys(config)  # the members' keys for trending feeds, which do not depend on now
        self.dirty: dict[FeedKey, set[str]] = defaultdict(set)  # articles changed in a feed since its plan
        self.plans: dict[FeedKey, FeedPlan] = {}  # the last plan of each feed
        self._configured = {feed.name: i for i, feed in enumerate(config.feeds)}
        self._sorted_keys: list[FeedKey] | None = None  # keys(), until a feed appears or disappears
        self._key_set: set[FeedKey] = set()
        # feeds kept published (empty) after they lost their articles: key → (name, since when)
        self.retained: dict[FeedKey, tuple[str, datetime]] = {}

    def key(self, family: Family, slug: str) -> FeedKey:
        """The one FeedKey object of a feed."""
        return self._keys.get((family, slug)) or self._intern((family, slug))

    def retain(self, key: FeedKey, name: str, since: datetime) -> None:
        """Keep a feed that lost its articles in keys(), as published, empty (see FamilySettings.retain)."""
        self.retained[key] = (name, since)
        self._sorted_keys = None

    def release(self, key: FeedKey) -> None:
        """A retained feed has articles again, or its time is up."""
        if self.retained.pop(key, None) is not None:
            self._sorted_keys = None

    def add(self, article: Article) -> set[FeedKey]:
        """Place an article (replacing any earlier version); returns the groups it touched."""
        touched = self.remove(article.id) if article.id in self.placed else set()
        places = memberships(article, self.config, self.now, self.slugs)
        flat: list[FeedKey | str | None] = []
        for place, name in places:
            key = self._keys.get(place) or self._intern(place)
            self.members[key][article.id] = article
            if name is not None:
                self.names[key][name] += 1
            touched.add(key)
            flat += (key, name)
        if places:
            self.placed[article.id] = tuple(flat)
            self.trending.keep(article, flat)
            for sort, keys in self.keys_by.items():
                keys[article.id] = _KEPT_KEYS[sort](article)
        for key in touched:
            if key in self.plans:  # a feed not planned yet is ranked in full: ids kept for it would be kept for nothing
                self.dirty[key].add(article.id)
        self._recheck(touched)
        return touched

    def add_all(self, articles: Iterable[Article]) -> None:
        """Place many articles at once: what add() does for each, without the bookkeeping of a change (what
        it touched, which plans are dirty, whether keys() still holds): a warm restart places every article.
        New names get their slugs all at once (name_all), so their order never depends on the articles'."""
        todo = articles if isinstance(articles, list) else list(articles)
        start: int | None = 0
        while start is not None:
            start = self._place_all(todo, start)
            if start is not None:  # names without slugs from here on: name them all, then go on placing
                self.name_all(todo[start:])
        self._sorted_keys = None

    def _place_all(self, articles: list[Article], start: int) -> int | None:
        """Place articles[start:]; stops before the first that has a name without a slug, and returns its
        position (None: all placed). On a warm restart every name has its slug: one pass, no extra work."""
        members, names, placed, interned, config, now, slugs = \
            self.members, self.names, self.placed, self._keys, self.config, self.now, self.slugs
        sort_keys = [(keys, _KEPT_KEYS[sort]) for sort, keys in self.keys_by.items()]
        trending = self.trending if self.trending.keys else None
        missed: list[tuple[Family, str]] = []
        slugs.collecting = missed  # memberships() notes names without slugs instead of giving them one
        try:
            for i in range(start, len(articles)):
                article = articles[i]
                if article.id in placed or self.plans:  # a new version of a placed article, or feeds planned
                    slugs.collecting = None
                    self.add(article)
                    slugs.collecting = missed
                    continue
                places = memberships(article, config, now, slugs)
                if missed:
                    return i
                flat: list[FeedKey | str | None] = []
                for place, name in places:
                    key = interned.get(place) or self._intern(place)
                    members[key][article.id] = article
                    if name is not None:
                        names[key][name] += 1
                    flat += (key, name)
                if flat:
                    placed[article.id] = tuple(flat)
                    if trending is not None:
                        trending.keep(article, flat)
                    for keys, key_of in sort_keys:
                        keys[article.id] = key_of(article)
        finally:
            slugs.collecting = None
        return None

    def name_all(self, articles: Iterable[Article]) -> None:
        """Give slugs to every name these articles bring that has none, in the order of the names (Slugs.give),
        not of the articles: a cold build, or a burst of new files, gives the same slugs however it is parsed."""
        missed: list[tuple[Family, str]] = []
        self.slugs.collecting = missed
        try:
            for article in articles:
                memberships(article, self.config, self.now, self.slugs)
        finally:
            self.slugs.collecting = None
        self.slugs.give(missed)

    def aged(self, now: datetime) -> set[FeedKey]:
        """What time alone changes, looked at on each full rescan: trending order, and max_age windows."""
        touched: set[FeedKey] = set()
        for feed in self.config.feeds:
            key = FeedKey(Family.CONFIGURED, feed.name)
            if feed.filter.max_age is not None:
                expired = [a for a in self.members[key].values() if not matches(a, feed.filter, now, self.slugs)]
                for article in expired:
                    touched |= self.add(article)
            if (feed.sort or self.config.defaults.sort) == "trending":
                touched.add(key)
        if self.config.defaults.sort == "trending":
            touched |= set(self.keys())
        return touched

    def _intern(self, place: tuple[Family, str]) -> FeedKey:
        key = self._keys[place] = FeedKey(*place)
        return key

    def remove(self, article_id: str) -> set[FeedKey]:
        touched: set[FeedKey] = set()
        placed = self.placed.pop(article_id, ())
        for key, name in zip(placed[::2], placed[1::2], strict=True):
            self.members[key].pop(article_id, None)
            if name is not None:
                self.names[key][name] -= 1
                if self.names[key][name] <= 0:
                    del self.names[key][name]
            touched.add(key)
            if key in self.plans:
                self.dirty[key].add(article_id)
        for keys in self.keys_by.values():
            keys.pop(article_id, None)
        self.trending.drop(article_id)
        self._recheck(touched)
        return touched

    def _recheck(self, touched: set[FeedKey]) -> None:
        """Forget keys() when one of these feeds appeared or disappeared."""
        if self._sorted_keys is not None and any((key in self._key_set) != self._exists_now(key) for key in touched):
            self._sorted_keys = None

    def _exists_now(self, key: FeedKey) -> bool:
        return key[0] in (Family.ALL, Family.CONFIGURED) or key in self.retained or \
            bool(self.members.get(key)) and self.exists(key)

    def exists(self, key: FeedKey) -> bool:
        """`all` and configured feeds always exist; a family's group once it reaches min_items."""
        family, _ = key
        if family in (Family.ALL, Family.CONFIGURED):
            return True
        settings = self.config.families.of(family)
        return settings.enabled and len(self.members.get(key, ())) >= settings.min_items

    def keys(self) -> list[FeedKey]:
        """Every existing feed, in index order: all, configured (as declared), then each family by slug.
        Kept between calls (do not change the list): sorting thousands of feeds on every edit adds up."""
        if self._sorted_keys is None:
            keys = {FeedKey(Family.ALL, "all")} | {FeedKey(Family.CONFIGURED, name) for name in self._configured}
            keys |= {key for key in self.members if self._exists_now(key)} | set(self.retained)
            self._sorted_keys = sorted(keys, key=lambda k: (_ORDER[k[0]], self._configured.get(k[1], 0)
                                                       if k[0] is Family.CONFIGURED else 0, k[1]))
            self._key_set = keys
        return self._sorted_keys

    def collisions(self) -> list[Diagnostic]:
        """An `info` for each slug several names want, when one of them has a feed now (Slugs.collisions)."""
        return self.slugs.collisions(lambda family, slug: bool(self.members.get((family, slug))))

    def spec(self, key: FeedKey, items: tuple[Article, ...] = ()) -> FeedSpec:
        """A provider feed shows the logo of its first item that has one."""
        logo = None
        if key[0] is Family.PROVIDERS:
            logo = next((a.provider.logo for a in items if a.provider and a.provider.logo), None)
        return spec_for(self.config, key, self.names.get(key, Counter()), logo, self.retained.get(key))

    def _rank(self, key: FeedKey, spec: FeedSpec, members: dict[str, Article], changed: set[str]) -> list[Article]:
        keys = self.keys_by.get(spec.settings.sort)
        if keys is None:  # trending: depends on now, its order key does not
            return self.trending.top(key, spec, members, changed, self.now)
        ids = heapq.nsmallest(spec.settings.limit, members, key=keys.__getitem__)
        return [members[i] for i in ids]

    def plan(self, key: FeedKey) -> FeedPlan:
        """The feed's ranked items. When no changed article is or would be among them, the last plan stands:
        an edit deep in a big feed costs a few comparisons, not a ranking of every member."""
        changed, self.dirty[key] = self.dirty.pop(key, set()), set()
        members = self.members.get(key, {})
        previous = self.plans.get(key)
        ids = None
        if previous is not None and changed and previous.spec.settings.sort in self.keys_by:
            keys = self.keys_by[previous.spec.settings.sort]
            shown = {a.id for a in previous.items}
            full = len(previous.items) == previous.spec.settings.limit
            bound = keys.get(previous.items[-1].id) if full and previous.items else None
            if all(i not in shown and (i not in members or (bound is not None and keys[i] > bound))
                   for i in changed) and self.spec(key, previous.items) == previous.spec:
                self.plans[key] = previous = FeedPlan(previous.spec, previous.items, len(members))
                return previous
            ids = rerank([a.id for a in previous.items], previous.spec.settings.limit, changed, members, keys)
        spec = self.spec(key)
        items = tuple(members[i] for i in ids) if ids is not None else tuple(self._rank(key, spec, members, changed))
        spec = self.spec(key, items) if key[0] is Family.PROVIDERS else spec
        self.plans[key] = plan = FeedPlan(spec, items, len(members))
        return plan
