"""SELECT, for related links: which of an article's related links may be published. None that leads to an
article the folder holds as withheld, embargoed or rejected: a related link would publish what the publisher
keeps back. The links themselves stay in the store; in memory only the hidden ones, per article."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from feedd.feeds.states import ArticleStates
from feedd.ingest.index import ArticleIndex
from feedd.models import Article

HIDING = ("withheld", "embargoed")


class HiddenLinks:
    def __init__(self, index: ArticleIndex, states: ArticleStates) -> None:
        self.index, self.states = index, states
        self.hidden = {i for i, state in states.states.items() if state in HIDING}
        self.hidden |= {i for i in index.claims if i not in states.states}
        masked: dict[str, list[str]] = defaultdict(list)
        for rel, target in index.store.links():
            if target in self.hidden and (article := self._winner(rel)) is not None:
                masked[article.id].append(target)
        self.masked = {i: tuple(dict.fromkeys(targets)) for i, targets in masked.items()}  # article id → hidden

    def of(self, article: Article) -> tuple[str, ...]:
        """The ids of the articles the article's related links lead to that must not be published."""
        return self.masked.get(article.id, ())

    def update(self, ids: Iterable[str]) -> set[str]:
        """After these articles changed (or were released): the ids of the articles whose hidden links changed,
        besides those (their feeds must be rendered again)."""
        ids = set(ids)
        sources = {i for i in ids if i in self.index.winners}
        for target in ids:
            if self._is_hidden(target) != (target in self.hidden):
                self.hidden ^= {target}
                sources |= {a.id for rel in self.index.store.linking(target) if (a := self._winner(rel)) is not None}
        changed = set()
        for article_id in sources:
            article = self.index.winners.get(article_id)
            new = tuple(dict.fromkeys(t for t in self.index.store.targets(article.source) if t in self.hidden)) \
                if article is not None else ()
            if new != self.masked.get(article_id, ()):
                if new:
                    self.masked[article_id] = new
                else:
                    self.masked.pop(article_id, None)
                changed.add(article_id)
        return changed - ids

    def _is_hidden(self, article_id: str) -> bool:
        state = self.states.states.get(article_id)
        return state in HIDING or (state is None and article_id in self.index.claims)

    def _winner(self, rel: str) -> Article | None:
        """The article of this file, if it is the one feeds show for its id."""
        parsed = self.index.files.get(rel)
        article = parsed.article if parsed is not None else None
        return article if article is not None and self.index.winners.get(article.id) is article else None
