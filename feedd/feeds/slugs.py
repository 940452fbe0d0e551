"""SELECT, named: the URL slug of each topic, category and provider (`AI Hardware` → `ai-hardware`, `🔥` → `fire`)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from slugify import slugify

_REPLACEMENTS = [["+", " plus "], ["&", " and "], ["#", " sharp "]]
_SKIPPED = {"Mn", "Me", "Cf"}  # variation selectors, keycap enclosures, zero-width joiners: part of an emoji
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_FLAG_LETTERS = range(0x1F1E6, 0x1F200)  # regional indicators: two of them make a flag


@lru_cache(maxsize=65536)
def slug(name: str) -> str:
    """The plain URL slug of a name (`wired.com` → `wired-com`); symbols by their Unicode names (`🔥` → `fire`),
    and `x-` with escapes for characters that have none. Never empty."""
    return slugify(name, replacements=_REPLACEMENTS, max_length=80, word_boundary=True) or _symbols(name) or \
        "x-" + slugify(name.encode("unicode_escape").decode("ascii"), max_length=60)


def _symbols(name: str) -> str:
    """A name made only of symbols, spelt out: `🤖` → `robot-face`, `🇫🇷` → `flag-fr`; "" if one has no name."""
    words: list[str] = []
    flag = ""
    for char in name:
        code = ord(char)
        if code in _FLAG_LETTERS:
            flag += chr(code - _FLAG_LETTERS.start + ord("a"))
            continue
        if flag:
            words.append(f"flag {flag}")
            flag = ""
        if char.isspace() or code in _SKIN_TONES or unicodedata.category(char) in _SKIPPED:
            continue
        if not (word := unicodedata.name(char, "")):
            return ""
        words.append(word)
    if flag:
        words.append(f"flag {flag}")
    return slugify(" ".join(words), max_length=80, word_boundary=True)
