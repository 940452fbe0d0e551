"""SELECT over time: each article's state (published, withheld, embargoed) for the build report, and the
embargoes still to come, kept current one change at a time (counting every state on each edit adds up)."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from feedd.feeds.selection import state_of
from feedd.models import Article

STATES = ("published", "withheld", "embargoed")


class ArticleStates:
    def __init__(self, articles: Mapping[str, Article], now: datetime) -> None:
        self.states = {article_id: state_of(a, now) for article_id, a in articles.items()}
        self.counts: Counter[str] = Counter(self.states.values())
        self.embargoes = sorted((a.published_at, article_id) for article_id, a in articles.items()
                                if a.published and a.published_at > now)  # a heap: sorted is one

    def due(self, now: datetime) -> set[str]:
        """The embargoed articles whose moment has come (their feeds must be updated)."""
        ids = set()
        while self.embargoes and self.embargoes[0][0] <= now:
            ids.add(heapq.heappop(self.embargoes)[1])
        return ids

    def track(self, article_id: str, article: Article | None, now: datetime) -> None:
        """Record one article's new version (None: it is gone)."""
        old = self.states.pop(article_id, None)
        if old is not None:
            self.counts[old] -= 1
        if article is not None:
            state = self.states[article_id] = state_of(article, now)
            self.counts[state] += 1
            if article.published and article.published_at > now:
                heapq.heappush(self.embargoes, (article.published_at, article_id))

    def next_embargo(self, articles: Mapping[str, Article]) -> datetime | None:
        """When the next embargoed article becomes due (skipping entries for articles changed since)."""
        while self.embargoes:
            due, article_id = self.embargoes[0]
            article = articles.get(article_id)
            if article is not None and article.published and article.published_at == due:
                return due
            heapq.heappop(self.embargoes)
        return None

    def report(self) -> dict[str, int]:
        return {state: self.counts[state] for state in STATES}
