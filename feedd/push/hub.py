"""The built-in WebSub hub (W3C WebSub §5-§7) for feedd's own feeds, and only those.

`handle(form)` is the whole of `POST /websub`: it validates the request and answers 202 at once (§5.1.2);
intent is verified afterwards, on the outbox's threads (§5.3: a GET to the callback with hub.challenge;
only a 2xx whose body is the challenge changes anything). `publish(changes)` queues the new bytes of each
changed topic for every active subscriber (§7): POSTed with the topic's Content-Type, Link rel=hub and
rel=self, and X-Hub-Signature: sha256=<HMAC of the body> when the subscriber gave a secret (§7.1).
Subscriptions persist in the state folder (store.py); network work is the outbox's (outbox.py); every
connection passes the callback policy (callbacks.py).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from feedd.config import WebSub
from feedd.push.callbacks import CallbackPolicy, host_of
from feedd.push.client import Client
from feedd.push.errors import AddressRefused, CallbackRefused, TransportError
from feedd.push.outbox import BACKOFF_FIRST, BACKOFF_MAX, Outbox, Outcome, Record
from feedd.push.store import Subscription, SubscriptionStore

log = logging.getLogger("feedd")
MAX_SECRET = 200  # bytes: "MUST be less than 200 bytes in length" (§5.1)


@dataclass(frozen=True)
class Document:
    """A topic's bytes as published, with the Content-Type it is served with."""

    data: bytes
    content_type: str


@dataclass(frozen=True)
class _Intent:
    mode: str  # subscribe | unsubscribe
    topic: str
    lease: int  # seconds granted (subscribe)
    secret: str | None
    new: bool  # a subscribe for no active subscription: counted against the caps until verified


class Refused(Exception):
    """A request the hub answers with an error status and a plain-text reason (§5.1.2)."""

    def __init__(self, status: int, reason: str) -> None:
        self.status, self.reason = status, reason
        super().__init__(reason)


class Hub:
    def __init__(self, settings: WebSub, *, url: str, state: Path, is_topic: Callable[[str], bool],
                 record: Record | None = None, backoff: tuple[float, float] = (BACKOFF_FIRST, BACKOFF_MAX)) -> None:
        self.settings, self.url, self.is_topic = settings, url, is_topic
        self._record = record or (lambda what, outcome: None)
        self.policy = CallbackPolicy(settings.allow_callbacks)
        self.store = SubscriptionStore(state, time.time())
        self.client = Client(timeout=settings.timeout, policy=self.policy, connections=settings.workers)
        self._pending: dict[tuple[str, str], _Intent] = {}  # verifications under way, by (callback, topic)
        self._new: Counter[str] = Counter()  # of those, the ones for no active subscription, by callback host
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self.outbox = Outbox(self._send, name="hub", workers=settings.workers, delay=settings.delivery_delay,
                             give_up_after=settings.give_up_after.total_seconds(), on_outcome=self._outcome,
                             backoff=backoff)

    # -- POST /websub ------------------------------------------------------------------------------------
    def handle(self, form: Mapping[str, str]) -> tuple[int, str]:
        """Answer a subscription request: (202, ...) when verification is under way, else (4xx/5xx, why)."""
        try:
            callback, intent = self._validate(form)
        except Refused as exc:
            return exc.status, exc.reason
        if intent is not None:
            self.outbox.put(callback, ("verify", intent.topic), intent)
        return 202, f"{form['hub.mode']} request accepted: intent will be verified at the callback"

    def _validate(self, form: Mapping[str, str]) -> tuple[str, _Intent | None]:
        """The callback and what to verify there (None: an unsubscribe from nothing, which needs no request)."""
        mode = form.get("hub.mode", "")
        if mode == "publish":
            raise Refused(400, "this hub publishes feedd's own feeds, as they change; it takes no publish pings")
        if mode not in ("subscribe", "unsubscribe"):
            raise Refused(400, "hub.mode must be subscribe or unsubscribe")
        topic, callback = form.get("hub.topic", ""), form.get("hub.callback", "")
        if not topic:
            raise Refused(400, "hub.topic is missing")
        if not self.is_topic(topic):
            raise Refused(400, f"hub.topic {topic[:200]!r} is not a feed published here (use a feed's rel=self URL)")
        if not callback:
            raise Refused(400, "hub.callback is missing")
        try:
            self.policy.check_url(callback)
        except CallbackRefused as exc:
            raise Refused(403 if isinstance(exc, AddressRefused) else 400, f"hub.callback {exc}") from None
        secret = form.get("hub.secret") or None
        if secret is not None and len(secret.encode("utf-8")) >= MAX_SECRET:
            raise Refused(400, f"hub.secret must be less than {MAX_SECRET} bytes")
        lease = self._lease(form.get("hub.lease_seconds"))
        key, host = (callback, topic), host_of(callback)
        with self._lock:
            active, earlier = self.store.get(*key) is not None, self._pending.get(key)
            if mode == "unsubscribe" and not active and earlier is None:
                return callback, None
            new = mode == "subscribe" and not active
            if new and (earlier is None or not earlier.new):
                self._check_caps(host)
            if earlier is not None and earlier.new:
                self._new[host] -= 1
            intent = self._pending[key] = _Intent(mode, topic, lease, secret, new)
            if new:
                self._new[host] += 1
        return callback, intent

    def _lease(self, asked: str | None) -> int:
        """The lease granted: the one asked for, within [lease_min, lease_max] (a 10-year one is cut)."""
        low, high = (int(d.total_seconds()) for d in (self.settings.lease_min, self.settings.lease_max))
        if asked is None or asked == "":
            return int(self.settings.lease_default.total_seconds())
        if not re.fullmatch(r"[0-9]{1,18}", asked) or int(asked) == 0:
            raise Refused(400, "hub.lease_seconds must be a positive whole number of seconds")
        return max(low, min(int(asked), high))

    def _check_caps(self, host: str) -> None:
        """Under the lock: the caps count active subscriptions and new ones being verified (not renewals)."""
        if self.store.count() + self._new.total() >= self.settings.max_subscriptions:
            raise Refused(503, "this hub has as many subscriptions as it takes (websub.max_subscriptions)")
        if self.store.count(host) + self._new[host] >= self.settings.max_per_host:
            raise Refused(429, f"{host} has as many subscriptions as one host may have (websub.max_per_host)")

    # -- feedd's feeds changed ---------------------------------------------------------------------------
    def publish(self, changes: Mapping[str, Document]) -> None:
        """Queue each changed topic's new bytes for its active subscribers; returns at once. A topic's
        document is looked up only when it has subscribers, so `changes` may read files lazily."""
        now = time.time()
        self.store.purge(now)
        for topic in changes:
            subscribers = [sub for sub in self.store.of_topic(topic) if sub.active(now)]
            if not subscribers:
                continue
            try:
                document = changes[topic]
            except KeyError:  # gone since (a lazy mapping over the output folder)
                continue
            for sub in subscribers:
                self.outbox.put(sub.callback, ("deliver", topic), document)

    # -- the outbox's side -------------------------------------------------------------------------------
    def _send(self, callback: Hashable, key: Hashable, value: Any) -> Outcome:
        assert isinstance(callback, str) and isinstance(key, tuple)
        return self._verify(callback, value) if key[0] == "verify" else self._deliver(callback, key[1], value)

    def _outcome(self, key: Hashable, outcome: Outcome) -> None:
        assert isinstance(key, tuple)
        self._record("verifications" if key[0] == "verify" else "deliveries", outcome.value)

    def _verify(self, callback: str, intent: _Intent) -> Outcome:
        challenge = secrets.token_urlsafe(32)
        query = {"hub.mode": intent.mode, "hub.topic": intent.topic, "hub.challenge": challenge}
        if intent.mode == "subscribe":
            query["hub.lease_seconds"] = str(intent.lease)
        started = time.time()  # the lease runs from the verification request (§5.3)
        try:
            to = self.policy.check_url(callback)
            to = to._replace(target=to.target + ("&" if "?" in to.target else "?") + urlencode(query))  # §5.1.1
            reply = self.client.request("GET", to, read=len(challenge) + 64)
            verified = 200 <= reply.status < 300 and reply.body.strip() == challenge.encode("ascii")
            why = "" if verified else f"answered {reply.status} without echoing hub.challenge"
        except (CallbackRefused, TransportError) as exc:
            verified, why = False, exc.reason
        with self._lock:
            if self._pending.get((callback, intent.topic)) is intent:  # else a newer request replaced it
                del self._pending[(callback, intent.topic)]
                if intent.new:
                    self._new[host_of(callback)] -= 1
            if verified and intent.mode == "subscribe":
                self.store.put(Subscription(callback, intent.topic, intent.secret, started + intent.lease))
            elif verified:
                self.store.remove(callback, intent.topic)
        if not verified:
            self.last_error = f"{intent.mode} {callback} to {intent.topic}: not verified: {why}"
            log.info("websub: %s", self.last_error)
        return Outcome.OK if verified else Outcome.FAILED  # never retried: the subscriber asks again

    def _deliver(self, callback: str, topic: str, document: Document) -> Outcome:
        sub = self.store.get(callback, topic)
        if sub is None or not sub.active(time.time()):
            return Outcome.OK  # unsubscribed or expired since: nothing to send
        headers = [("Content-Type", document.content_type), ("Link", f'<{self.url}>; rel="hub", <{topic}>; rel="self"')]
        if sub.secret is not None:
            digest = hmac.new(sub.secret.encode("utf-8"), document.data, hashlib.sha256).hexdigest()
            headers.append(("X-Hub-Signature", f"sha256={digest}"))
        try:
            reply = self.client.request("POST", self.policy.check_url(callback), headers, document.data)
        except CallbackRefused as exc:
            self.last_error = f"delivery to {callback}: {exc.reason}"
            return Outcome.FAILED
        except TransportError as exc:
            self.last_error = f"delivery to {callback}: {exc.reason}"
            return Outcome.RETRY
        if 200 <= reply.status < 300:
            return Outcome.OK
        self.last_error = f"delivery to {callback}: answered {reply.status}"
        if reply.status == 410:  # §7: the subscriber deleted the subscription
            self.store.remove(callback, topic)
            return Outcome.GONE
        return Outcome.RETRY if reply.status >= 500 or reply.status == 429 else Outcome.FAILED

    # -- operations --------------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """For /healthz."""
        self.store.purge(time.time())
        with self._lock:
            verifying = len(self._pending)
        return {"subscriptions": self.store.count(), "verifying": verifying, "pending": self.outbox.pending(),
                "last_error": self.last_error or self.outbox.last_error, "state_error": self.store.last_error}

    def close(self, wait: float = 0.0) -> None:
        self.outbox.close(wait)
        self.client.close()
        self.store.close()
