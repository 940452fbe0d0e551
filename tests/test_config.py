"""feedd/config.py: the YAML file a publisher writes, validated into one frozen Config."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from feedd.config import load_config, validate_config
from feedd.errors import ConfigError
from tests.helpers import ROOT


def write_yaml(tmp_path: Path, text: str, name: str = "feedd.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


# --- the shipped sample ----------------------------------------------------------------------------


def test_shipped_config_loads_with_its_feeds(monkeypatch):
    monkeypatch.chdir(ROOT)
    config = load_config("config/feedd.yaml")
    assert [f.name for f in config.feeds] == ["trending", "top"]
    trending, top = config.feeds
    assert trending.sort == "trending"
    assert trending.half_life == timedelta(hours=36)
    assert top.sort == "heat"
    assert top.filter.min_quality == 80
    assert config.site.title == "AI News Digest"


def test_shipped_config_paths_point_at_the_repository_folders(monkeypatch):
    monkeypatch.chdir(ROOT)
    config = load_config("config/feedd.yaml")
    assert config.paths.articles == ROOT / "articles"
    assert config.paths.output == ROOT / "public"
    assert config.paths.state == ROOT / "state"


# --- paths, defaults, overrides ----------------------------------------------------------------------


def test_relative_paths_resolve_against_the_config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "conf"
    folder.mkdir()
    path = write_yaml(folder, "paths: {articles: arts}\n")
    monkeypatch.chdir(tmp_path)  # somewhere else than the config's folder
    config = load_config(path)
    assert config.paths.articles.is_absolute()
    assert config.paths.articles == (folder / "arts").resolve()


def test_absolute_paths_are_kept(tmp_path):
    target = tmp_path / "elsewhere"
    path = write_yaml(tmp_path, f"paths: {{output: '{target}'}}\n")
    assert load_config(path).paths.output == target.resolve()


def test_defaults_without_a_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./config/feedd.yaml here
    config = load_config()
    assert config.source is None
    assert config.paths.articles == tmp_path.resolve() / "articles"
    assert config.paths.output == tmp_path.resolve() / "public"
    assert config.site.base_url == "http://127.0.0.1:8080/"
    assert config.site.timezone == "UTC"
    assert config.defaults.sort == "date"
    assert config.defaults.limit == 50
    assert config.defaults.half_life == timedelta(hours=24)
    assert config.defaults.formats == ("rss", "atom", "json")
    assert config.feeds == ()


def test_without_c_the_default_config_file_is_used_when_present(tmp_path, monkeypatch):
    (tmp_path / "config").mkdir()
    write_yaml(tmp_path / "config", "site: {title: From the file}\n")
    monkeypatch.chdir(tmp_path)
    assert load_config().site.title == "From the file"


def test_an_empty_file_means_defaults(tmp_path):
    config = load_config(write_yaml(tmp_path, "# nothing but a comment\n"))
    assert config.site.title == "feedd"
    assert config.paths.articles == tmp_path.resolve() / "articles"


def test_overrides_replace_file_values(tmp_path):
    path = write_yaml(tmp_path, "site: {title: Kept, base_url: 'https://file.example/'}\n"
                                "paths: {output: from-file}\n")
    out = tmp_path / "flag-output"
    config = load_config(path, **{"paths.output": str(out), "site.base_url": "https://flag.example/feeds"})
    assert config.paths.output == out.resolve()
    assert config.site.base_url == "https://flag.example/feeds/"
    assert config.site.title == "Kept"


def test_relative_override_paths_resolve_against_the_working_folder(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    conf.mkdir()
    path = write_yaml(conf, "paths: {output: out}\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    config = load_config(path, **{"paths.output": "flag-out"})
    assert config.paths.output == work.resolve() / "flag-out"


def test_none_overrides_are_ignored(tmp_path):
    path = write_yaml(tmp_path, "paths: {output: out}\nsite: {base_url: 'https://a.example/'}\n")
    config = load_config(path, **{"paths.output": None, "site.base_url": None})
    assert config.paths.output == tmp_path.resolve() / "out"
    assert config.site.base_url == "https://a.example/"


def test_an_override_is_validated(tmp_path):
    path = write_yaml(tmp_path, "")
    with pytest.raises(ConfigError, match=r"site\.base_url: expected an absolute http\(s\) URL"):
        load_config(path, **{"site.base_url": "ftp://x"})


# --- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("site:\n  bogus: 1\n", "site.bogus: unknown key"),
    ("bogus: 1\n", "bogus: unknown key"),
    ("feeds:\n  - name: a\n    filter: {tags: [x]}\n", "feeds[0].filter.tags: unknown key"),
    ("feeds:\n  - name: a\n  - name: b\n  - name: c\n    sort: popular\n",
     "feeds[2].sort: expected one of date, heat, trending"),
    ("defaults: {sort: random}\n", "defaults.sort: expected one of date, heat, trending"),
    ("defaults: {formats: [rss, pdf]}\n", "defaults.formats[1]: expected one of rss, atom, json"),
    ("defaults: {content: everything}\n", "defaults.content: expected one of summary, full"),
    ("defaults: {entry_ids: per-site}\n", "defaults.entry_ids: expected one of per-article, per-feed"),
])
def test_error_names_file_key_path_and_expectation(tmp_path, text, expected):
    path = write_yaml(tmp_path, text)
    assert config_error(path) == f"{path}: {expected}"


@pytest.mark.parametrize(("text", "key"), [
    ("limits: {max_file_bytes: lots}\n", "limits.max_file_bytes"),
    ("limits: {max_file_bytes: 0}\n", "limits.max_file_bytes"),
    ("defaults: {limit: -1}\n", "defaults.limit"),
    ("defaults: {min_quality: high}\n", "defaults.min_quality"),
    ("defaults: {half_life: soon}\n", "defaults.half_life"),
    ("defaults: {formats: rss}\n", "defaults.formats"),
    ("families: {topics: {min_items: 0}}\n", "families.topics.min_items"),
    ("families: {topics: {enabled: [1]}}\n", "families.topics.enabled"),
    ("site: {title: [a, b]}\n", "site.title"),
    ("site: 5\n", "site"),
    ("paths: {articles: [a]}\n", "paths.articles"),
    ("feeds: {name: a}\n", "feeds"),
    ("feeds:\n  - title: no name\n", "feeds[0].name"),
    ("feeds:\n  - name: Has Spaces\n", "feeds[0].name"),
    ("feeds:\n  - name: a\n    filter: {max_age: forever}\n", "feeds[0].filter.max_age"),
    ("feeds:\n  - name: a\n    limit: 0\n", "feeds[0].limit"),
])
def test_wrong_type_or_value_names_the_key(tmp_path, text, key):
    path = write_yaml(tmp_path, text)
    message = config_error(path)
    assert message.startswith(f"{path}: {key}: ")
    assert "\n" not in message


@pytest.mark.parametrize("url", ["ftp://example.com/", "example.com", "/feeds/", "http://", "https:// spaced"])
def test_bad_base_url_is_refused(tmp_path, url):
    path = write_yaml(tmp_path, f"site: {{base_url: '{url}'}}\n")
    assert config_error(path).startswith(f"{path}: site.base_url: expected an absolute http(s) URL")


@pytest.mark.parametrize("url", ["https://example.com/a b/", "https://example.com/\t/", "http://example.com/?q=1",
                                 "http://example.com/#top"])
def test_base_url_that_cannot_prefix_a_path_is_refused(url):
    """Found by tests/test_properties.py: feed URLs became `https://example.com/a b/feeds/all.rss`, or a query."""
    with pytest.raises(ConfigError, match=r"site\.base_url: expected an absolute http\(s\) URL"):
        validate_config({"site": {"base_url": url}})


@pytest.mark.parametrize(("section", "key"), [
    ({"site": {"title": "A\x01B"}}, "site.title"), ({"site": {"description": "\x0b"}}, "site.description"),
    ({"site": {"author": "\ufffe"}}, "site.author"), ({"site": {"language": "e\x00n"}}, "site.language"),
    ({"feeds": [{"name": "a", "title": "t\x1b"}]}, "feeds[0].title"),
    ({"feeds": [{"name": "a", "description": "\x08"}]}, "feeds[0].description"),
    ({"families": {"topics": {"title": "{name}\x07"}}}, "families.topics.title"),
    ({"site": {"title": ""}}, "site.title"), ({"site": {"description": ""}}, "site.description"),
    ({"families": {"topics": {"title": ""}}}, "families.topics.title"),
])
def test_text_a_feed_cannot_hold_is_refused(section, key):
    """Found by tests/test_properties.py: characters XML forbids, or an empty title, failed every feed's render."""
    with pytest.raises(ConfigError, match=rf"^{re.escape(key)}: "):
        validate_config(section)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "utc ", "", "../../etc/passwd", "Europe", "America"])
def test_bad_timezone_is_refused(tmp_path, zone):
    # `Europe` and `America` are folders of the zone database, not zones: they used to crash (IsADirectoryError)
    path = write_yaml(tmp_path, f"site: {{timezone: '{zone}'}}\n")
    assert config_error(path).startswith(f"{path}: site.timezone: unknown time zone")


def test_good_timezone_is_accepted(tmp_path):
    assert load_config(write_yaml(tmp_path, "site: {timezone: Europe/Paris}\n")).site.timezone == "Europe/Paris"


@pytest.mark.parametrize(("names", "expected"), [
    (["news", "news"], "feed name 'news' is used twice"),
    (["a", "b", "a"], "feed name 'a' is used twice"),
    (["all"], "feed name 'all' is reserved"),
    (["topics"], "feed name 'topics' is reserved"),
    (["providers"], "feed name 'providers' is reserved"),
    (["categories"], "feed name 'categories' is reserved"),
])
def test_duplicate_and_reserved_feed_names_are_refused(tmp_path, names, expected):
    path = write_yaml(tmp_path, "feeds:\n" + "".join(f"  - name: {n}\n" for n in names))
    assert config_error(path) == f"{path}: feeds: {expected}"


@pytest.mark.parametrize("title", ["{site} about {topic}", "{0}: {name}", "Unclosed {", "{name.length}"])
def test_bad_family_title_pattern_is_a_config_error(tmp_path, title):
    # used to pass validation, then crash every build with a KeyError/IndexError traceback
    path = write_yaml(tmp_path, f"families:\n  topics: {{title: '{title}'}}\n")
    assert config_error(path).startswith(f"{path}: families.topics.title: bad title pattern")


def test_family_title_pattern_with_escaped_braces_is_accepted(tmp_path):
    path = write_yaml(tmp_path, "families:\n  topics: {title: '{{{site}}} {name}'}\n")
    assert load_config(path).families.topics.title == "{{{site}}} {name}"


@pytest.mark.parametrize(("text", "line"), [
    ("site: [unclosed\n", 2),
    ("site:\n  title: a\n   bad: b\n", 3),
    ("site: {title: a: b}\n", 1),
    ("\tsite: x\n", 1),
])
def test_invalid_yaml_names_file_and_line(tmp_path, text, line):
    path = write_yaml(tmp_path, text)
    message = config_error(path)
    assert message.startswith(f"{path}: line {line}: invalid YAML")
    assert "\n" not in message


def test_missing_file_is_an_error(tmp_path):
    path = tmp_path / "nope.yaml"
    assert config_error(path) == f"{path}: file not found"


def test_undecodable_file_is_an_error(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"site: {title: caf\xe9}\n")
    assert config_error(path).startswith(f"{path}: cannot read")


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "list"), ("42\n", "int"), ("just words\n", "str")])
def test_top_level_must_be_a_mapping(tmp_path, text, kind):
    path = write_yaml(tmp_path, text)
    assert config_error(path) == f"{path}: expected a mapping of settings, got {kind}"


# --- values ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("36h", timedelta(hours=36)),
    ("7d", timedelta(days=7)),
    ("30m", timedelta(minutes=30)),
    ("2w", timedelta(weeks=2)),
    ("90s", timedelta(seconds=90)),
    ("1.5h", timedelta(minutes=90)),
    ("P1D", timedelta(days=1)),
    ("PT36H", timedelta(hours=36)),
])
def test_durations(tmp_path, text, expected):
    path = write_yaml(tmp_path, f"defaults: {{half_life: {text}}}\n"
                                f"feeds:\n  - name: a\n    half_life: {text}\n    filter: {{max_age: {text}}}\n")
    config = load_config(path)
    assert config.defaults.half_life == expected
    assert config.feeds[0].half_life == expected
    assert config.feeds[0].filter.max_age == expected


@pytest.mark.parametrize(("url", "expected"), [
    ("https://example.com", "https://example.com/"),
    ("https://example.com/news", "https://example.com/news/"),
    ("https://example.com/news/", "https://example.com/news/"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
])
def test_base_url_gets_a_trailing_slash(url, expected):
    assert validate_config({"site": {"base_url": url}}).site.base_url == expected


def test_config_is_frozen(tmp_path):
    config = load_config(write_yaml(tmp_path, "feeds:\n  - name: a\n"))
    with pytest.raises(ValidationError):
        config.site = config.site
    with pytest.raises(ValidationError):
        config.site.title = "changed"
    with pytest.raises(ValidationError):
        config.feeds[0].limit = 3
    with pytest.raises(TypeError):
        config.feeds[0].filter.topics[0:0] = ("x",)  # tuples, not lists


def test_entry_ids_are_per_article_unless_a_feed_or_the_defaults_say_per_feed():
    config = validate_config({"feeds": [{"name": "a"}, {"name": "b", "entry_ids": "per-feed"}]})
    assert [f.settings(config.defaults).entry_ids for f in config.feeds] == ["per-article", "per-feed"]
    config = validate_config({"defaults": {"entry_ids": "per-feed"},
                              "feeds": [{"name": "a"}, {"name": "b", "entry_ids": "per-article"}]})
    assert [f.settings(config.defaults).entry_ids for f in config.feeds] == ["per-feed", "per-article"]


def test_a_non_ascii_base_url_is_kept_as_a_uri_every_reader_accepts():
    """Every URL in the feeds starts with site.base_url: an IRI there would put non-ASCII in every feed."""
    config = validate_config({"site": {"base_url": "https://例え.jp/ä/"}})
    assert config.site.base_url == "https://xn--r8jz45g.jp/%C3%A4/"
    assert validate_config({"site": {"base_url": "https://news.example/site"}}).site.base_url == \
        "https://news.example/site/"
