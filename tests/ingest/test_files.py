"""read_file / is_ignored: one file in, front matter or plain text or a diagnostic out."""

from __future__ import annotations

import codecs
import os
import re
import subprocess
import sys
import threading
import time
from datetime import UTC
from pathlib import Path

import pytest

from feedd.ingest import files as articles
from feedd.ingest.fields import to_article
from feedd.ingest.files import is_ignored, read_file
from feedd.ingest.yamlload import UNSURE_CHAR, load_reference
from tests.helpers import load_corpus, make_config

LIMIT = 2 * 1024 * 1024
ARTICLE = '---\ntitle: "Café crème"\nwebUrl: "https://example.com/a"\npublishedDateTime: 2021-01-21T12:06:00Z\n---\n'


def read(folder: Path, data: bytes | str, name: str = "a.md", max_bytes: int = LIMIT):
    path = folder / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)
    return read_file(path, name, max_bytes)


def reasons(content, level: str | None = None) -> list[str]:
    """Diagnostics as the user reads them; each must name the file it is about."""
    assert all(d.path == content.rel for d in content.diagnostics)
    return [d.reason for d in content.diagnostics if level is None or d.level == level]


def only_error(content) -> str:
    errors = reasons(content, "error")
    assert len(errors) == 1, content.diagnostics
    return errors[0]


# --- front matter or plain text -------------------------------------------------------------------------

def test_front_matter_is_an_article(tmp_path):
    content = read(tmp_path, ARTICLE + "\nSome body.\n")
    assert content.meta["title"] == "Café crème"
    assert content.meta["webUrl"] == "https://example.com/a"
    assert content.text == "Some body."
    assert content.diagnostics == []


def test_file_without_front_matter_is_plain_text(tmp_path):
    content = read(tmp_path, "A title\n\nFirst paragraph.\n")
    assert content.meta is None
    assert content.text == "A title\n\nFirst paragraph.\n"
    assert content.diagnostics == []


def test_dashes_later_in_the_file_are_not_front_matter(tmp_path):
    content = read(tmp_path, "A title\n---\ntitle: x\n---\n")
    assert content.meta is None
    assert "title: x" in content.text


# --- encodings -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    codecs.BOM_UTF8 + ARTICLE.encode("utf-8"),
    ARTICLE.encode("utf-16"),  # with BOM, native order
    codecs.BOM_UTF16_LE + ARTICLE.encode("utf-16-le"),
    codecs.BOM_UTF16_BE + ARTICLE.encode("utf-16-be"),
], ids=["utf8-bom", "utf16", "utf16-le-bom", "utf16-be-bom"])
def test_unicode_with_bom_is_read(tmp_path, data):
    content = read(tmp_path, data)
    assert content.meta is not None, content.diagnostics
    assert content.meta["title"] == "Café crème"
    assert reasons(content, "error") == []


def test_utf16_plain_text_is_read(tmp_path):
    content = read(tmp_path, "Crème brûlée\n\nBody.\n".encode("utf-16"))
    assert content.text.startswith("Crème brûlée")
    assert reasons(content, "error") == []


@pytest.mark.parametrize("data, title", [
    (ARTICLE.encode("latin-1"), "Café crème"),
    (ARTICLE.replace("Café crème", "It’s “here”").encode("cp1252"), "It’s “here”"),
])
def test_legacy_bytes_decoded_as_windows_1252_with_warning(tmp_path, data, title):
    content = read(tmp_path, data)
    assert content.meta["title"] == title
    warnings = reasons(content, "warning")
    assert len(warnings) == 1 and "Windows-1252" in warnings[0] and "UTF-8" in warnings[0]


def test_legacy_bytes_plain_text_decoded(tmp_path):
    content = read(tmp_path, "Café\n\nDéjà vu.\n".encode("latin-1"))
    assert content.meta is None
    assert content.text == "Café\n\nDéjà vu.\n"
    assert "Windows-1252" in reasons(content, "warning")[0]


def test_few_nul_bytes_removed_with_warning(tmp_path):
    data = ARTICLE.encode() + b"Body \x00text " + b"padding " * 40
    content = read(tmp_path, data)
    assert content.meta["title"] == "Café crème"
    assert "\x00" not in content.text and content.text.startswith("Body text")
    assert any("NUL" in r for r in reasons(content, "warning"))


@pytest.mark.parametrize("data", [
    b"\x00" * 4000,
    Path(sys.executable).resolve().read_bytes()[:8192],
    ARTICLE.encode() + b"\x00\x01\x02\x00" * 500,
], ids=["zeros", "executable", "article-then-binary"])
def test_binary_file_skipped_with_error(tmp_path, data):
    content = read(tmp_path, data)
    assert content.meta is None and content.text == ""
    assert "binary" in only_error(content)


# --- line endings ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_windows_and_old_mac_line_endings(tmp_path, newline):
    text = (ARTICLE + "\nPara one.\n\nPara two.\n").replace("\n", newline)
    content = read(tmp_path, text)
    assert content.meta["title"] == "Café crème"
    assert content.meta["webUrl"] == "https://example.com/a"
    assert content.text == "Para one.\n\nPara two."
    assert content.diagnostics == []


# --- broken front matter --------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ['"one\x85two"', "one \u2028", "one\ttwo"])
def test_line_breaks_yaml_folds_read_as_libyaml_reads_them(tmp_path, value):
    """NEL and the Unicode line separators are line breaks to YAML 1.1; a file holding one must not take the
    fast path that skips the character checks (yaml-rs keeps them as text)."""
    front = f"title: {value}\nwebUrl: https://example.com/a\n"
    content = read(tmp_path, f"---\n{front}---\nBody.\n")
    assert content.meta == load_reference(front)


def test_every_character_a_guard_acts_on_keeps_the_file_off_the_fast_path():
    """read_file skips its character guards (binary, NUL, CR, BOM, YAML-refused, C1) when UNSURE_CHAR finds
    nothing: that is only safe while UNSURE_CHAR matches every character any of them acts on."""
    guards = [articles._BINARY, articles._YAML_REFUSED, articles._C1, re.compile("[\x00\r\ufeff]")]
    missed = [hex(code) for code in range(0x110000)
              if any(g.match(chr(code)) for g in guards) and not UNSURE_CHAR.match(chr(code))]
    assert missed == []


def test_never_closed_front_matter_is_an_error_and_not_a_body(tmp_path):
    content = read(tmp_path, '---\ntitle: "Secret draft"\nsecured: true\n\nThe body text.\n')
    assert content.meta is None
    assert content.text == ""  # the YAML never becomes a body or an orphan text
    assert "never closed" in only_error(content)


@pytest.mark.parametrize("front, problem", [
    ("", "empty"),
    ("# only a comment", "empty"),
    ("- a\n- b", "list"),
    ("just a sentence", "str"),
    ("42", "not a mapping"),
], ids=["empty", "comment", "list", "scalar", "number"])
def test_front_matter_that_is_not_a_mapping(tmp_path, front, problem):
    content = read(tmp_path, f"---\n{front}\n---\nbody\n")
    assert content.meta is None
    assert problem in only_error(content)


@pytest.mark.parametrize("text, line", [
    ("---\ntitle: a: b\n---\n", 2),
    ("---\n\ntitle: a: b\n---\n", 3),
    ("---\nx: 1\ny: 2\ntitle: a: b\n---\n", 4),
    ("---\r\nx: 1\r\ntitle: a: b\r\n---\r\n", 3),
    ("---\nx: 1\n\tbad: tab\n---\n", 3),
], ids=["first-line", "after-blank", "fourth-line", "crlf", "tab"])
def test_invalid_yaml_names_the_file_line(tmp_path, text, line):
    content = read(tmp_path, text)
    assert content.meta is None
    error = only_error(content)
    assert "invalid YAML" in error
    assert f"line {line}:" in error


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system",
    "!!python/object/new:os.system",
    "!!python/name:os.system",
    "!!python/object:feedd.models.Image",
])
def test_python_tags_refused_and_never_executed(tmp_path, tag):
    marker = tmp_path / "pwned"
    content = read(tmp_path, f"---\ntitle: {tag} ['touch {marker}']\n---\n")
    assert content.meta is None
    assert "invalid YAML" in only_error(content)
    assert not marker.exists()


# --- hostile nesting: run in a child process, so a crash fails the test instead of killing pytest -------

DEEP = {
    "flow": "x: " + "[" * 100000,
    "flow-closed": "x: " + "[" * 5000 + "]" * 5000,
    "mappings": "x: " + "{a: " * 5000 + "}" * 5000,
    "block-compact": "- " * 5000 + "x",
    "block-indented": "".join(" " * i + f"k{i}:\n" for i in range(3000)) + " " * 3000 + "v",
    "brackets-hidden-in-quotes": "x: " + "[']', " * 20000 + "]" * 20000,
    "brackets-hidden-in-comments": "x: " + "[ # ]\n" * 20000 + "]" * 20000,
}


@pytest.mark.parametrize("front", DEEP.values(), ids=DEEP.keys())
def test_deep_nesting_refused_quickly_without_crashing(tmp_path, front):
    path = tmp_path / "deep.md"
    path.write_text(f"---\n{front}\n---\nbody\n", encoding="utf-8")
    script = ("import sys; from pathlib import Path; from feedd.ingest.files import read_file\n"
              "c = read_file(Path(sys.argv[1]), 'deep.md', 10**8)\n"
              "print(c.meta is None, *[f'{d.path}: {d.level}: {d.reason}' for d in c.diagnostics])\n")
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, f"reader crashed: {run.returncode} {run.stderr[-500:]}"
    assert time.monotonic() - started < 20
    assert run.stdout.startswith("True deep.md: error: skipped:")
    assert "nested deeper than 64 levels" in run.stdout  # the cheap check, before any parser sees it


@pytest.mark.parametrize("where", ["first", "last"])
@pytest.mark.parametrize("key", ["title", "published"])
def test_a_repeated_key_is_reported_wherever_it_stands(tmp_path, key, where):
    lines = ['title: "Café crème"', 'webUrl: "https://example.com/a"', "publishedDateTime: 2021-01-21T12:06:00Z",
             "published: true"]
    lines.sort(key=lambda line: (line.split(":")[0] == key) == (where == "last"))  # the key's line first or last
    text = "---\n" + "\n".join(lines) + f"\n{lines[0] if where == 'first' else lines[-1]}\n---\n"
    content = read(tmp_path, text)
    expected = "published: given more than once; withheld" if key == "published" else \
        "front matter: 'title' given more than once; the last is used"
    assert expected in reasons(content)


def test_moderate_nesting_is_fine(tmp_path):
    front = "x: " + "[" * 30 + "]" * 30 + "\ny:\n" + "".join("  " * i + f"- k{i}:\n" for i in range(1, 20))
    content = read(tmp_path, f"{ARTICLE[:-4]}{front}---\n")
    assert content.meta is not None, content.diagnostics
    assert content.meta["title"] == "Café crème"


def test_alias_bomb_loads_or_is_refused_without_blowing_up(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [" + ",".join(f"*{prev}" for _ in range(9)) + "]")
    front = "\n".join(lines)
    path = tmp_path / "bomb.md"
    path.write_text(f"{ARTICLE[:-4]}{front}\ntopics: *i\nexcerpt: *i\n---\n", encoding="utf-8")
    started = time.monotonic()
    content = read_file(path, "bomb.md", LIMIT)
    if content.meta is None:
        assert only_error(content)
    else:
        article, diagnostics = to_article("bomb.md", content.meta, UTC)
        assert article is not None and article.topics == () and article.excerpt is None
        assert any(d.path == "bomb.md" and d.reason.startswith("excerpt:") for d in diagnostics)
    assert time.monotonic() - started < 5


# --- file system ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra", [1, 5000])
def test_file_over_the_size_limit_is_skipped(tmp_path, extra):
    data = ARTICLE.encode() + b"x" * (1000 - len(ARTICLE.encode()) + extra)
    content = read(tmp_path, data, max_bytes=1000)
    assert content.meta is None and content.text == ""
    error = only_error(content)
    assert "over the 1,000-byte limit" in error


def test_file_at_the_size_limit_is_read(tmp_path):
    data = ARTICLE.encode() + b"x" * (1000 - len(ARTICLE.encode()))
    content = read(tmp_path, data, max_bytes=1000)
    assert content.meta["title"] == "Café crème"


def run_with_deadline(fn, fifo: Path, seconds: float = 10):
    """Call fn in a thread; if it blocks on the FIFO, unblock it and fail."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    blocked = thread.is_alive()
    if blocked:
        try:  # opening the write end releases a reader stuck in open()
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
        thread.join(5)
    assert not blocked, "reading a FIFO blocked"
    return result["value"]


def test_fifo_is_skipped_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    content = run_with_deadline(lambda: read_file(fifo, "pipe.md", LIMIT), fifo)
    assert content.meta is None and content.text == ""
    assert "not a regular file" in only_error(content)


def test_fifo_in_articles_folder_skipped_others_read(articles_dir):
    fifo = articles_dir / "pipe.md"
    os.mkfifo(fifo)
    (articles_dir / "real.md").write_text(ARTICLE, encoding="utf-8")
    corpus = run_with_deadline(lambda: load_corpus(make_config(articles_dir)), fifo)
    assert [a.source for a in corpus.articles] == ["real.md"]
    assert any(d.path == "pipe.md" and "not a regular file" in d.reason for d in corpus.diagnostics)


def test_directory_passed_as_file_is_reported(tmp_path):
    folder = tmp_path / "dir.md"
    folder.mkdir()
    content = read_file(folder, "dir.md", LIMIT)
    assert content.meta is None
    assert only_error(content).startswith("skipped:")


def test_vanished_file_is_none(tmp_path):
    assert read_file(tmp_path / "gone.md", "gone.md", LIMIT) is None


# --- ignored names --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    ".x", ".hidden.md", "x~", "article.md~", "x.swp", ".x.swp", "x.swo", "#x#", "a.tmp", "a.part", "a.bak",
])
def test_hidden_and_editor_files_ignored(name):
    assert is_ignored(name)


@pytest.mark.parametrize("name", ["x", "000_8e0c099ee215eaaa.txt", "a.md", "notes.swp.md", "a~b", "x#"])
def test_ordinary_names_not_ignored(name):
    assert not is_ignored(name)


def test_ignored_files_never_become_articles(articles_dir):
    for name in (".x", "x~", "x.swp", "#x#"):
        (articles_dir / name).write_text(ARTICLE.replace("/a", f"/{name}"), encoding="utf-8")
    (articles_dir / "real.md").write_text(ARTICLE, encoding="utf-8")
    corpus = load_corpus(make_config(articles_dir))
    assert [a.source for a in corpus.articles] == ["real.md"]
    assert corpus.diagnostics == []


# --- YAML spelling kept ---------------------------------------------------------------------------------

@pytest.mark.parametrize("written", [
    "no", "yes", "off", "true", "1:20", "2021-01-01", "2021-01-01 10:00:00", "007", "1e3", "0x1F", ".inf", "1_000",
])
def test_yaml_non_text_title_kept_as_written(tmp_path, written):
    text = f"---\ntitle: {written}\nwebUrl: https://example.com/a\npublishedDateTime: 2021-01-21T12:06:00Z\n---\n"
    content = read(tmp_path, text)
    article, diagnostics = to_article("a.md", content.meta, UTC)
    assert article is not None, diagnostics
    assert article.title == written
