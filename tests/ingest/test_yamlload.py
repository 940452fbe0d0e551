"""yamlload.load: the yaml-rs fast path reads front matter exactly as libyaml (ArticleLoader) does, or steps aside."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedd.ingest import yamlload
from feedd.ingest.fields import to_article
from feedd.ingest.files import HANDLER
from feedd.ingest.yamlload import YamlBool, load, load_reference
from tests.helpers import ROOT

GEN_CORPUS = ROOT.parent / "shared" / "tools" / "gen_corpus.py"
TZ = ZoneInfo("Europe/Paris")


def same(a, b) -> bool:
    """Equal values of the same types, in the same order, with the same spellings (YamlBool/YamlInt.source)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        pairs = zip(a.items(), b.items(), strict=False)
        return len(a) == len(b) and all(same(ka, kb) and same(va, vb) for (ka, va), (kb, vb) in pairs)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, YamlBool):
        return (a.value, a.source) == (b.value, b.source)
    return (a == b or a != a and b != b) and getattr(a, "source", None) == getattr(b, "source", None)  # nan


def fronts(folder: Path) -> list[tuple[str, str]]:
    out = []
    for path in sorted(folder.rglob("*")):
        text = path.read_text("utf-8")
        if path.is_file() and HANDLER.detect(text):
            out.append((path.name, HANDLER.split(text)[0]))
    return out


def assert_same_articles(files: list[tuple[str, str]]) -> int:
    """Both readings give the same values and the same to_article() result; returns how many took the fast path."""
    fast = 0
    for rel, front in files:
        reference = load_reference(front)
        assert same(load(front), reference), rel
        fast += yamlload._fast(front) is not None
        assert to_article(rel, load(front), TZ) == to_article(rel, reference, TZ), rel
    return fast


def test_seed_articles_read_the_same():
    files = fronts(ROOT / "articles")  # 5 files: 2 articles, 3 full texts
    assert len(files) == 2
    assert assert_same_articles(files) == 2


@pytest.mark.skipif(not GEN_CORPUS.exists(), reason="needs ../shared/tools/gen_corpus.py")
def test_generated_corpus_reads_the_same(tmp_path: Path):
    subprocess.run([sys.executable, str(GEN_CORPUS), str(tmp_path / "c"), "--count", "300", "--seed", "7"],
                   check=True, capture_output=True)
    files = fronts(tmp_path / "c")
    assert len(files) == 300
    assert assert_same_articles(files) >= 270  # the fast path is the rule, not the exception


# Snippets where YAML 1.1 (libyaml) and YAML 1.2 (yaml-rs) disagree, or where feedd's loader is special.
TRICKY = [
    "published: no", "published: yes", "published: on", "published: off", "published: NO", "published: Yes",
    "published: true", "published: false", "published: True", "published: FALSE", "published: y", "published: n",
    "title: no", "title: ON", "title: 1:20", "title: -1:20", "title: 190:20:30.15", "title: 2021-01-01",
    "title: 2021-01-21T12:06:00Z", "title: 2021-01-21 12:06:00 +01:00", "title: ~", "title: null", "title: Null",
    "title:", "title: ''", 'title: ""', "title: '0'", 'title: "no"', "title: =", "<<: {title: a}",
    "heat: 033", "heat: 0o14", "heat: 0x1F", "heat: 0b101", "heat: +3", "heat: -0", "heat: -12", "heat: 0",
    "heat: 1_000", "heat: 1e3", "heat: 1.5", "heat: .5", "heat: .inf", "heat: -.inf", "heat: .nan",
    "heat: 12345678901234567890", "heat: 3 # comment", "quality: 1.50",
    "title: !!python/object:os.system x", "title: !!python/object/apply:os.system ['true']", "title: !!str 12",
    "title: !!int '12'", "title: &a x\nexcerpt: *a", "base: &b {x: 1}\nmore:\n  <<: *b\n  y: 2",
    "title: a\ntitle: b", "title: a\nheat: 1\ntitle: b", "1: one", "no: key", "? complex\n: key",
    "title: |\n  literal\n  block\n", "title: >-\n  folded\n  block\n", "title: plain\n  multi\n\n  line",
    'title: "dq\n  folded"', "title: 'it''s'", 'title: "esc \\x41 \\u00e9 \\U0001F600 \\N \\_ \\L \\P \\/"',
    "title: a\u2028b", "title: a\x85b", "title: \ufeffbom", "title: tab\there", "title: bell\x07",
    "topics: [AI, no, 1:20, 033, 'x']", "topics:\n  - AI\n  - on\n  - 1.0", "topics: {a: no}",
    "%YAML 1.1\n---\ntitle: a", "title: a\n---\ntitle: b", "title: a\n...\n", "- a list", "just text", "",
    "title: [unclosed", "title: a: b", "title: @reserved", "title: `reserved`", "title: \"unclosed",
    "title: emoji 🤖 and 日本語", "title: Café — “quoted”", "title: 'True story'",
]


@pytest.mark.parametrize("snippet", TRICKY)
def test_tricky_snippets_read_the_same(snippet):
    try:
        reference = load_reference(snippet)
    except Exception as exc:  # libyaml refuses it: so must load (the fast path steps aside, libyaml words it)
        with pytest.raises(type(exc)):
            load(snippet)
        return
    assert same(load(snippet), reference)
    if isinstance(reference, dict):
        assert to_article("a.md", load(snippet), TZ) == to_article("a.md", reference, TZ)


@pytest.mark.parametrize("snippet", [
    "published: no", "title: on", "title: 1:20", "heat: 033", "heat: 0o14", "heat: 1_000", "published: True",
    "heat: 1.5", "title: !!str 12", "title: &a x\nexcerpt: *a", "<<: {a: 1}", "1: one", "title: |\n  x\n",
    "title: a\u2028b", "title: tab\there",
])
def test_fast_path_steps_aside_where_yaml_versions_disagree(snippet):
    assert yamlload._fast(snippet) is None


def test_fast_path_keeps_spellings():
    meta = yamlload._fast("published: true\nheat: 12\nquality: 0\ntitle: 'A'\nwhen: 2021-01-21T12:06:00Z\n")
    assert meta is not None
    assert isinstance(meta["published"], YamlBool) and meta["published"].source == "true"
    assert meta["heat"] == 12 and meta["heat"].source == "12" and meta["quality"].source == "0"
    assert meta["title"] == "A" and meta["when"] == "2021-01-21T12:06:00Z"
    # Text YAML 1.1 would resolve if it were plain steps aside even when quoted: yaml-rs does not say which it was.
    assert yamlload._fast("title: '1:20'") is None


SCALARS = ["a", "no", "on", "true", "True", "1", "033", "1:20", "-1", "+1", "1.5", "~", "", "'x'", '"y"', "[a, no]",
           "{k: on}", "2021-01-01", "0x1F", "1_0", ".5", "x y", "a # c", "'it''s'", "&a b", "*a", "!!str 1", "é"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["title", "heat", "published", "no", "1", "x"]),
                          st.lists(st.sampled_from(SCALARS), min_size=1, max_size=3),
                          st.booleans()), min_size=1, max_size=6))
def test_random_front_matter_reads_the_same(lines):
    """Mappings of tricky scalars, as values or block-list items: the fast path never changes the result."""
    text = "".join(f"{key}: {values[0]}\n" if not as_list else f"{key}:\n" + "".join(f"  - {v}\n" for v in values)
                   for key, values, as_list in lines)
    try:
        reference = load_reference(text)
    except Exception as exc:
        with pytest.raises(type(exc)):
            load(text)
        return
    assert same(load(text), reference)


def test_fast_path_checks_each_mapping_key_once(monkeypatch):
    """Every article repeats the same keys (title, webUrl, provider...): whether YAML 1.1 reads a key as text is
    decided once, not per file; values are still checked every time."""
    checked = []
    real = yamlload._plain_is_str
    monkeypatch.setattr(yamlload, "_plain_is_str", lambda value: checked.append(value) or real(value))
    monkeypatch.setattr(yamlload, "_KEYS", {})
    text = 'title: "Robots"\ntype: article\ntopics: [AI]\n'
    assert same(load(text), load_reference(text))
    assert same(load(text), load_reference(text))
    assert checked.count("title") == 1 and checked.count("type") == 1 and checked.count("article") == 2
    assert same(load("type: no\n"), load_reference("type: no\n"))  # the value still read as YAML 1.1 reads it
