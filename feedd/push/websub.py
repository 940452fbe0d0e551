"""What the rest of feedd holds: its side of WebSub, built from `config.websub`.

`Push` is the one object the daemon keeps: pings to the configured hubs (pings.py) and, with
`websub.builtin`, the hub itself (hub.py). After each build the daemon calls `published(changes)` with
the feeds whose published bytes changed; the server answers `POST /websub` with `handle(form)` and adds
`discovery_links(...)` to every feed response (§4). Nothing here blocks on the network.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from feedd.config import WEBSUB_PATH, Config
from feedd.layout import FEEDS_DIR, FORMATS, content_type
from feedd.push.hub import Document, Hub
from feedd.push.outbox import Record
from feedd.push.pings import Pinger

FEED_SUFFIXES = tuple(f".{fmt}" for fmt in FORMATS)  # the topics: each format of each feed is its own (§4.1)


def discovery_links(hub_urls: Iterable[str], self_url: str) -> str | None:
    """The `Link` header value a feed response carries (§4): every hub, then the feed itself; None without hubs."""
    hubs = [f'<{hub}>; rel="hub"' for hub in hub_urls]
    return ", ".join([*hubs, f'<{self_url}>; rel="self"']) if hubs else None


def feed_links(hub_urls: Iterable[str], base_url: str) -> Callable[[str], str | None]:
    """For the server (main process and helpers alike): the `Link` value of the file at a path relative to
    the output folder, or None for a file that is no feed or when no hub is configured."""
    hubs = tuple(hub_urls)

    def links(rel: str) -> str | None:
        if not hubs or not rel.startswith(FEEDS_DIR + "/") or not rel.endswith(FEED_SUFFIXES):
            return None
        return discovery_links(hubs, base_url + rel)

    return links


def is_feed_url(base_url: str, output: Path) -> Callable[[str], bool]:
    """`is_topic` for the hub: the URL of a feed file (RSS, Atom or JSON) published in the output folder."""
    root = os.path.realpath(output)

    def is_topic(url: str) -> bool:
        if not url.startswith(base_url):
            return False
        rel = url[len(base_url):]
        if not rel.startswith(FEEDS_DIR + "/") or not rel.endswith(FEED_SUFFIXES) or "?" in rel or "#" in rel:
            return False
        if any(part in ("", ".", "..") or part.startswith(".") for part in rel.split("/")) or "\\" in rel:
            return False
        path = os.path.realpath(os.path.join(root, rel))
        return path.startswith(root + os.sep) and os.path.isfile(path)

    return is_topic


class OutputFeeds(Mapping[str, Document]):
    """Changed feeds by URL, read from the output folder only when looked up (only topics that have
    subscribers are): what a build wrote, as `published` wants it."""

    def __init__(self, base_url: str, output: Path, written: Iterable[str]) -> None:
        self.base_url, self.output = base_url, output
        self.rels = {base_url + rel: rel for rel in written
                     if rel.startswith(FEEDS_DIR + "/") and rel.endswith(FEED_SUFFIXES)}

    def __iter__(self) -> Iterator[str]:
        return iter(self.rels)

    def __len__(self) -> int:
        return len(self.rels)

    def __getitem__(self, url: str) -> Document:
        rel = self.rels[url]
        try:
            data = (self.output / rel).read_bytes()
        except OSError:
            raise KeyError(url) from None
        return Document(data, content_type(rel.rsplit(".", 1)[1]))


class Push:
    """Pings and the built-in hub, as configured; either may be absent (then it costs nothing)."""

    def __init__(self, config: Config, *, is_topic: Callable[[str], bool], record: Record | None = None) -> None:
        settings = config.websub
        self.hub_urls = config.hub_urls
        self.pinger = Pinger(settings, record=record) if settings.hubs else None
        self.hub = Hub(settings, url=config.site.base_url + WEBSUB_PATH, state=config.paths.state,
                       is_topic=is_topic, record=record) if settings.builtin else None

    def published(self, changes: Mapping[str, Document]) -> None:
        """These feed URLs' bytes changed (and nothing else did): ping the hubs, deliver to subscribers."""
        if self.pinger is not None and changes:
            self.pinger.publish(changes)
        if self.hub is not None and changes:
            self.hub.publish(changes)

    def handle(self, form: Mapping[str, str]) -> tuple[int, str]:
        """`POST /websub`: (status, plain-text body)."""
        if self.hub is None:
            return 404, "Not Found"
        return self.hub.handle(form)

    def status(self) -> dict[str, Any] | None:
        """For /healthz; None when WebSub is off."""
        if self.pinger is None and self.hub is None:
            return None
        return {"pings": self.pinger.status() if self.pinger else None,
                "hub": self.hub.status() if self.hub else None}

    def close(self, wait: float = 1.0) -> None:
        """Stop sending, after up to `wait` seconds for what is pending; subscriptions are written out."""
        if self.pinger is not None:
            self.pinger.close(wait)
        if self.hub is not None:
            self.hub.close(wait)
