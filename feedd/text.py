"""Text repair shared by every text field: mojibake, XML-illegal characters, whitespace."""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

import ftfy
from ftfy.badness import is_bad
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
_SPACE = re.compile(r"\s+")
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
    return is_bad(text) or not unicodedata.is_normalized("NFC", text) or bool(_FTFY_OTHER.search(text))


def one_line(value: str) -> str:
    """Collapse runs of whitespace (titles and excerpts are one line in every reader)."""
    return _SPACE.sub(" ", value).strip()


def match_key(value: str) -> str:
    """What makes two titles the same: case, whitespace and mojibake ignored."""
    return one_line(repair(value)[0]).casefold()


def paragraphs(body: str) -> list[str]:
    """Split plain text on blank lines into paragraphs, each with its lines joined."""
    return [one_line(p) for p in _PARAGRAPH_BREAK.split(body) if p.strip()]


@lru_cache(maxsize=1024)  # each body is rendered into RSS, Atom and JSON Feed alike
def body_html(body: str) -> str:
    """Plain text as escaped HTML paragraphs: text is never interpreted as markup."""
    return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs(body))
