"""feedd/feeds/slugs.py: each name's URL slug (issue 13, point 12)."""

from __future__ import annotations

import re

import pytest

from feedd.feeds.slugs import slug

URL_SAFE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


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
