"""feedd/feeds/slugs.py: each name's URL slug, given once, kept, never shared (issue 13, point 12)."""

from __future__ import annotations

import itertools
import re

import pytest

from feedd.feeds.slugs import Slugs, name_key, slug
from feedd.models import Family

TOPICS = Family.TOPICS
URL_SAFE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def given(slugs: Slugs, *names: str, family: Family = TOPICS) -> dict[str, str]:
    """Give slugs to these names at once; each name → its slug."""
    slugs.give((family, name) for name in names)
    return {name: slugs.of(family, name) for name in names}


# --- plain slugs -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    ("🔥", "fire"),
    ("🤖", "robot-face"),
    ("🔥🚀", "fire-rocket"),
    ("❤️", "heavy-black-heart"),  # the variation selector is part of the emoji
    ("👍🏽", "thumbs-up-sign"),  # so is the skin tone
    ("👨‍👩‍👧", "man-woman-girl"),  # and the joiners
    ("🇫🇷", "flag-fr"),
    ("★ ∞", "black-star-infinity"),
    ("\ue000", "x-ue000"),  # a private-use character has no name: escaped, as before
])
def test_a_name_made_only_of_symbols_is_spelt_out(name, expected):
    assert slug(name) == expected
    assert URL_SAFE.match(slug(name))


@pytest.mark.parametrize(("name", "expected"), [
    ("Robots", "robots"), ("🤖 Robots", "robots"), ("AI Hardware", "ai-hardware"), ("C++", "c-plus-plus"),
    ("wired.com", "wired-com"), ("人工智能", "ren-gong-zhi-neng"),
])
def test_names_with_letters_keep_the_slug_they_always_had(name, expected):
    assert slug(name) == expected


@pytest.mark.parametrize(("a", "b"), [("AI", "ai"), ("AI Hardware", "  ai   HARDWARE "), ("Cafe\u0301", "café"),
                                      ("ｒｏｂｏｔｓ", "Robots")])
def test_spellings_of_one_name(a, b):
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize(("a", "b"), [("Robots", "🤖 Robots"), ("AI Hardware", "AI-Hardware"), ("C++", "C Plus Plus")])
def test_distinct_names(a, b):
    assert name_key(a) != name_key(b)


# --- giving slugs ----------------------------------------------------------------------------------------------

def test_names_that_slugify_alike_get_a_slug_each():
    assert given(Slugs(), "🤖 Robots", "Robots", "ROBOTS!") == {
        "Robots": "robots", "🤖 Robots": "robots-3", "ROBOTS!": "robots-2"}


def test_the_order_names_come_in_does_not_matter():
    names = ["🤖 Robots", "Robots", "robots!", "Robots 2", "🔥", "Fire", "AI", "ai"]
    results = set()
    for order in itertools.permutations(names):
        slugs = Slugs()
        given(slugs, *order)
        results.add(tuple(sorted(slugs.owners(TOPICS).items())))
    assert len(results) == 1
    owners = dict(results.pop())
    assert owners["robots"] == "robots" and owners["robots-2"] == "robots 2"  # each plain slug to its own name
    assert owners["fire"] == "fire" and owners["fire-2"] == "🔥"
    assert owners["ai"] == "ai" and len(owners) == 7


def test_spellings_of_one_name_share_its_slug():
    slugs = Slugs()
    assert given(slugs, "AI", "ai", " Ai ") == {"AI": "ai", "ai": "ai", " Ai ": "ai"}
    assert slugs.take_new() == [("topics", "ai", "ai", "ai", " Ai ")]  # one name, kept once


def test_a_slug_given_is_kept_even_when_a_better_claimant_comes():
    slugs = Slugs()
    assert given(slugs, "🤖 Robots") == {"🤖 Robots": "robots"}  # first come
    assert given(slugs, "Robots") == {"Robots": "robots-2"}  # first served


def test_slugs_come_back_from_what_was_kept():
    first = Slugs()
    given(first, "🤖 Robots")
    given(first, "Robots")
    kept = first.take_new()
    assert first.take_new() == []
    again = Slugs(kept)
    assert again.of(TOPICS, "robots") == "robots-2"  # any spelling of the name
    assert again.of(TOPICS, "🤖 robots") == "robots"
    assert again.take_new() == []
    assert given(again, "Robots!") == {"Robots!": "robots-3"}


def test_families_have_their_own_slugs():
    slugs = Slugs()
    given(slugs, "Robots")
    assert given(slugs, "🤖 Robots", family=Family.CATEGORIES) == {"🤖 Robots": "robots"}


def test_while_collecting_no_slug_is_given():
    slugs = Slugs()
    slugs.collecting = noted = []
    assert slugs.of(TOPICS, "Robots") == ""
    assert noted == [(TOPICS, "Robots")] and slugs.owners(TOPICS) == {}


def test_peek_gives_nothing():
    slugs = Slugs()
    assert slugs.peek(TOPICS, "🤖 Robots") == "robots"  # the plain slug, while no name has it
    given(slugs, "Robots", "🤖 Robots")
    assert slugs.peek(TOPICS, "🤖 Robots") == "robots-2"
    assert slugs.peek(TOPICS, "Robots!") == "robots"
    assert len(slugs.owners(TOPICS)) == 2


# --- the diagnostic ----------------------------------------------------------------------------------------------

def test_a_collision_is_named_while_a_name_that_lost_its_plain_slug_has_a_feed():
    slugs = Slugs()
    given(slugs, "Robots", "🤖 Robots", "Fire")
    everything = {(TOPICS, "robots"), (TOPICS, "robots-2"), (TOPICS, "fire")}
    (found,) = slugs.collisions(lambda family, s: (family, s) in everything)
    assert str(found) == ('feeds/topics/robots: info: 2 topics want the URL slug "robots"; each has its own feed: '
                          '"Robots" → topics/robots, "🤖 Robots" → topics/robots-2')
    assert slugs.collisions(lambda family, s: s == "robots") == []  # the name that has robots-2 has no feed now
    (gone,) = slugs.collisions(lambda family, s: s == "robots-2")
    assert '"Robots" → topics/robots (no article has it now)' in gone.reason


def test_a_slug_taken_by_a_numbered_name_is_named():
    slugs = Slugs()
    given(slugs, "Robots", "🤖 Robots")
    given(slugs, "Robots 2")
    found = slugs.collisions(lambda family, s: True)
    assert [d.reason for d in found][-1] == ('2 topics want the URL slug "robots-2"; each has its own feed: '
                                             '"🤖 Robots" → topics/robots-2, "Robots 2" → topics/robots-2-2')
