"""feedd/daemon/service.py and WebSub, in-process: what is announced after a build, reloads, health."""

from __future__ import annotations

import time
from pathlib import Path

from feedd.daemon.service import Service
from tests.helpers import make_config, write_article
from tests.push.peers import PingHub


def config_for(seeds_dir: Path, tmp_path: Path, hub: PingHub, **websub):
    return make_config(seeds_dir, tmp_path / "public", site={"base_url": "https://news.example/"},
                       websub={"hubs": [hub.url("/")], "ping_delay": 0, "builtin": True,
                               "allow_callbacks": ["127.0.0.0/8"], **websub})


def feeds(output: Path) -> set[str]:
    return {p.relative_to(output).as_posix() for fmt in ("rss", "atom", "json") for p in output.rglob(f"*.{fmt}")}


def test_a_reload_with_other_hubs_re_announces_every_feed_to_them(seeds_dir: Path, tmp_path: Path):
    old_hub, new_hub = PingHub(), PingHub()
    old, new = config_for(seeds_dir, tmp_path, old_hub), config_for(seeds_dir, tmp_path, new_hub)
    service = Service(old, lambda: new, watch=False)
    service.start()
    try:
        assert service.links("feeds/all.rss").startswith(f"<{old_hub.url('/')}>")
        assert service.reload("test")
        output = tmp_path / "public"
        everything = {f"https://news.example/{rel}" for rel in feeds(output)}
        # each feed's bytes name the new hub: every one is written and announced once, to the new hub only
        assert new_hub.wait_for(lambda requests: len(requests) >= len(everything), 5)
        assert sorted(p["hub.url"] for p in new_hub.pings()) == sorted(everything)
        assert old_hub.pings() == []
        assert new_hub.url("/").encode() in (output / "feeds/all.atom").read_bytes()
        assert service.links("feeds/all.rss").startswith(f"<{new_hub.url('/')}>")
        assert service.websub({"hub.mode": "subscribe"})[0] == 400  # the new hub answers
    finally:
        service.stop()
        old_hub.close()
        new_hub.close()


def test_health_shows_websub_and_is_degraded_when_subscriptions_cannot_be_kept(seeds_dir: Path, tmp_path: Path):
    hub = PingHub()
    config = config_for(seeds_dir, tmp_path, hub)
    service = Service(config, lambda: config, watch=False)
    service.start()
    try:
        details, healthy = service.health()
        assert healthy and "status" not in details
        assert details["websub"]["pings"]["hubs"] == [hub.url("/")]
        assert details["websub"]["hub"]["subscriptions"] == 0
        assert service.push is not None and service.push.hub is not None
        service.push.hub.store.last_error = "cannot write state/websub.json: No space left on device"
        details, healthy = service.health()
        assert healthy and details["status"] == "degraded"
    finally:
        service.stop()
        hub.close()


def test_without_websub_nothing_shows_and_the_hub_is_404(seeds_dir: Path, tmp_path: Path):
    config = make_config(seeds_dir, tmp_path / "public")
    service = Service(config, lambda: config, watch=False)
    service.start()
    try:
        assert "websub" not in service.health()[0]
        assert service.websub({"hub.mode": "subscribe"}) == (404, "Not Found")
        assert service.links("feeds/all.rss") is None
    finally:
        service.stop()


def test_the_first_build_of_an_empty_folder_is_not_announced_an_edit_is(seeds_dir: Path, tmp_path: Path):
    hub = PingHub()
    config = config_for(seeds_dir, tmp_path, hub)
    service = Service(config, lambda: config, watch=False)
    service.start()
    try:
        assert service.last_report is not None and service.last_report.written  # it did publish every feed
        time.sleep(0.5)
        assert hub.pings() == []
        write_article(seeds_dir, "robots.md", title='"Robots"', topics="[Robots]")
        service.request_build("test")
        robots = {f"https://news.example/feeds/topics/robots.{fmt}" for fmt in ("rss", "atom", "json")}
        assert hub.wait_for(lambda requests: robots <= {p["hub.url"] for p in hub.pings()}, 5)
        assert "https://news.example/feeds/all.rss" in {p["hub.url"] for p in hub.pings()}
    finally:
        service.stop()
        hub.close()
