"""SERVE's side of WebSub: discovery Link headers on feed responses and the POST /websub route (§4, §5.1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from feedd.pipeline import build
from feedd.push import feed_links
from feedd.serve.app import create_app
from feedd.serve.metrics import Metrics
from tests.helpers import NOW, make_config

BASE = "https://news.example/"
HUBS = ("https://hub.example/", BASE + "websub")
LINK = '<https://hub.example/>; rel="hub", <https://news.example/websub>; rel="hub", <{self}>; rel="self"'


@pytest.fixture
def output(seeds_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "public"
    assert build(make_config(seeds_dir, folder), now=NOW).ok
    return folder


@pytest.fixture
def client(output: Path):
    return create_app(output, links=feed_links(HUBS, BASE)).test_client()


@pytest.mark.parametrize("path", ["/feeds/all.rss", "/feeds/all.atom", "/feeds/all.json",
                                  "/feeds/topics/ai-hardware.rss"])
def test_every_feed_response_names_the_hubs_and_itself(client, path: str):
    expected = LINK.format(self=BASE + path[1:])
    first = client.get(path)
    assert first.status_code == 200 and first.headers["Link"] == expected
    assert client.head(path).headers["Link"] == expected
    gzipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["Content-Encoding"] == "gzip" and gzipped.headers["Link"] == expected
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["Link"] == expected


@pytest.mark.parametrize("path", ["/", "/index.html", "/feeds.opml", "/feeds/all.html", "/feeds/all.rss.gz",
                                  "/healthz", "/nope.rss"])
def test_pages_and_other_responses_have_no_link(client, path: str):
    assert "Link" not in client.get(path).headers


def test_without_hubs_feeds_have_no_link(output: Path):
    for client in (create_app(output).test_client(), create_app(output, links=feed_links((), BASE)).test_client()):
        assert "Link" not in client.get("/feeds/all.rss").headers


def test_post_websub_hands_the_form_to_the_hub_and_answers_its_status(output: Path):
    forms = []

    def hub(form):
        forms.append(form)
        return 202, "subscribe request accepted"

    client = create_app(output, websub=hub).test_client()
    reply = client.post("/websub", data={"hub.mode": "subscribe", "hub.topic": BASE + "feeds/all.rss",
                                         "hub.callback": "https://reader.example/cb"})
    assert reply.status_code == 202
    assert reply.data == b"subscribe request accepted\n"
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert forms == [{"hub.mode": "subscribe", "hub.topic": BASE + "feeds/all.rss",
                      "hub.callback": "https://reader.example/cb"}]
    assert client.get("/websub").status_code == 404  # the hub takes form POSTs only
    assert client.put("/websub").status_code == 405


def test_without_a_hub_post_websub_is_405_like_any_post(client):
    reply = client.post("/websub", data={"hub.mode": "subscribe"})
    assert reply.status_code == 405 and reply.headers["Allow"] == "GET, HEAD"


def test_websub_outcomes_are_counted_for_prometheus():
    metrics = Metrics()
    for what, outcome in [("pings", "ok"), ("pings", "ok"), ("pings", "retry"), ("deliveries", "gone"),
                          ("verifications", "failed"), ("deliveries", "given_up")]:
        metrics.record_websub(what, outcome)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(metrics.render().decode()) for s in family.samples}
    assert samples[("feedd_websub_pings_total", (("outcome", "ok"),))] == 2
    assert samples[("feedd_websub_pings_total", (("outcome", "retry"),))] == 1
    assert samples[("feedd_websub_deliveries_total", (("outcome", "gone"),))] == 1
    assert samples[("feedd_websub_deliveries_total", (("outcome", "given_up"),))] == 1
    assert samples[("feedd_websub_verifications_total", (("outcome", "failed"),))] == 1
