"""`feedd build` and `feedd check` as a publisher runs them."""

from __future__ import annotations

import gc
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedd.cli import main
from tests.helpers import write_article

pytestmark = pytest.mark.usefixtures("keep_logging")

DIAGNOSTIC = re.compile(r"^\S[^:]*: (error|warning|info): \S.*$")
SUMMARY = re.compile(r"files: (\d+) written, (\d+) unchanged, (\d+) removed, (\d+) failed; "
                     r"articles: (\d+) published, (\d+) withheld, (\d+) embargoed, (\d+) rejected")


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


@pytest.mark.parametrize("command", ["build", "check"])
def test_one_shot_commands_exit_without_a_final_cycle_collection(folders, monkeypatch, command):
    """`feedd build` and `feedd check` exit right after their one build: the collection and freeze that end a
    full build in `feedd run` (feedd.collector) would only delay the exit, by a quarter of a second at 100k."""
    calls = []
    monkeypatch.setattr(gc, "collect", lambda *args: calls.append("collect") or 0)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    assert run(command, *folders).exit_code == 0
    assert calls == []
    assert gc.isenabled()  # for whatever runs next in this process (the tests here)


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


NO_RETENTION = "site: {title: Test Site}\nfamilies: {topics: {retain: 0s}, categories: {retain: 0s}, " \
               "providers: {retain: 0s}}\n"


def test_build_removes_feeds_that_no_longer_exist(folders, seeds_dir, tmp_path, config_file):
    config_file.write_text(NO_RETENTION, encoding="utf-8")
    assert run("build", *folders).exit_code == 0
    assert (tmp_path / "public/feeds/topics/ai-hardware.rss").exists()
    (seeds_dir / "000_8e0c099ee215eaaa.txt").unlink()  # the only published article: `all` is emptied
    result = run("build", "--allow-mass-removal", *folders)
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


# --- a mistake never unpublishes feeds, and never shows a traceback ---------------------------------------


def test_a_typo_in_the_articles_folder_exits_2_and_touches_nothing(folders, tmp_path):
    assert run("build", *folders).exit_code == 0
    before = {p: p.read_bytes() for p in (tmp_path / "public").rglob("*") if p.is_file()}
    typo = tmp_path / "artciles"
    flags = [typo.as_posix() if flag == folders[3] else flag for flag in folders]
    for command in ("build", "check", "run"):
        result = run(command, *flags)
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and str(typo) in lines[0] and "does not exist" in lines[0], result.output
    assert {p: p.read_bytes() for p in (tmp_path / "public").rglob("*") if p.is_file()} == before


def test_an_unreadable_articles_folder_exits_2(folders, seeds_dir, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every folder")
    seeds_dir.chmod(0)
    try:
        result = run("build", *folders)
    finally:
        seeds_dir.chmod(0o755)
    assert result.exit_code == 2 and "cannot be read" in result.output


def test_without_config_or_articles_build_refuses_with_a_hint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEEDD_CONFIG", raising=False)
    result = run("build")
    assert result.exit_code == 2
    assert "-c CONFIG, FEEDD_CONFIG or --articles DIR" in result.output
    assert list(tmp_path.iterdir()) == []  # no ./public, no ./state


def test_feedd_config_names_the_config_for_every_command(tmp_path, seeds_dir, monkeypatch):
    config = tmp_path / "site.yaml"
    config.write_text(f"site: {{title: From the environment}}\npaths: {{articles: {seeds_dir}, "
                      f"output: {tmp_path / 'env-out'}, state: {tmp_path / 'env-state'}}}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FEEDD_CONFIG", str(config))
    assert run("check").exit_code == 0
    assert run("build").exit_code == 0
    assert b"From the environment" in (tmp_path / "env-out/feeds/all.rss").read_bytes()
    assert "FEEDD_CONFIG" in run("build", "--help").output


def _published(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def test_a_build_that_would_empty_the_all_feed_is_held(folders, seeds_dir, tmp_path):
    assert run("build", *folders).exit_code == 0
    before = _published(tmp_path / "public")
    (seeds_dir / "000_8e0c099ee215eaaa.txt").unlink()  # the only published article
    result = run("build", *folders)
    assert result.exit_code == 1
    held = [line for line in result.stderr.splitlines() if ": error: held" in line]
    assert len(held) == 1 and "would empty the all feed" in held[0] and "--allow-mass-removal" in held[0]
    assert _published(tmp_path / "public") == before
    assert run("build", "--allow-mass-removal", *folders).exit_code == 0
    assert b"<item>" not in (tmp_path / "public/feeds/topics/ai-hardware.rss").read_bytes()  # kept, empty


def test_a_build_that_would_remove_most_feeds_is_held(folders, seeds_dir, tmp_path, config_file):
    config_file.write_text(NO_RETENTION, encoding="utf-8")
    for n in range(12):  # twelve topic feeds of their own, besides the seeds' eight
        write_article(seeds_dir, f"own{n}.md", title=f'"Own {n}"', topics=f"[Own topic {n}]")
    assert run("build", *folders).exit_code == 0
    before = _published(tmp_path / "public")
    for n in range(12):
        (seeds_dir / f"own{n}.md").unlink()  # 12 of 20 feeds go, and `all` keeps the seed
    result = run("build", *folders)
    assert result.exit_code == 1
    assert "would remove or empty 12 of the 20 published feeds" in result.stderr, result.stderr
    assert _published(tmp_path / "public") == before
    assert run("build", "--allow-mass-removal", *folders).exit_code == 0
    assert not (tmp_path / "public/feeds/topics/own-topic-0.rss").exists()


def test_removing_a_few_feeds_or_a_minority_is_not_held(folders, seeds_dir, tmp_path, config_file):
    config_file.write_text(NO_RETENTION, encoding="utf-8")
    for n in range(30):
        write_article(seeds_dir, f"own{n}.md", title=f'"Own {n}"', topics=f"[Own topic {n}]")
    assert run("build", *folders).exit_code == 0  # 38 feeds
    for n in range(11):  # 11 of 38: more than ten, but not more than half
        (seeds_dir / f"own{n}.md").unlink()
    result = run("build", *folders)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "public/feeds/topics/own-topic-0.rss").exists()


def _busy_port() -> tuple[socket.socket, int]:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder, holder.getsockname()[1]


def test_a_busy_port_is_one_line_before_any_build(folders, tmp_path):
    holder, port = _busy_port()
    try:
        process = subprocess.run([sys.executable, "-m", "feedd", "run", *folders, "--port", str(port)],
                                 capture_output=True, text=True, timeout=60)
    finally:
        holder.close()
    assert process.returncode == 2, process.stderr
    assert process.stderr.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: address already in use"]
    assert not (tmp_path / "public").exists()  # refused before the first build


# Every mistake a user can make on the command line: one line, a non-zero exit, never a traceback.
MISTAKES = {
    "missing config": (["build", "-c", "{tmp}/nope.yaml"], 2),
    "config is a folder": (["build", "-c", "{tmp}"], 2),
    "invalid YAML": (["check", "-c", "{tmp}/broken.yaml"], 2),
    "missing articles": (["build", "--articles", "{tmp}/nowhere"], 2),
    "articles is a file": (["check", "--articles", "{tmp}/broken.yaml"], 2),
    "bad base URL": (["build", "--base-url", "ftp://x"], 2),
    "bad port": (["run", "--port", "70000"], 2),
    "bad host": (["run", "--host", "no such host.invalid", "--port", "0"], 2),
    "unknown command": (["publish"], 2),
    "unknown flag": (["build", "--fast"], 2),
    "serve without output": (["serve", "--output", "{tmp}/nothing", "--port", "0"], 2),
    "state in use": (["build"], 1),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_no_traceback_on_a_users_mistake(mistake, tmp_path, seeds_dir):
    args, status = MISTAKES[mistake]
    (tmp_path / "broken.yaml").write_text("site: [unclosed\n", encoding="utf-8")
    base = ["--articles", str(seeds_dir), "--output", str(tmp_path / "out"), "--state", str(tmp_path / "state")]
    args = [a.format(tmp=tmp_path) for a in args]
    args = args[:1] + [flag for flag in base if flag not in args] + args[1:] if args[0] != "publish" else args
    args = _without_overridden(args)
    lock = None
    if mistake == "state in use":
        (tmp_path / "state").mkdir()
        holder = ("import fcntl, sys, time; f = open(sys.argv[1], 'w'); fcntl.flock(f, fcntl.LOCK_EX); "
                  "f.write('4242'); f.flush(); print('ok', flush=True); time.sleep(60)")
        lock = subprocess.Popen([sys.executable, "-c", holder, str(tmp_path / "state/feedd.lock")],
                                stdout=subprocess.PIPE, text=True)
        assert lock.stdout.readline().strip() == "ok"
    try:
        process = subprocess.run([sys.executable, "-m", "feedd", *args], capture_output=True, text=True, timeout=60,
                                 cwd=tmp_path, env={**os.environ, "FEEDD_CONFIG": ""})
    finally:
        if lock is not None:
            lock.kill()
            lock.wait()
            lock.stdout.close()
    assert process.returncode == status, process.stderr
    assert "Traceback" not in process.stderr + process.stdout
    errors = [line for line in process.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, process.stderr


def _without_overridden(args: list[str]) -> list[str]:
    """Drop a default flag (and its value) when the mistake gives the same flag again later."""
    out, i = [], 0
    while i < len(args):
        flag = args[i]
        if flag.startswith("--") and i + 1 < len(args) and flag in args[i + 2:]:
            i += 2
            continue
        out.append(flag)
        i += 1
    return out
