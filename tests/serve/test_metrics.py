"""METRICS: what an operator's Prometheus scrape shows after real builds and requests."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from feedd.models import BuildReport, Family
from feedd.pipeline import build
from feedd.serve.app import create_app
from feedd.serve.metrics import CONTENT_TYPE, Metrics
from tests.helpers import NOW, make_config, no_retention


def scrape(metrics: Metrics) -> dict[tuple[str, tuple], float]:
    """The rendered exposition, parsed the way Prometheus would."""
    text = metrics.render().decode("utf-8")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples, name: str, **labels) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def report(seeds_dir: Path, tmp_path: Path) -> BuildReport:
    result = build(make_config(seeds_dir, tmp_path / "public"), now=NOW)
    assert result.ok
    return result


def test_a_fresh_registry_renders_and_parses():
    samples = scrape(Metrics())
    names = {family.name for family in text_string_to_metric_families(Metrics().render().decode())}
    assert {"feedd_builds", "feedd_build_duration_seconds", "feedd_articles", "feedd_feeds",
            "feedd_http_requests"} <= names
    assert value(samples, "feedd_build_duration_seconds_count") == 0


def test_content_type_is_the_prometheus_text_format():
    assert CONTENT_TYPE.startswith("text/plain")
    assert "version=" in CONTENT_TYPE


def test_record_build_of_the_seeds(report):
    metrics = Metrics()
    metrics.record_build(report)
    samples = scrape(metrics)
    assert value(samples, "feedd_builds_total", outcome="success") == 1
    assert value(samples, "feedd_builds_total", outcome="failure") in (None, 0)
    assert value(samples, "feedd_articles", state="published") == 1
    assert value(samples, "feedd_articles", state="withheld") == 1
    assert value(samples, "feedd_articles", state="embargoed") == 0
    assert value(samples, "feedd_feeds", family="topics") == 5
    assert value(samples, "feedd_feeds", family="all") == 1
    assert value(samples, "feedd_feeds", family="categories") == 1
    assert value(samples, "feedd_feeds", family="providers") == 1
    assert value(samples, "feedd_feeds", family="configured") == 0
    assert value(samples, "feedd_build_duration_seconds_count") == 1
    assert value(samples, "feedd_build_duration_seconds_sum") == pytest.approx(report.duration)


def test_every_family_is_reported(report):
    metrics = Metrics()
    metrics.record_build(report)
    samples = scrape(metrics)
    for family in Family:
        assert value(samples, "feedd_feeds", family=family.value) is not None, family
    total = sum(value(samples, "feedd_feeds", family=f.value) for f in Family)
    assert total == len(report.summaries)


def test_every_article_state_of_the_report_is_reported(report):
    metrics = Metrics()
    metrics.record_build(report)
    samples = scrape(metrics)
    for state, count in report.articles.items():
        assert value(samples, "feedd_articles", state=state) == count, state


def test_builds_accumulate_and_gauges_show_the_last_build(report, seeds_dir, tmp_path):
    metrics = Metrics()
    metrics.record_build(report)
    for path in seeds_dir.iterdir():
        if path.is_file():
            path.unlink()
    empty = build(make_config(seeds_dir, tmp_path / "public", families=no_retention()), now=NOW,
                  allow_mass_removal=True)
    metrics.record_build(empty)
    samples = scrape(metrics)
    assert value(samples, "feedd_builds_total", outcome="success") == 2
    assert value(samples, "feedd_articles", state="published") == 0
    assert value(samples, "feedd_feeds", family="topics") == 0
    assert value(samples, "feedd_build_duration_seconds_count") == 2


def test_a_failed_build_is_counted_as_failure(report):
    metrics = Metrics()
    metrics.record_build(report)
    failed = BuildReport(failed=["feeds/topics/ai"], articles={"published": 1}, duration=0.2)
    metrics.record_build(failed)
    samples = scrape(metrics)
    assert value(samples, "feedd_builds_total", outcome="success") == 1
    assert value(samples, "feedd_builds_total", outcome="failure") == 1


def test_requests_by_status():
    metrics = Metrics()
    for status in (200, 200, 304, 404, 200):
        metrics.record_request(status)
    samples = scrape(metrics)
    assert value(samples, "feedd_http_requests_total", status="200") == 3
    assert value(samples, "feedd_http_requests_total", status="304") == 1
    assert value(samples, "feedd_http_requests_total", status="404") == 1
    assert value(samples, "feedd_http_requests_total", status="500") is None


def test_two_instances_do_not_share_a_registry(report):
    """One registry per process or test: a second Metrics() neither fails nor sees the first one's counts."""
    first, second = Metrics(), Metrics()
    first.record_build(report)
    first.record_request(200)
    samples = scrape(second)
    assert value(samples, "feedd_builds_total", outcome="success") is None
    assert value(samples, "feedd_http_requests_total", status="200") is None
    assert value(scrape(first), "feedd_builds_total", outcome="success") == 1


def test_the_build_shows_on_the_metrics_page(report, tmp_path):
    metrics = Metrics()
    metrics.record_build(report)
    client = create_app(tmp_path / "public", metrics=metrics).test_client()
    client.get("/feeds/all.rss")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE
    text = response.get_data(as_text=True)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert value(samples, "feedd_builds_total", outcome="success") == 1
    assert value(samples, "feedd_articles", state="published") == 1
    assert value(samples, "feedd_feeds", family="topics") == 5
    assert value(samples, "feedd_http_requests_total", status="200") == 1
