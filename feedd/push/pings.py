"""Publisher pings (WebSub §6): tell each configured external hub which of feedd's feeds changed.

WebSub leaves the publisher-to-hub notification open; the de-facto form, which Google's and Superfeedr's
hubs accept, is a form POST of `hub.mode=publish&hub.url=<feed URL>`. Newer hubs (Switchboard, those
written to the W3C implementation report's question) read `hub.topic` instead, so the ping carries both,
with the same URL: Google's reference hub reads only hub.url and ignores other fields, and hubs that take
both read hub.url as the URL to fetch for hub.topic. The hub then fetches the feed itself and delivers it
to its subscribers. One ping per changed feed and hub, for exactly the URLs given: the
daemon passes only feeds whose published bytes changed. Pings go through the outbox (coalesced over
`websub.ping_delay`, retried with backoff on connection errors, 429 and 5xx, dropped after
`websub.give_up_after`). The hubs are the operator's own choice, so no callback policy applies to them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Hashable, Iterable
from typing import Any
from urllib.parse import urlencode

from feedd.config import WebSub
from feedd.push.callbacks import Target, parse_url
from feedd.push.client import Client
from feedd.push.errors import TransportError
from feedd.push.outbox import BACKOFF_FIRST, BACKOFF_MAX, Outbox, Outcome, Record

log = logging.getLogger("feedd")
FORM = "application/x-www-form-urlencoded"


class Pinger:
    def __init__(self, settings: WebSub, *, record: Record | None = None,
                 backoff: tuple[float, float] = (BACKOFF_FIRST, BACKOFF_MAX)) -> None:
        self.hubs: dict[str, Target] = {hub: parse_url(hub) for hub in settings.hubs}
        self._record = record or (lambda what, outcome: None)
        self.client = Client(timeout=settings.timeout, connections=settings.workers)
        self.last_error: str | None = None
        self.outbox = Outbox(self._ping, name="pings", workers=min(settings.workers, max(len(self.hubs), 1)),
                             delay=settings.ping_delay, give_up_after=settings.give_up_after.total_seconds(),
                             on_outcome=lambda key, outcome: self._record("pings", outcome.value), backoff=backoff)

    def publish(self, urls: Iterable[str]) -> None:
        """Queue a ping to every hub for each of these feed URLs; returns at once."""
        for url in urls:
            for hub in self.hubs:
                self.outbox.put(hub, url, url)

    def _ping(self, hub: Hashable, key: Hashable, url: Any) -> Outcome:
        assert isinstance(hub, str) and isinstance(url, str)
        body = urlencode({"hub.mode": "publish", "hub.url": url, "hub.topic": url}).encode("ascii")
        try:
            reply = self.client.request("POST", self.hubs[hub], [("Content-Type", FORM)], body, read=512)
        except TransportError as exc:
            self.last_error = f"ping to {hub} for {url}: {exc.reason}"
            log.info("websub: %s (will retry)", self.last_error)
            return Outcome.RETRY
        if 200 <= reply.status < 300:
            return Outcome.OK
        said = reply.body.decode("utf-8", "replace").strip()[:200]
        self.last_error = f"ping to {hub} for {url}: answered {reply.status}" + (f": {said}" if said else "")
        if reply.status >= 500 or reply.status == 429:
            log.info("websub: %s (will retry)", self.last_error)
            return Outcome.RETRY
        log.warning("websub: %s; not retried (is websub.hubs right?)", self.last_error)
        return Outcome.FAILED

    def status(self) -> dict[str, Any]:
        """For /healthz."""
        return {"hubs": list(self.hubs), "pending": self.outbox.pending(),
                "last_error": self.last_error or self.outbox.last_error}

    def close(self, wait: float = 0.0) -> None:
        self.outbox.close(wait)
        self.client.close()


def ping_now(settings: WebSub, urls: Iterable[str], wait: float) -> Counter[str]:
    """Ping every hub for these feed URLs at once, for a one-shot build (`feedd build` from cron): no
    coalescing delay, failures retried within `wait` seconds, what is still unsent then dropped. Returns
    the final outcome of each ping, counted: ok, failed, and unsent (still failing, or never tried)."""
    outcomes: Counter[str] = Counter()
    pinger = Pinger(settings.model_copy(update={"ping_delay": 0.0}),
                    record=lambda what, outcome: outcomes.update([outcome]) if outcome != "retry" else None)
    try:
        pinger.publish(urls)
        pinger.outbox.wait_idle(wait)
        unsent = pinger.outbox.pending()
    finally:
        pinger.close(0.0)
    if unsent:
        outcomes["unsent"] += unsent
    return outcomes
