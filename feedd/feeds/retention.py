"""SELECT over time, for subscribers: a family feed that loses its articles stays published, empty, for its
family's `retain` (a reader that polls it sees a valid feed, not a broken URL); after that it is Gone.

Configured feeds removed from the config, and feeds of a family that is disabled, are Gone at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from feedd.config import Config
from feedd.feeds.membership import Membership
from feedd.layout import feed_key
from feedd.models import Family, FeedKey

FAMILIES = {Family.CATEGORIES.value, Family.TOPICS.value, Family.PROVIDERS.value}


@dataclass
class Retention:
    """What a build changes: feeds to retain from now on (key → name, since), and retained feeds to let go of,
    because they have articles again (`back`) or because their time is up (`expired`, then Gone)."""

    retain: dict[FeedKey, tuple[str, datetime]] = field(default_factory=dict)
    back: set[FeedKey] = field(default_factory=set)
    expired: set[FeedKey] = field(default_factory=set)

    def apply(self, membership: Membership) -> None:
        for key, (name, since) in self.retain.items():
            membership.retain(key, name, since)
        for key in self.back | self.expired:
            membership.release(key)


def retention(config: Config, membership: Membership, vanished: Iterable[str], name_of: Callable[[str], str],
              now: datetime) -> Retention:
    """`vanished`: paths of published feeds that no longer exist; `name_of(path)`: the name each was listed by."""
    changes = Retention()
    for path in vanished:
        family, slug = feed_key(path)
        if family in FAMILIES and _retains(config, family):
            changes.retain[membership.key(Family(family), slug)] = (name_of(path), now)
    for key, (_, since) in membership.retained.items():
        if membership.exists(key):
            changes.back.add(key)
        elif not _retains(config, key.family) or now - since >= config.families.of(key.family).retain:
            changes.expired.add(key)
    return changes


def _retains(config: Config, family: str) -> bool:
    settings = config.families.of(family)
    return settings.enabled and settings.retain.total_seconds() > 0
