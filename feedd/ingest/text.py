"""Text repair shared by every text field: mojibake, XML-illegal characters, whitespace."""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache
from typing import Any

import ftfy
from ftfy.badness import BADNESS_RE, is_bad
from ftfy.chardata import CONTROL_CHARS

# Keep typographic quotes, ligatures and full-width characters as the author wrote them; never decode HTML
# entities (a title that says "&lt;" means those four characters).
_FTFY = ftfy.TextFixerConfig(
    uncurl_quotes=False,
    unescape_html=False,
    fix_character_width=False,
    fix_latin_ligatures=False,
    explain=False,
)
# Characters XML 1.0 forbids: C0 controls other than tab/LF/CR, lone surrogates, U+FFFE/U+FFFF.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# What fix_text changes in text that is not mojibake (is_bad false): line breaks (fixes.fix_line_breaks) and the
# control characters fixes.remove_control_chars drops. Text with none of these, already NFC and not is_bad, is
# returned unchanged by fix_text with _FTFY, so it can skip the (per-line, many-pass) call.
_FTFY_OTHER = re.compile("[\r\u2028\u2029\x85" + "".join(re.escape(chr(c)) for c in sorted(CONTROL_CHARS)) + "]")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def repair(value: str) -> tuple[str, list[str]]:
    """Return the text made safe for XML and free of mojibake, plus a note per repair made."""
    notes = []
    cleaned = _XML_ILLEGAL.sub("", value)
    if cleaned != value:
        notes.append(f"removed {len(value) - len(cleaned)} character(s) that XML does not allow")
    if not cleaned.isascii() and _needs_ftfy(cleaned):
        fixed = ftfy.fix_text(cleaned, _FTFY)
        if fixed != cleaned:
            notes.append("repaired mojibake")
            cleaned = fixed
    return cleaned, notes


def _needs_ftfy(text: str) -> bool:
    """Whether ftfy.fix_text could change this text (a cheap, conservative test; false means it would not)."""
    return looks_bad(text) or not unicodedata.is_normalized("NFC", text) or bool(_FTFY_OTHER.search(text))


def _needs_non_ascii(items: Any) -> bool:
    """Whether every match of this parsed pattern (re's own parser) holds a character above U+007F."""
    def item(op: Any, arg: Any) -> bool:
        name = str(op)
        if name == "LITERAL":
            return arg > 0x7F
        if name == "IN":  # a class of non-ASCII literals and ranges only (no negation, no \w)
            return all((str(o) == "LITERAL" and a > 0x7F) or (str(o) == "RANGE" and a[0] > 0x7F) for o, a in arg)
        if name == "BRANCH":
            return all(_needs_non_ascii(alternative) for alternative in arg[1])
        if name == "SUBPATTERN":
            return _needs_non_ascii(arg[3])
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            return arg[0] >= 1 and _needs_non_ascii(arg[2])
        return False

    return any(item(op, arg) for op, arg in items)


def _window(pattern: re.Pattern[str]) -> int | None:
    """The longest match of ftfy's BADNESS_RE, when every match holds a non-ASCII character; else None."""
    try:
        from re import _parser  # type: ignore[attr-defined]  # re's parser: what the pattern really means

        tree = _parser.parse(pattern.pattern, pattern.flags)
        longest = tree.getwidth()[1]
    except (ImportError, AttributeError, re.error):
        return None
    if pattern.flags & re.IGNORECASE or longest > 64 or not _needs_non_ascii(tree):
        return None  # ("K", the Kelvin sign, matches "k" when case is ignored)
    return longest


_BADNESS_WINDOW = _window(BADNESS_RE)
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def looks_bad(text: str) -> bool:
    """ftfy's is_bad, searched only within reach of non-ASCII characters: every mojibake pattern holds one
    and is at most _BADNESS_WINDOW long, so on mostly-English text little is searched at all."""
    if _BADNESS_WINDOW is None:
        return is_bad(text)
    reach, start, end = _BADNESS_WINDOW, 0, -1
    for run in _NON_ASCII.finditer(text):
        begin = max(run.start() - reach, 0)
        if begin > end:  # a new window; search the one before it
            if end >= 0 and BADNESS_RE.search(text, start, end):
                return True
            start = begin
        end = run.end() + reach
    # pos/endpos, not slices: `^` still means the start of the text, and nothing outside a window is seen
    return end >= 0 and bool(BADNESS_RE.search(text, start, end))


def one_line(value: str) -> str:
    """Collapse runs of whitespace (titles and excerpts are one line in every reader). str.split() breaks on
    exactly the characters re's \\s matches (str.isspace), so this is re.sub(r"\\s+", " ", value).strip(),
    in half the time: it runs on every text field and paragraph a build reads."""
    return " ".join(value.split())


def match_key(value: str) -> str:
    """What makes two titles the same: case, whitespace and mojibake ignored."""
    return one_line(repair(value)[0]).casefold()


def paragraphs(body: str) -> list[str]:
    """Split plain text on blank lines into paragraphs, each with its lines joined."""
    return [one_line(p) for p in _PARAGRAPH_BREAK.split(body) if p.strip()]


@lru_cache(maxsize=128)  # each body goes into Atom and RSS (one generator) and JSON Feed: a feed's worth
def body_html(body: str) -> str:
    """Plain text as escaped HTML paragraphs: text is never interpreted as markup."""
    return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs(body))
