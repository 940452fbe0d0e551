"""SELECT, kept between builds: which feeds exist and what each holds (membership), each article's state
(published, withheld, embargoed), which related links are hidden, and the feeds kept published while empty.

A build moves only what changed (and what an embargo's release changes); what time alone changes (trending
order, max_age windows) is looked at on full rescans.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from feedd.config import Config
from feedd.feeds.filters import unmatched_filters
from feedd.feeds.membership import Membership
from feedd.feeds.related import HiddenLinks
from feedd.feeds.slugs import Slugs
from feedd.feeds.states import ArticleStates
from feedd.ingest.index import ArticleIndex
from feedd.layout import feed_key
from feedd.models import Article, Diagnostic, Family, FeedKey


class Catalog:
    def __init__(self, config: Config, index: ArticleIndex, retained: Mapping[str, tuple[str, datetime]],
                 now: datetime) -> None:
        self.config, self.index = config, index
        winners = index.winners
        self.membership = Membership(config, now, Slugs(index.store.slugs()))
        self.membership.add_all(winners.values())
        self.states = ArticleStates(winners, now)
        self.links = HiddenLinks(index, self.states)
        for path, (name, since) in retained.items():
            family, slug = feed_key(path)
            self.membership.retain(self.membership.key(Family(family), slug), name, since)

    def everything(self) -> set[FeedKey]:
        """Every feed, as a first build touches them all."""
        return set(self.membership.members) | set(self.membership.keys())

    def update(self, ids: Iterable[str], now: datetime, rescan: bool) -> set[FeedKey]:
        """Move changed (and newly due) articles between feeds; returns the feeds to re-rank."""
        membership, winners, touched = self.membership, self.index.winners, set()
        membership.now = now
        ids = set(ids) | self.states.due(now)
        membership.name_all(winners[i] for i in ids if i in winners)  # new names: in name order
        for article_id in ids:
            article = winners.get(article_id)
            touched |= membership.add(article) if article is not None else membership.remove(article_id)
            self.states.track(article_id, article, now)
        for article_id in self.links.update(ids):  # linking to an article whose state changed
            touched |= membership.add(winners[article_id])
        if rescan:
            touched |= membership.aged(now)
        return touched

    def digest(self, article: Article) -> str:
        """Changes whenever anything a feed shows of the article changes: its files, and its related links."""
        hidden = self.links.of(article)
        return self.index.digest(article) + ("|" + "|".join(hidden) if hidden else "")

    def diagnostics(self) -> list[Diagnostic]:
        """Filter values no article has, and names that want the same slug."""
        return unmatched_filters(self.config, self.membership) + self.membership.collisions()
