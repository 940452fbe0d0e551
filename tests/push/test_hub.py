"""feedd/push/hub.py: the built-in hub against a real subscriber on loopback (WebSub §5-§7)."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import Counter

import pytest

from feedd.config import validate_config
from feedd.push.hub import Document, Hub
from tests.push.peers import Subscriber

TOPIC = "http://feeds.test/feeds/all.rss"
OTHER = "http://feeds.test/feeds/topics/ai.atom"
HUB_URL = "http://feeds.test/websub"
RSS = "application/rss+xml; charset=utf-8"
TEN_DAYS, THIRTY_DAYS = 864_000, 2_592_000


def settings(**websub):
    base = {"builtin": True, "allow_callbacks": ["127.0.0.0/8"], "delivery_delay": 0, "lease_min": "1s",
            "give_up_after": "0.6s", "timeout": 2}
    return validate_config({"websub": base | websub}).websub


class Events:
    """The (what, outcome) pairs a hub reports for /metrics."""

    def __init__(self) -> None:
        self.seen: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    def __call__(self, what: str, outcome: str) -> None:
        with self.lock:
            self.seen[(what, outcome)] += 1


@pytest.fixture
def subscriber():
    peer = Subscriber()
    yield peer
    peer.close()


@pytest.fixture
def events():
    return Events()


@pytest.fixture
def make_hub(tmp_path, events):
    made: list[Hub] = []

    def make(state=None, **websub) -> Hub:
        hub = Hub(settings(**websub), url=HUB_URL, state=state or tmp_path / "state",
                  is_topic=lambda url: url in (TOPIC, OTHER), record=events, backoff=(0.05, 0.2))
        made.append(hub)
        return hub

    yield make
    for hub in made:
        hub.close()


def form(callback: str, mode: str = "subscribe", topic: str = TOPIC, **extra: str) -> dict[str, str]:
    return {"hub.mode": mode, "hub.topic": topic, "hub.callback": callback,
            **{f"hub.{name}": value for name, value in extra.items()}}


def subscribe(hub: Hub, callback: str, topic: str = TOPIC, **extra: str) -> None:
    """Subscribe and wait until verified."""
    status, body = hub.handle(form(callback, topic=topic, **extra))
    assert status == 202, body
    deadline = time.monotonic() + 3
    while hub.store.get(callback, topic) is None:
        assert time.monotonic() < deadline, f"not verified: {hub.status()}"
        time.sleep(0.005)


def doc(text: str = "<rss>v1</rss>") -> Document:
    return Document(text.encode(), RSS)


def quiet(subscriber: Subscriber, seconds: float = 0.3) -> int:
    """Deliveries received, after giving a stray one time to arrive."""
    time.sleep(seconds)
    return len(subscriber.deliveries())


# -- the whole round: subscribe, verify, deliver ----------------------------------------------------------


def test_subscribe_verify_and_receive_a_signed_delivery_within_a_second(make_hub, subscriber, events):
    hub = make_hub()
    callback = subscriber.url("/cb")
    status, body = hub.handle(form(callback, secret="s3cret"))
    assert (status, body.startswith("subscribe request accepted")) == (202, True)
    assert subscriber.wait_for(lambda requests: len(requests) == 1)
    (check,) = subscriber.verifications()
    assert check.query["hub.mode"] == "subscribe" and check.query["hub.topic"] == TOPIC
    assert check.query["hub.lease_seconds"] == str(TEN_DAYS)  # the default lease
    assert len(check.query["hub.challenge"]) >= 32
    subscribe(hub, callback, secret="s3cret")  # the same again: a renewal, verified again

    started = time.monotonic()
    hub.publish({TOPIC: doc("<rss>new bytes</rss>")})
    assert time.monotonic() - started < 0.2  # publish never waits for the network
    assert subscriber.wait_for(lambda requests: any(r.method == "POST" for r in requests), timeout=1)
    (delivery,) = subscriber.deliveries()
    assert delivery.at - started < 1.0
    assert delivery.body == b"<rss>new bytes</rss>"
    assert delivery.headers["content-type"] == RSS
    assert delivery.headers["link"] == f'<{HUB_URL}>; rel="hub", <{TOPIC}>; rel="self"'
    expected = hmac.new(b"s3cret", delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["x-hub-signature"] == f"sha256={expected}"
    assert events.seen[("verifications", "ok")] == 2
    deadline = time.monotonic() + 1
    while events.seen[("deliveries", "ok")] != 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert events.seen[("deliveries", "ok")] == 1


def test_without_a_secret_there_is_no_signature(make_hub, subscriber):
    hub = make_hub()
    subscribe(hub, subscriber.url("/cb"))
    hub.publish({TOPIC: doc()})
    assert subscriber.wait_for(lambda requests: any(r.method == "POST" for r in requests), timeout=1)
    assert "x-hub-signature" not in subscriber.deliveries()[0].headers


def test_only_subscribers_of_the_changed_topic_receive_it(make_hub, subscriber):
    hub = make_hub()
    subscribe(hub, subscriber.url("/all"), TOPIC)
    subscribe(hub, subscriber.url("/ai"), OTHER)
    hub.publish({OTHER: Document(b"<feed/>", "application/atom+xml; charset=utf-8")})
    assert subscriber.wait_for(lambda requests: any(r.method == "POST" for r in requests), timeout=1)
    assert quiet(subscriber) == 1
    assert subscriber.deliveries()[0].path == "/ai"


def test_the_callbacks_own_query_is_kept(make_hub, subscriber):
    hub = make_hub()
    callback = subscriber.url("/cb?id=7")
    subscribe(hub, callback)
    assert subscriber.verifications()[0].query["id"] == "7"  # §5.1.1: hub.* parameters appended
    hub.publish({TOPIC: doc()})
    assert subscriber.wait_for(lambda requests: any(r.method == "POST" for r in requests), timeout=1)
    assert subscriber.deliveries()[0].query == {"id": "7"}


def test_a_burst_of_changes_is_delivered_once_with_the_latest_bytes(make_hub, subscriber):
    hub = make_hub(delivery_delay=0.2)
    subscribe(hub, subscriber.url("/cb"))
    for version in range(1, 4):
        hub.publish({TOPIC: doc(f"<rss>v{version}</rss>")})
    assert subscriber.wait_for(lambda requests: any(r.method == "POST" for r in requests), timeout=1)
    assert quiet(subscriber) == 1
    assert subscriber.deliveries()[0].body == b"<rss>v3</rss>"


def test_deliveries_to_one_subscriber_arrive_in_order(make_hub, subscriber):
    original = subscriber.answer

    def slow(request):
        if request.method == "POST":
            time.sleep(0.02)
        return original(request)

    subscriber.answer = slow
    hub = make_hub()
    subscribe(hub, subscriber.url("/cb"))
    for version in range(10):
        hub.publish({TOPIC: doc(f"<rss>{version}</rss>")})
        time.sleep(0.005)
    assert subscriber.wait_for(lambda requests: any(r.body == b"<rss>9</rss>" for r in requests), timeout=2)
    versions = [int(r.body[5:-6]) for r in subscriber.deliveries()]
    assert versions == sorted(versions) and len(versions) == len(set(versions))


# -- ending a subscription ----------------------------------------------------------------------------------


def test_after_unsubscribing_nothing_is_delivered(make_hub, subscriber):
    hub = make_hub()
    callback = subscriber.url("/cb")
    subscribe(hub, callback)
    assert hub.handle(form(callback, mode="unsubscribe"))[0] == 202
    assert subscriber.wait_for(lambda requests: len(requests) == 2)
    assert subscriber.verifications()[1].query["hub.mode"] == "unsubscribe"
    deadline = time.monotonic() + 2
    while hub.store.get(callback, TOPIC) is not None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    hub.publish({TOPIC: doc()})
    assert quiet(subscriber) == 0


def test_unsubscribing_from_nothing_sends_no_request(make_hub, subscriber):
    hub = make_hub()
    assert hub.handle(form(subscriber.url("/never"), mode="unsubscribe"))[0] == 202
    assert quiet(subscriber, 0.2) == 0 and subscriber.received() == []


def test_an_expired_lease_gets_nothing(make_hub, subscriber):
    hub = make_hub()
    subscribe(hub, subscriber.url("/cb"), lease_seconds="1")
    assert subscriber.verifications()[0].query["hub.lease_seconds"] == "1"
    time.sleep(1.1)
    hub.publish({TOPIC: doc()})
    assert quiet(subscriber) == 0
    assert hub.status()["subscriptions"] == 0


def test_a_subscriber_that_answers_410_is_unsubscribed(make_hub, subscriber, events):
    hub = make_hub()
    callback = subscriber.url("/cb")
    subscribe(hub, callback)
    subscriber.delivery_status = 410
    hub.publish({TOPIC: doc()})
    deadline = time.monotonic() + 2
    while hub.store.get(callback, TOPIC) is not None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert events.seen[("deliveries", "gone")] == 1


@pytest.mark.parametrize("behaviour", ["refuse", "wrong echo", "error status"])
def test_an_unverified_intent_changes_nothing(make_hub, subscriber, behaviour, events):
    hub = make_hub()
    if behaviour == "refuse":
        subscriber.confirm = False  # 404, as §5.3.1 says a subscriber that did not ask must answer
    elif behaviour == "wrong echo":
        subscriber.echo = lambda challenge: b"not-" + challenge.encode()
    else:
        subscriber.answer = lambda request: (500, request.query.get("hub.challenge", "").encode())
    assert hub.handle(form(subscriber.url("/cb")))[0] == 202
    assert subscriber.wait_for(lambda requests: len(requests) == 1)
    deadline = time.monotonic() + 1
    while events.seen[("verifications", "failed")] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert hub.status()["subscriptions"] == 0 and hub.status()["verifying"] == 0
    assert "not verified" in hub.status()["last_error"]


# -- renewals --------------------------------------------------------------------------------------------


def test_a_renewal_is_verified_again_and_takes_the_new_secret(make_hub, subscriber):
    hub = make_hub()
    callback = subscriber.url("/cb")
    subscribe(hub, callback, secret="old")
    assert hub.handle(form(callback, secret="new"))[0] == 202
    assert subscriber.wait_for(lambda requests: len(requests) == 2)
    deadline = time.monotonic() + 2
    while hub.store.get(callback, TOPIC).secret != "new":
        assert time.monotonic() < deadline
        time.sleep(0.005)
    hub.publish({TOPIC: doc()})
    assert subscriber.wait_for(lambda requests: any(r.method == "POST" for r in requests), timeout=1)
    delivery = subscriber.deliveries()[0]
    assert delivery.headers["x-hub-signature"] == \
        "sha256=" + hmac.new(b"new", delivery.body, hashlib.sha256).hexdigest()


def test_a_renewal_that_fails_verification_leaves_the_subscription_as_it_was(make_hub, subscriber, events):
    hub = make_hub()
    callback = subscriber.url("/cb")
    subscribe(hub, callback, secret="old")
    subscriber.confirm = False  # someone else tries to change it
    assert hub.handle(form(callback, secret="attacker"))[0] == 202
    deadline = time.monotonic() + 1
    while events.seen[("verifications", "failed")] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert hub.store.get(callback, TOPIC).secret == "old"


# -- failures and restarts ----------------------------------------------------------------------------------


def test_a_broken_callback_is_retried_then_given_up_and_publish_never_waits(make_hub, subscriber, events):
    hub = make_hub()
    callback = subscriber.url("/cb")
    subscribe(hub, callback)
    subscriber.delivery_status = 503
    started = time.monotonic()
    hub.publish({TOPIC: doc()})
    assert time.monotonic() - started < 0.2
    assert hub.outbox.wait_idle(3)
    attempts = len(subscriber.deliveries())
    assert 2 <= attempts <= 8  # retried with backoff, for give_up_after (0.6 s), then dropped
    assert events.seen[("deliveries", "retry")] == attempts
    assert events.seen[("deliveries", "given_up")] == 1
    assert hub.store.get(callback, TOPIC) is not None  # §7: the subscription stays until its lease ends
    assert "gave up" in hub.status()["last_error"] or "503" in hub.status()["last_error"]


def test_a_callback_that_is_down_is_retried_then_given_up(make_hub, events):
    down = Subscriber()
    hub = make_hub()
    subscribe(hub, down.url("/cb"))
    down.close()
    started = time.monotonic()
    hub.publish({TOPIC: doc()})
    assert time.monotonic() - started < 0.2
    assert hub.outbox.wait_idle(3)
    assert events.seen[("deliveries", "retry")] >= 2
    assert events.seen[("deliveries", "given_up")] == 1
    assert "ConnectError" in hub.status()["last_error"] or "gave up" in hub.status()["last_error"]


def test_subscriptions_survive_a_restart(make_hub, subscriber, tmp_path):
    first = make_hub()
    subscribe(first, subscriber.url("/cb"), secret="kept")
    first.close()
    second = make_hub()  # the same state folder
    assert second.status()["subscriptions"] == 1
    second.publish({TOPIC: doc()})
    assert subscriber.wait_for(lambda requests: any(r.method == "POST" for r in requests), timeout=1)
    assert subscriber.deliveries()[0].headers["x-hub-signature"].startswith("sha256=")


# -- refusals ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("request_form, status, reason", [
    (form("http://127.0.0.1:9/cb"), 403, "loopback"),
    (form("http://[::ffff:127.0.0.1]:9/cb"), 403, "loopback"),
    (form("http://10.0.0.8/cb"), 403, "private"),
    (form("http://169.254.169.254/latest/meta-data/"), 403, "link-local"),
    (form("https://example.com/cb", topic="https://elsewhere.test/feed.rss"), 400, "not a feed published here"),
    (form("javascript:alert(document.cookie)"), 400, "only http and https"),
    (form("https://user:pw@example.com/cb"), 400, "credentials"),
    (form("https://example.com/cb", secret="x" * 200), 400, "less than 200 bytes"),
    (form("https://example.com/cb", lease_seconds="ten"), 400, "positive whole number"),
    (form("https://example.com/cb", lease_seconds="-5"), 400, "positive whole number"),
    (form("https://example.com/cb", lease_seconds="0"), 400, "positive whole number"),
    (form("https://example.com/cb", mode="publish"), 400, "takes no publish pings"),
    ({"hub.topic": TOPIC, "hub.callback": "https://example.com/cb"}, 400, "hub.mode"),
    ({"hub.mode": "subscribe", "hub.callback": "https://example.com/cb"}, 400, "hub.topic is missing"),
    ({"hub.mode": "subscribe", "hub.topic": TOPIC}, 400, "hub.callback is missing"),
])
def test_refusals_name_the_problem_and_send_nothing(tmp_path, events, request_form, status, reason):
    hub = Hub(settings(allow_callbacks=[]), url=HUB_URL, state=tmp_path, is_topic=lambda url: url == TOPIC,
              record=events)
    try:
        answer = hub.handle(request_form)
        assert answer[0] == status and reason in answer[1], answer
        assert hub.status()["verifying"] == 0 and hub.outbox.pending() == 0
    finally:
        hub.close()


def test_a_ten_year_lease_is_cut_to_lease_max(make_hub, subscriber):
    hub = make_hub()
    callback = subscriber.url("/cb")
    started = time.time()
    subscribe(hub, callback, lease_seconds=str(10 * 365 * 86400))
    assert subscriber.verifications()[0].query["hub.lease_seconds"] == str(THIRTY_DAYS)
    assert abs(hub.store.get(callback, TOPIC).expires - (started + THIRTY_DAYS)) < 5


def test_a_short_lease_is_raised_to_lease_min(make_hub, subscriber):
    hub = make_hub(lease_min="1h")
    subscribe(hub, subscriber.url("/cb"), lease_seconds="5")
    assert subscriber.verifications()[0].query["hub.lease_seconds"] == "3600"


def test_caps_per_callback_host_and_in_total(make_hub, subscriber):
    hub = make_hub(max_per_host=2, max_subscriptions=3)
    subscribe(hub, subscriber.url("/1"))
    subscribe(hub, subscriber.url("/2"))
    status, body = hub.handle(form(subscriber.url("/3")))
    assert status == 429 and "websub.max_per_host" in body
    subscribe(hub, subscriber.url("/2"))  # a renewal is not a new subscription
    other_host = f"http://localhost:{subscriber.port}"
    subscribe(hub, other_host + "/1")
    status, body = hub.handle(form(other_host + "/2"))
    assert status == 503 and "websub.max_subscriptions" in body


# -- many subscribers -------------------------------------------------------------------------------------


def test_a_thousand_subscribers_each_get_every_change_exactly_once(make_hub, subscriber):
    hub = make_hub(max_per_host=2000, max_subscriptions=2000)
    callbacks = [subscriber.url(f"/cb/{n}") for n in range(1000)]
    started = time.monotonic()
    for callback in callbacks:
        assert hub.handle(form(callback, secret="k"))[0] == 202
    deadline = time.monotonic() + 15
    while hub.store.count() < 1000:
        assert time.monotonic() < deadline, hub.status()
        time.sleep(0.01)
    subscribed = time.monotonic() - started
    for version in (1, 2):
        published = time.monotonic()
        hub.publish({TOPIC: doc(f"<rss>v{version}</rss>")})
        assert subscriber.wait_for(lambda requests, v=version: sum(r.method == "POST" for r in requests) == 1000 * v,
                                   timeout=15)
        delivered = time.monotonic() - published
        bodies = Counter((r.path, r.body) for r in subscriber.deliveries())
        assert len(bodies) == 1000 * version and set(bodies.values()) == {1}  # each once per change
        print(f"1000 subscribers: change {version} delivered to all in {delivered:.2f} s "
              f"(subscribing took {subscribed:.2f} s)")
    assert quiet(subscriber, 0.2) == 2000
