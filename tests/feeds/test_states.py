"""feedd/feeds/states.py: each article's state for the report, and the next embargo to release."""

from __future__ import annotations

from datetime import timedelta

import pytest

from feedd.feeds.states import ArticleStates
from tests.feeds.test_selection import art
from tests.helpers import NOW


def next_embargo(articles):
    by_id = {a.id: a for a in articles}
    return ArticleStates(by_id, NOW).next_embargo(by_id)


def test_next_embargo_is_the_soonest_future_published_article():
    articles = [art("past", timedelta(hours=5)), art("later", -timedelta(days=2)), art("soon", -timedelta(hours=3)),
                art("withheld", -timedelta(hours=1), published=False)]
    assert next_embargo(articles) == NOW + timedelta(hours=3)


@pytest.mark.parametrize("articles", [[], [art("past")], [art("withheld", -timedelta(hours=1), published=False)]])
def test_no_next_embargo(articles):
    assert next_embargo(articles) is None
