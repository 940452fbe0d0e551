"""SELECT, for feeds ranked by trending: each member's order key without `now` (ranking.trending_order_key),
kept as articles come and go, so that ranking such a feed at a build's `now` scores only its few candidates
(ranking.top_trending), not every member: config/feedd.yaml's unfiltered `trending` feed holds every article.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import datetime, timedelta

from feedd.config import Config
from feedd.feeds.ranking import rank, rerank, top_trending, trending_order_key
from feedd.models import Article, Family, FeedKey, FeedSpec


class TrendingKeys:
    """Article id → its trending_order_key, per half-life of a trending feed, for the articles in such a feed;
    and each such feed's 2 × limit best ids by that key, kept between builds as plans are for date and heat."""

    def __init__(self, config: Config) -> None:
        d = config.defaults
        settings = {FeedKey(Family.CONFIGURED, f.name): f.settings(d) for f in config.feeds}
        self._configured = {key: s.half_life for key, s in settings.items() if s.sort == "trending"}
        self._default = d.half_life if d.sort == "trending" else None  # `all` and the families: every article
        half_lives = {*self._configured.values(), self._default} - {None}
        self.keys: dict[timedelta, dict[str, float]] = {half_life: {} for half_life in half_lives}
        self._best: dict[FeedKey, list[str]] = {}

    def keep(self, article: Article, placed: Sequence) -> None:
        """Keep the article's key for the half-life of each trending feed it is in; `placed`: its feeds, flat as
        Membership.placed keeps them ((key, name, key, name...))."""
        if not self.keys:
            return
        half_lives = {self._configured[key] for key in placed[::2] if key in self._configured}
        if self._default is not None:
            half_lives.add(self._default)
        for half_life in half_lives:
            self.keys[half_life][article.id] = trending_order_key(article, half_life)

    def drop(self, article_id: str) -> None:
        for keys in self.keys.values():
            keys.pop(article_id, None)

    def top(self, key: FeedKey, spec: FeedSpec, members: dict[str, Article], changed: set[str],
            now: datetime) -> list[Article]:
        """The feed's items at `now`, as rank() would give them; `changed`: the articles that joined, left or
        changed in the feed since it was last ranked. Its best ids by the key are updated from those alone when
        that is sure to be right (about 2 × limit ids looked at, not a heap search of every member)."""
        s = spec.settings
        order = self.keys.get(s.half_life)
        if order is None:
            return rank(members.values(), s.sort, now, s.limit, s.half_life)
        count, best = 2 * s.limit, self._best.get(key)
        best = rerank(best, count, changed, members, order) if best is not None else None
        if best is None:
            best = heapq.nsmallest(count, members, key=order.__getitem__)
        self._best[key] = best
        return top_trending(members, order, now, s.limit, s.half_life, best)
