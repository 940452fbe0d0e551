"""SELECT, checked: the names configured feeds filter on that no published article has.

A filter value with a typo (`Robtos`) would otherwise publish an empty feed and say nothing. Pure: it reads
the names Membership already counts for the family feeds, so it costs no pass over the articles.
"""

from __future__ import annotations

import difflib
import json
from collections import defaultdict

from feedd.config import Config
from feedd.feeds.membership import Membership
from feedd.feeds.slugs import name_key
from feedd.models import Diagnostic, Family

_CHECKED = {"topics": (Family.TOPICS, "topic"), "providers": (Family.PROVIDERS, "provider"),
            "categories": (Family.CATEGORIES, "category")}


def unmatched_filters(config: Config, membership: Membership) -> list[Diagnostic]:
    """A warning for each value of a configured feed's `filter.topics`, `providers` or `categories` that no
    published article has (in any case, or as its URL slug, as `matches` accepts them), naming the closest
    names articles do have. A family whose feeds are disabled is not counted by Membership, so not checked."""
    asked = [(i, field, value) for i, feed in enumerate(config.feeds) for field in _CHECKED
             if config.families.of(field).enabled for value in getattr(feed.filter, field)]
    if not asked:
        return []
    known = _known_names(membership)
    where = str(config.source) if config.source else "config"
    found = []
    for i, field, value in asked:
        family, noun = _CHECKED[field]
        if name_key(value) in known[family]:
            continue
        reason = f"feeds[{i}].filter.{field}: no published article has the {noun} {_quoted(value)}"
        if close := closest(value, known[family]):
            reason += f"; did you mean {' or '.join(map(_quoted, close))}?"
        found.append(Diagnostic(where, "warning", reason))
    return found


def _known_names(membership: Membership) -> dict[Family, dict[str, str]]:
    """Per family: every name an article gives a feed, as name_key makes it and as its slug (the one it was given:
    `robots-2` for `🤖 Robots` when `Robots` has `robots`), → how it is shown; for a provider, its domain too (a
    filter may name either). What `matches` accepts, so a value is reported exactly when it matches nothing."""
    known: dict[Family, dict[str, str]] = defaultdict(dict)
    for key, names in membership.names.items():
        family = key.family
        if family not in (Family.TOPICS, Family.PROVIDERS, Family.CATEGORIES) or not names:
            continue
        spellings = list(names)
        if family is Family.PROVIDERS:
            some = next(iter(membership.members.get(key, {}).values()), None)
            if some is not None and some.provider and some.provider.domain:
                spellings.append(some.provider.domain)
        for name in spellings:
            known[family].setdefault(name_key(name), name)
            known[family].setdefault(membership.slugs.peek(family, name), name)
    return known


def closest(value: str, names: dict[str, str], n: int = 3) -> list[str]:
    """The names (as shown) most like `value`, best first; `names` maps folded names and slugs to them."""
    shown = []
    for match in difflib.get_close_matches(value.casefold(), names, n=2 * n, cutoff=0.6):
        if names[match] not in shown:
            shown.append(names[match])
    return shown[:n]


def _quoted(name: str) -> str:
    return json.dumps(name, ensure_ascii=False)
