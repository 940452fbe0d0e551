"""PUSH: WebSub (W3C Recommendation, 2018) for the feeds whose published bytes changed.

Pings to external hubs, and a built-in hub for feedd's own feeds. See README, "Push (WebSub)".
"""

from __future__ import annotations

from feedd.push.callbacks import CallbackPolicy
from feedd.push.errors import AddressRefused, CallbackRefused, PushError, StateError, TransportError
from feedd.push.hub import Document, Hub
from feedd.push.outbox import Outcome
from feedd.push.pings import Pinger
from feedd.push.websub import OutputFeeds, Push, discovery_links, feed_links, is_feed_url

__all__ = [
    "AddressRefused",
    "CallbackPolicy",
    "CallbackRefused",
    "Document",
    "Hub",
    "Outcome",
    "OutputFeeds",
    "Pinger",
    "Push",
    "PushError",
    "StateError",
    "TransportError",
    "discovery_links",
    "feed_links",
    "is_feed_url",
]
