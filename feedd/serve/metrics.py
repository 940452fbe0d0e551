"""Prometheus metrics: the only prometheus_client importer. One registry per process (or test)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from feedd.models import BuildReport, Family

CONTENT_TYPE = CONTENT_TYPE_LATEST
WEBSUB = {"pings": "publish pings sent to hubs", "deliveries": "content deliveries to subscribers",
          "verifications": "intent verifications of subscription requests"}


class Metrics:
    """Build and HTTP counters for /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.builds = Counter("feedd_builds", "Builds run, by outcome", ["outcome"], registry=self.registry)
        self.build_seconds = Histogram("feedd_build_duration_seconds", "Build duration",
                                       buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
                                       registry=self.registry)
        self.articles = Gauge("feedd_articles", "Articles by state in the last build", ["state"],
                              registry=self.registry)
        self.feeds = Gauge("feedd_feeds", "Feeds published by family", ["family"], registry=self.registry)
        self.requests = Counter("feedd_http_requests", "HTTP responses by status", ["status"],
                                registry=self.registry)
        self.websub = {what: Counter(f"feedd_websub_{what}", f"WebSub {text}, by outcome", ["outcome"],
                                     registry=self.registry)
                       for what, text in WEBSUB.items()}

    def record_build(self, report: BuildReport) -> None:
        self.builds.labels("success" if report.ok else "held" if report.held else "failure").inc()
        self.build_seconds.observe(report.duration)
        for state, count in report.articles.items():
            self.articles.labels(state).set(count)
        for family in Family:
            self.feeds.labels(family.value).set(sum(f.spec.family is family for f in report.summaries))

    def record_request(self, status: int, count: int = 1) -> None:
        self.requests.labels(str(status)).inc(count)

    def record_websub(self, what: str, outcome: str) -> None:
        """One WebSub attempt's outcome (ok, retry, failed, gone, given_up); `what` is a key of WEBSUB."""
        self.websub[what].labels(outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
