"""feedd/feeds/membership.py: which feeds exist and what each holds, kept current one article at a time."""

from __future__ import annotations

from datetime import timedelta

from feedd.config import validate_config
from feedd.feeds.membership import Membership
from tests.feeds.test_selection import SCMP, WIRED, art
from tests.helpers import NOW


def test_placing_many_at_once_is_placing_each_in_turn():
    """Membership.add_all (first builds) must leave exactly what add() one article at a time leaves."""
    config = validate_config({"feeds": [{"name": "wired-ai", "filter": {"topics": ["AI"], "providers": ["Wired"]}}],
                              "defaults": {"sort": "heat"}})
    articles = [art("a", topics=("AI", "Robots"), provider=WIRED, heat=5.0, category="Tech"),
                art("b", topics=("ai",), provider=SCMP, heat=1.0),
                art("c", age=-timedelta(hours=1), topics=("AI",)),  # embargoed
                art("d", published=False, topics=("AI",)),
                art("e", topics=("Robots",), provider=WIRED),
                art("a", topics=("Space",), provider=SCMP, heat=2.0)]  # a new version of "a"
    one_by_one, at_once = Membership(config, NOW), Membership(config, NOW)
    for article in articles:
        one_by_one.add(article)
    at_once.add_all(articles)
    for feeds in (one_by_one, at_once):
        feeds.members = {k: v for k, v in feeds.members.items() if v}  # add() leaves emptied groups behind
        feeds.names = {k: +v for k, v in feeds.names.items() if +v}
    assert at_once.members == one_by_one.members
    assert at_once.names == one_by_one.names
    assert at_once.placed == one_by_one.placed
    assert at_once.keys_by == one_by_one.keys_by
    assert at_once.keys() == one_by_one.keys()
    assert [at_once.plan(k) for k in at_once.keys()] == [one_by_one.plan(k) for k in one_by_one.keys()]
