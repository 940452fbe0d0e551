"""Text repair shared by every field: mojibake, XML-illegal characters, whitespace, paragraphs."""

from __future__ import annotations

import re

import ftfy
import pytest
from ftfy.badness import BADNESS_RE, is_bad
from hypothesis import given, settings
from hypothesis import strategies as st

from feedd.ingest.text import (
    _BADNESS_WINDOW,
    _FTFY,
    _XML_ILLEGAL,
    body_html,
    looks_bad,
    match_key,
    one_line,
    paragraphs,
    repair,
)


@pytest.mark.parametrize("broken, fixed", [
    ("worldâ€™s", "world’s"),
    ("â€œquotedâ€\x9d", "“quoted”"),
    ("CafÃ©", "Café"),
    ("naÃ¯ve â€” really", "naïve — really"),
])
def test_repair_fixes_mojibake_and_says_so(broken, fixed):
    assert repair(broken) == (fixed, ["repaired mojibake"])


@pytest.mark.parametrize("text", [
    "plain ascii", "world’s “best”", "Café", "ﬁne ligature", "ＦＵＬＬ width", "&lt;b&gt; &amp;", "日本語", "",
])
def test_repair_leaves_good_text_alone(text):
    assert repair(text) == (text, [])


@pytest.mark.parametrize("text, cleaned, count", [
    ("a\x00b", "ab", 1), ("a\x07\x08b", "ab", 2), ("a\ufffeb\uffff", "ab", 2), ("a\ud800b", "ab", 1),
    ("a\x1bb", "ab", 1), ("tab\tnew\nline\rok", "tab\tnew\nline\rok", 0),
])
def test_repair_removes_characters_xml_forbids(text, cleaned, count):
    result, notes = repair(text)
    assert result == cleaned
    assert notes == ([f"removed {count} character(s) that XML does not allow"] if count else [])


def test_repair_reports_both_repairs():
    assert repair("worldâ€™s\x00") == ("world’s", ["removed 1 character(s) that XML does not allow",
                                                   "repaired mojibake"])


def test_one_line():
    assert one_line("  a\n\tb   c \r\n") == "a b c"


@pytest.mark.parametrize("a, b", [
    ("This Chinese Lab", "this   chinese\tLAB "),
    ("The world’s lab", "The worldâ€™s lab"),
    ("Straße", "STRASSE"),
    ("Café", "CAFÉ\x00"),
])
def test_match_key_same(a, b):
    assert match_key(a) == match_key(b)


@pytest.mark.parametrize("a, b", [("Lab one", "Lab two"), ("Labone", "Lab one"), ("world’s", "world's")])
def test_match_key_different(a, b):
    assert match_key(a) != match_key(b)


def test_paragraphs_split_on_blank_lines_and_join_lines():
    body = "First line\nstill first.\n\n\n  \nSecond.\n \t\nThird\n"
    assert paragraphs(body) == ["First line still first.", "Second.", "Third"]
    assert paragraphs("   \n\n ") == []


@pytest.mark.parametrize("text, html", [
    ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
    ("a & b\n\n<b>c</b>", "<p>a &amp; b</p><p>&lt;b&gt;c&lt;/b&gt;</p>"),
    ("&lt;already&gt;", "<p>&amp;lt;already&amp;gt;</p>"),
    ('say "hi"', '<p>say "hi"</p>'),
])
def test_body_html_escapes_markup(text, html):
    assert body_html(text) == html
    assert "<script" not in body_html(text)


# Characters each of ftfy's steps reacts to (mojibake, C1, line breaks, controls, decomposed accents) and plain ones.
_TRICKY_CHARS = "aZ é’“”—Ã©â€™\x80\x85\x9d\r\n\u2028\u2029\x7f\ufeff\u206a\ufff9\u0301e\u00a0Â ½日🤖\x00\x1b"


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(_TRICKY_CHARS), max_size=30) | st.text(max_size=30))
def test_repair_skips_ftfy_only_where_ftfy_would_change_nothing(value):
    """The cheap gate in front of ftfy never changes the result: repair() equals always running fix_text."""
    cleaned = _XML_ILLEGAL.sub("", value)
    expected = cleaned if cleaned.isascii() else ftfy.fix_text(cleaned, _FTFY)
    assert repair(value)[0] == expected


# Every character ftfy's mojibake patterns name, and ASCII ones they combine with.
_BADNESS_CHARS = "".join(sorted({c for c in BADNESS_RE.pattern if not c.isascii()})) + "aszAZ .,?!\n\t"


def test_the_mojibake_check_is_searched_in_windows():
    """Otherwise looks_bad silently falls back to searching all of every text (a fifth of parsing)."""
    assert _BADNESS_WINDOW is not None and _BADNESS_WINDOW <= 16


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(_BADNESS_CHARS), max_size=6)
                | st.text(alphabet="abc .\n", max_size=40), max_size=12).map("".join))
def test_looks_bad_agrees_with_ftfy(text):
    """Searching only near non-ASCII characters finds exactly the mojibake ftfy's is_bad finds."""
    assert looks_bad(text) == is_bad(text)


def test_looks_bad_agrees_with_ftfy_on_the_seeds(seeds_dir):
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(seeds_dir.rglob("*")) if p.is_file()]
    texts += ["worldâ€™s", "Ã ", "x Ã ", "Ã", "ok Ã© ok", "ГўВЂВ\u2019x", "a" * 7 + "Ã ", "é" + " " * 20 + "Ã©"]
    assert [looks_bad(t) for t in texts] == [is_bad(t) for t in texts]
    assert any(is_bad(t) for t in texts) and not all(is_bad(t) for t in texts)


@given(st.text(alphabet=st.sampled_from(["a", "é", " ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85",
                                         "\xa0", "\u1680", "\u2000", "\u200b", "\u2028", "\u202f", "\u3000", "\ufeff"]),
               max_size=30))
@settings(max_examples=500, deadline=None, derandomize=True, database=None)
def test_one_line_collapses_exactly_what_re_whitespace_matches(value):
    assert one_line(value) == re.sub(r"\s+", " ", value).strip()


def test_one_line_agrees_with_re_on_every_whitespace_code_point():
    spaces = [chr(c) for c in range(0x110000) if 0xD800 > c or c > 0xDFFF if re.fullmatch(r"\s", chr(c))]
    assert spaces == [chr(c) for c in range(0x110000) if 0xD800 > c or c > 0xDFFF if chr(c).isspace()]
    assert one_line("x" + "".join(spaces) + "y" + spaces[-1]) == "x y"
