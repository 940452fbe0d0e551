"""`feedd build` and `feedd check` as a publisher runs them."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedd.cli import main
from tests.helpers import write_article

DIAGNOSTIC = re.compile(r"^\S[^:]*: (error|warning|info): \S.*$")
SUMMARY = re.compile(r"feeds: (\d+) written, (\d+) unchanged, (\d+) removed, (\d+) failed; "
                     r"articles: (\d+) published, (\d+) withheld, (\d+) embargoed, (\d+) rejected")


@pytest.fixture(autouse=True)
def _keep_logging():
    """The CLI configures the root logger on CliRunner's throw-away streams; put it back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "feedd.yaml"
    path.write_text("site: {title: Test Site}\n", encoding="utf-8")
    return path


@pytest.fixture
def folders(tmp_path: Path, seeds_dir: Path, config_file: Path) -> list[str]:
    """Command-line flags over a private copy of the seeds."""
    return ["-c", str(config_file), "--articles", str(seeds_dir), "--output", str(tmp_path / "public"),
            "--state", str(tmp_path / "state"), "--base-url", "https://news.example/site"]


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def summary(output: str) -> tuple[int, ...]:
    match = SUMMARY.search(output)
    assert match, output
    return tuple(int(n) for n in match.groups())


# --- help --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], *([name] for name in main.commands)])
def test_h_is_help_on_every_command(command):
    short, long = run(*command, "-h"), run(*command, "--help")
    assert short.exit_code == long.exit_code == 0, short.output
    assert short.output == long.output
    assert "Usage: " in short.output and "-h, --help" in short.output


# --- build -------------------------------------------------------------------------------------------


def test_build_writes_the_feeds_and_prints_a_summary(folders, tmp_path):
    result = run("build", *folders)
    assert result.exit_code == 0, result.output
    assert "1 published" in result.stdout
    assert "1 withheld" in result.stdout
    written, unchanged, removed, failed, *_ = summary(result.stdout)
    assert written > 0 and (unchanged, removed, failed) == (0, 0, 0)
    out = tmp_path / "public"
    for rel in ("index.html", "feeds.opml", "feeds/all.rss", "feeds/all.atom", "feeds/all.json",
                "feeds/topics/ai-hardware.rss", "feeds/providers/wired-com.rss", "feeds/categories/news.rss"):
        assert (out / rel).is_file(), rel
        assert (out / f"{rel}.gz").is_file(), rel
    assert "https://news.example/site/feeds/all.rss" in (out / "feeds/all.rss").read_text(encoding="utf-8")
    assert str(out) in result.stdout


def test_build_leaves_withheld_articles_out(folders, tmp_path):
    assert run("build", *folders).exit_code == 0
    everything = (tmp_path / "public/feeds/all.rss").read_text(encoding="utf-8")
    assert "This Chinese Lab Is Aiming for Big AI Breakthroughs" in everything
    assert "US leads world on artificial intelligence" not in everything  # published: false
    assert not (tmp_path / "public/feeds/providers/scmp-com.rss").exists()


def test_build_prints_diagnostics_on_stderr_only(folders):
    result = run("build", *folders)
    assert result.exit_code == 0
    warnings = [line for line in result.stderr.splitlines() if DIAGNOSTIC.match(line)]
    assert warnings and all(": warning: orphan text" in line for line in warnings)
    assert not any(DIAGNOSTIC.match(line) for line in result.stdout.splitlines())


def test_second_build_reports_everything_unchanged(folders):
    first = summary(run("build", *folders).stdout)
    second = summary(run("build", *folders).stdout)
    assert second[:4] == (0, first[0], 0, 0)
    assert second[4:] == first[4:]  # same article counts


def test_build_removes_feeds_that_no_longer_exist(folders, seeds_dir, tmp_path):
    assert run("build", *folders).exit_code == 0
    assert (tmp_path / "public/feeds/topics/ai-hardware.rss").exists()
    (seeds_dir / "000_8e0c099ee215eaaa.txt").unlink()  # the only published article
    result = run("build", *folders)
    assert result.exit_code == 0
    assert "0 published" in result.stdout
    assert summary(result.stdout)[2] > 0
    assert not (tmp_path / "public/feeds/topics/ai-hardware.rss").exists()


def test_flags_override_the_config_file(tmp_path, seeds_dir):
    config = tmp_path / "feedd.yaml"
    config.write_text("paths: {articles: nowhere, output: from-file}\n", encoding="utf-8")
    result = run("build", "-c", str(config), "--articles", str(seeds_dir), "--output", str(tmp_path / "flag"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "flag/feeds/all.rss").is_file()
    assert not (tmp_path / "from-file").exists()


# --- check -------------------------------------------------------------------------------------------


def test_check_on_the_seeds_passes_and_writes_nothing(folders, tmp_path):
    result = run("check", *folders)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if DIAGNOSTIC.match(line)]
    assert len(lines) == 2
    assert all(line.startswith(("003_", "004_")) and ": warning: " in line for line in lines)
    assert "0 error(s), 2 warning(s)" in result.stdout
    assert not (tmp_path / "public").exists()
    assert not (tmp_path / "state").exists()


def test_check_verbose_also_prints_info(folders):
    quiet, verbose = run("check", *folders), run("check", "-v", *folders)
    assert ": info: " not in quiet.stdout
    assert "001_381cd51ca3d3cff3.txt: info: excerpt: repaired mojibake" in verbose.stdout
    assert verbose.exit_code == 0


@pytest.mark.parametrize(("fields", "reason"), [
    ({"published": "'false'"}, "published"),
    ({"published": '"no"'}, "published"),
    ({"published": "0"}, "published"),
    ({"publishedDateTime": "2021-02-30T10:00:00Z"}, "publishedDateTime"),
    ({"publishedDateTime": "yesterday"}, "publishedDateTime"),
    ({"webUrl": '"not a url"'}, "webUrl"),
])
def test_check_fails_on_an_error_diagnostic(folders, seeds_dir, tmp_path, fields, reason):
    write_article(seeds_dir, "bad.md", **fields)
    result = run("check", *folders)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stdout.splitlines() if line.startswith("bad.md: error: ")]
    assert len(errors) == 1 and reason in errors[0], result.stdout
    assert "1 error(s)" in result.stdout
    assert not (tmp_path / "public").exists()


# --- configuration errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "fragment"), [
    ("site:\n  bogus: 1\n", "site.bogus: unknown key"),
    ("feeds:\n  - name: a\n  - name: b\n  - name: c\n    sort: popular\n",
     "feeds[2].sort: expected one of date, heat, trending"),
    ("site: [unclosed\n", "line 2: invalid YAML"),
    ("- a list\n", "expected a mapping of settings"),
    ("site: {timezone: Mars/Base}\n", "site.timezone: unknown time zone"),
    ("site: {timezone: Europe}\n", "site.timezone: unknown time zone"),
    ("feeds:\n  - name: all\n", "feed name 'all' is reserved"),
    ("defaults: {half_life: whenever}\n", "defaults.half_life: "),
    ("families:\n  topics: {title: '{topic} news'}\n", "families.topics.title: bad title pattern"),
])
@pytest.mark.parametrize("command", ["build", "check"])
def test_config_error_exits_2_with_one_line(tmp_path, seeds_dir, command, text, fragment):
    config = tmp_path / "broken.yaml"
    config.write_text(text, encoding="utf-8")
    result = run(command, "-c", str(config), "--articles", str(seeds_dir), "--output", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert str(config) in lines[0] and fragment in lines[0]
    assert not (tmp_path / "out").exists()


def test_missing_config_file_exits_2(tmp_path, seeds_dir):
    missing = tmp_path / "nope.yaml"
    result = run("build", "-c", str(missing), "--articles", str(seeds_dir), "--output", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"Error: {missing}: file not found"]


@pytest.mark.parametrize("url", ["ftp://x", "news.example", "/relative/"])
@pytest.mark.parametrize("command", ["build", "check"])
def test_bad_base_url_flag_exits_2(folders, tmp_path, command, url):
    flags = folders[:-1] + [url]  # replace the --base-url value
    result = run(command, *flags)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "site.base_url: expected an absolute http(s) URL" in lines[0]
    assert not (tmp_path / "public").exists()
