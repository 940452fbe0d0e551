"""A configured feed's filter naming what no article has: `feedd check`, the build log and /healthz say so."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from feedd.cli import main
from feedd.daemon.service import Service
from feedd.pipeline import Builder
from tests.helpers import NOW, make_config, write_article

pytestmark = pytest.mark.usefixtures("keep_logging")

TYPO = 'feeds[0].filter.topics: no published article has the topic "AI Hardwre"; did you mean "AI Hardware"?'


def test_check_names_the_config_file_the_value_and_the_closest_name(seeds_dir: Path, tmp_path: Path):
    config = tmp_path / "feedd.yaml"
    config.write_text("feeds:\n  - name: hardware\n    filter: {topics: [AI Hardwre]}\n"
                      "  - name: slugged\n    filter: {topics: [ai-hardware], categories: [NEWS]}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "-c", str(config), "--articles", str(seeds_dir),
                                       "--output", str(tmp_path / "public"), "--state", str(tmp_path / "state")])
    assert result.exit_code == 0, result.output  # a warning: the feed is published, empty
    assert f"{config}: warning: {TYPO}" in result.stdout.splitlines()
    assert "0 error(s), 3 warning(s)" in result.stdout  # with the seeds' two


def test_the_build_reports_it_once_and_healthz_counts_it_while_it_lasts(seeds_dir: Path, tmp_path: Path):
    config = make_config(seeds_dir, tmp_path / "public", feeds=[{"name": "hw", "filter": {"topics": ["AI Hardwre"]}},
                                                                {"name": "robots", "filter": {"topics": ["Robots"]}}])
    builder = Builder(config)
    try:
        first = builder.build(NOW)
        assert [d.reason for d in first.diagnostics if d.path == "config"] == [
            TYPO, 'feeds[1].filter.topics: no published article has the topic "Robots"']
        files = first.open_diagnostics
        write_article(seeds_dir, "robots.md", topics="[Robots]")
        second = builder.build(NOW, paths={str(seeds_dir / "robots.md")})
        assert [d for d in second.diagnostics if d.path == "config"] == []  # said once, and Robots now matches
        assert second.open_diagnostics == files - 1
        (seeds_dir / "robots.md").unlink()
        third = builder.build(NOW, paths={str(seeds_dir / "robots.md")})
        assert [d.reason for d in third.diagnostics if d.path == "config"] == [
            'feeds[1].filter.topics: no published article has the topic "Robots"']  # new again: said again
        assert third.open_diagnostics == files
        assert [d.reason for d in builder.build(NOW).diagnostics if d.path == "config"][0] == TYPO  # a full build
    finally:
        builder.close()


def test_healthz_counts_it(seeds_dir: Path, tmp_path: Path):
    plain = make_config(seeds_dir, tmp_path / "plain")
    typo = make_config(seeds_dir, tmp_path / "typo", feeds=[{"name": "hw", "filter": {"topics": ["AI Hardwre"]}}])
    counts = []
    for config in (plain, typo):
        service = Service(config, lambda config=config: config, watch=False)
        service.start()
        try:
            details, healthy = service.health()
            assert healthy
            counts.append(details["diagnostics"])
        finally:
            service.stop()
    assert counts[1] == counts[0] + 1
