"""SELECT, named: the URL slug of each topic, category and provider, given once and then kept.

A name's slug is its plain slug (`AI Hardware` → `ai-hardware`, `🔥` → `fire`) unless another name has it:
then the first free one of `-2`, `-3`, ... So `Robots` and `🤖 Robots` get a feed each, `topics/robots` and
`topics/robots-2`. Assignments are read from the state and written back to it, so a slug never moves to
another name, even after the name that had it is gone: subscribers hold those URLs.

A name is what `name_key` makes of it: `AI`, `ai` and `  Ai ` are one topic. Names that are new in the
same batch (a cold build, one burst of changed files) get their slugs in a fixed order, never in the order
files were parsed: each plain slug goes first to the name that reads as it (`robots` to `Robots`), then to
the first name in sort order; the others get numbers, in sort order.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import lru_cache

from slugify import slugify

from feedd.layout import feed_path
from feedd.models import Diagnostic, Family

NAMED = (Family.CATEGORIES, Family.TOPICS, Family.PROVIDERS)  # the families whose feeds are named by slugs
Assignment = tuple[str, str, str, str, str]  # family, name (as name_key makes it), slug, plain slug, spelling

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


@lru_cache(maxsize=65536)
def name_key(name: str) -> str:
    """What makes two spellings one name: case, spacing and Unicode compatibility forms are ignored."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _reads_as(key: str, plain: str) -> bool:
    """Whether the name is its slug written out (`AI Hardware` for `ai-hardware`, unlike `🤖 Robots` for `robots`)."""
    return key.replace(" ", "-") == plain


class Slugs:
    """Every name's slug, per family: those the state holds, and those given since (`take_new` to store them)."""

    def __init__(self, assigned: Iterable[Assignment] = ()) -> None:
        # spelling → slug, per family: what memberships() asks for every name of every article (a dict hit)
        self.spelled: dict[Family, dict[str, str]] = {family: {} for family in NAMED}
        self._slugs: dict[Family, dict[str, str]] = {family: {} for family in NAMED}  # name → slug
        self._owners: dict[Family, dict[str, tuple[str, str, str]]] = {family: {} for family in NAMED}
        self._wanting: dict[tuple[Family, str], list[str]] = defaultdict(list)  # (family, plain slug) → slugs
        self._collided: set[tuple[Family, str]] = set()  # (family, plain slug) some name did not get
        self._new: list[Assignment] = []
        self.collecting: list[tuple[Family, str]] | None = None  # when a list: of() notes new names, gives none
        for family, name, slug_, plain, spelling in assigned:
            self._record(Family(family), name, slug_, plain, spelling)

    def of(self, family: Family, name: str) -> str:
        """The name's slug, given now if it has none ("" while collecting). Callers try `spelled` first."""
        key = name_key(name)
        given = self._slugs[family].get(key)
        if given is None:
            if self.collecting is not None:
                self.collecting.append((family, name))
                return ""
            self.give([(family, name)])
            given = self._slugs[family][key]
        self.spelled[family][name] = given
        return given

    def peek(self, family: Family, name: str) -> str:
        """The name's slug if it has one, else its plain slug; gives none (a filter value may name any name)."""
        return self.spelled[family].get(name) or self._slugs[family].get(name_key(name)) or slug(name_key(name))

    def give(self, names: Iterable[tuple[Family, str]]) -> None:
        """Give slugs to the names that have none, in an order that depends only on the names: first each
        plain slug that is free, to the name that reads as it or else the first in sort order; then numbers."""
        new: dict[tuple[Family, str], str] = {}  # (family, name) → its first spelling in sort order
        for family, spelling in names:
            key = name_key(spelling)
            if key not in self._slugs[family] and spelling < new.get((family, key), "\U0010ffff"):
                new[family, key] = spelling
        claims = sorted((family, slug(key), not _reads_as(key, slug(key)), key) for family, key in new)
        rest = []
        for family, plain, _, key in claims:
            if plain in self._owners[family]:
                rest.append((family, plain, key))
            else:
                self._give(family, key, plain, plain, new[family, key])
        for family, plain, key in rest:
            number = 2
            while f"{plain}-{number}" in self._owners[family]:
                number += 1
            self._give(family, key, f"{plain}-{number}", plain, new[family, key])

    def _give(self, family: Family, key: str, slug_: str, plain: str, spelling: str) -> None:
        self._record(family, key, slug_, plain, spelling)
        self._new.append((family.value, key, slug_, plain, spelling))

    def _record(self, family: Family, key: str, slug_: str, plain: str, spelling: str) -> None:
        self._slugs[family][key] = slug_
        self._owners[family][slug_] = (key, plain, spelling)
        self._wanting[family, plain].append(slug_)
        if slug_ != plain:
            self._collided.add((family, plain))

    def take_new(self) -> list[Assignment]:
        """The slugs given since the last call, for the state to keep."""
        new, self._new = self._new, []
        return new

    def owners(self, family: Family) -> dict[str, str]:
        """Slug → the name that has it."""
        return {slug_: owner[0] for slug_, owner in self._owners[family].items()}

    def collisions(self, present: Callable[[Family, str], bool]) -> list[Diagnostic]:
        """An `info` for each plain slug that more than one name wants, when a name that has a feed now
        (present(family, slug)) did not get its plain slug: which names, and which slug each has."""
        found = []
        for family, plain in sorted(self._collided):
            slugs = self._wanting[family, plain]
            if not any(slug_ != plain and present(family, slug_) for slug_ in slugs):
                continue
            names = [(slug_, self._owners[family][slug_][2]) for slug_ in slugs]
            names.sort(key=lambda n: (n[0] != plain, len(n[0]), n[0]))  # the plain slug first, then -2, -3...
            holder = self._owners[family].get(plain)
            if holder is not None and holder[1] != plain:  # taken by a name with another plain slug
                names.insert(0, (plain, holder[2]))
            given = ", ".join(f'"{spelling}" → {family.value}/{slug_}' + ("" if present(family, slug_) else
                              " (no article has it now)") for slug_, spelling in names)
            found.append(Diagnostic(feed_path(family, plain), "info",
                                    f"{len(names)} {family.value} want the URL slug \"{plain}\"; "
                                    f"each has its own feed: {given}"))
        return found
