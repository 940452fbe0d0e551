"""Text repair shared by every text field: mojibake, XML-illegal characters, whitespace."""

from __future__ import annotations

import html
import re

import ftfy

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
_SPACE = re.compile(r"\s+")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def repair(value: str) -> tuple[str, list[str]]:
    """Return the text made safe for XML and free of mojibake, plus a note per repair made."""
    notes = []
    cleaned = _XML_ILLEGAL.sub("", value)
    if cleaned != value:
        notes.append(f"removed {len(value) - len(cleaned)} character(s) that XML does not allow")
    if not cleaned.isascii():
        fixed = ftfy.fix_text(cleaned, _FTFY)
        if fixed != cleaned:
            notes.append("repaired mojibake")
            cleaned = fixed
    return cleaned, notes


def one_line(value: str) -> str:
    """Collapse runs of whitespace (titles and excerpts are one line in every reader)."""
    return _SPACE.sub(" ", value).strip()


def match_key(value: str) -> str:
    """What makes two titles the same: case, whitespace and mojibake ignored."""
    return one_line(repair(value)[0]).casefold()


def paragraphs(body: str) -> list[str]:
    """Split plain text on blank lines into paragraphs, each with its lines joined."""
    return [one_line(p) for p in _PARAGRAPH_BREAK.split(body) if p.strip()]


def body_html(body: str) -> str:
    """Plain text as escaped HTML paragraphs: text is never interpreted as markup."""
    return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs(body))
