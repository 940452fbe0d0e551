"""feedd/feeds/filters.py: filter values that no published article has are named, with the closest names."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from feedd.config import validate_config
from feedd.feeds.filters import unmatched_filters
from feedd.feeds.membership import Membership
from feedd.models import Article, Provider
from tests.helpers import NOW

WIRED = Provider("Wired", "wired.com")


def art(name: str, age: timedelta = timedelta(hours=1), **fields) -> Article:
    return Article(id=f"urn:{name}", source=f"{name}.txt", title=name, link=f"https://example.com/{name}",
                   published_at=NOW - age, **fields)


ARTICLES = [art("a", topics=("AI Hardware", "Robots"), provider=WIRED, category="News"),
            art("b", topics=("AI",), provider=Provider("South China Morning Post", "scmp.com"), category="Opinion")]


def warnings(filter_: dict, articles=ARTICLES, **sections) -> list[str]:
    config = validate_config({"feeds": [{"name": "first"}, {"name": "mine", "filter": filter_}], **sections})
    membership = Membership(config, NOW)
    membership.add_all(articles)
    found = unmatched_filters(config, membership)
    assert all(d.level == "warning" and d.path == "config" for d in found)
    return [d.reason for d in found]


@pytest.mark.parametrize("filter_", [
    {},
    {"topics": ["AI Hardware", "ai hardware", "AI HARDWARE", "ai-hardware", "robots"]},
    {"providers": ["Wired", "wired", "wired.com", "WIRED.COM", "wired-com", "south-china-morning-post"]},
    {"categories": ["news", "OPINION"]},
    {"types": ["nothing has this type"], "min_heat": 1000},  # not names: an empty feed, but no typo to name
])
def test_names_that_articles_have_are_not_reported(filter_):
    assert warnings(filter_) == []


def test_a_name_no_article_has_is_a_warning_with_the_closest_names():
    assert warnings({"topics": ["Robtos", "AI Hardwre"], "providers": ["Wierd"], "categories": ["Newz"]}) == [
        'feeds[1].filter.topics: no published article has the topic "Robtos"; did you mean "Robots"?',
        'feeds[1].filter.topics: no published article has the topic "AI Hardwre"; did you mean "AI Hardware"?',
        'feeds[1].filter.providers: no published article has the provider "Wierd"; did you mean "Wired"?',
        'feeds[1].filter.categories: no published article has the category "Newz"; did you mean "News"?',
    ]


def test_a_slug_with_a_typo_suggests_the_name():
    assert warnings({"topics": ["ai-hardwar"]}) == [
        'feeds[1].filter.topics: no published article has the topic "ai-hardwar"; did you mean "AI Hardware"?']


def test_nothing_close_names_nothing():
    assert warnings({"topics": ["Quantum Computing"]}) == [
        'feeds[1].filter.topics: no published article has the topic "Quantum Computing"']


def test_names_of_unpublished_articles_do_not_count():
    hidden = [art("w", topics=("Secret",), published=False), art("e", -timedelta(hours=1), topics=("Future",))]
    assert len(warnings({"topics": ["Secret", "Future"]}, ARTICLES + hidden)) == 2


def test_a_family_with_no_feeds_is_not_checked():
    """Membership counts names by the family feeds it keeps: without topic feeds, topics cannot be checked."""
    assert warnings({"topics": ["Robtos"]}, families={"topics": {"enabled": False}}) == []
    assert len(warnings({"topics": ["Robtos"]}, families={"providers": {"enabled": False}})) == 1


def test_names_below_min_items_still_count():
    assert warnings({"topics": ["Robots"]}, families={"topics": {"min_items": 5}}) == []


def test_the_path_is_the_config_file(tmp_path: Path):
    config = validate_config({"feeds": [{"name": "mine", "filter": {"topics": ["Robtos"]}}]}, tmp_path / "f.yaml")
    membership = Membership(config, NOW)
    membership.add_all(ARTICLES)
    (found,) = unmatched_filters(config, membership)
    assert str(found) == (f'{tmp_path / "f.yaml"}: warning: feeds[0].filter.topics: no published article has '
                          'the topic "Robtos"; did you mean "Robots"?')
