"""LOAD: one file → front matter and body, or plain text, or a diagnostic. The only frontmatter user.

Every guard that keeps a hostile file from hurting the build lives here: size cap, nesting guard before
libyaml sees the text, encodings; feedd.ingest.yamlload reads the YAML, keeping scalars as the author wrote them.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

from feedd.ingest.yamlload import UNSURE_CHAR, YamlBool
from feedd.ingest.yamlload import load as load_yaml
from feedd.models import Diagnostic

MAX_NESTING = 64  # libyaml's composer recurses per level; thousands of levels crash the interpreter
IGNORED_PREFIXES = (".", "#")
IGNORED_SUFFIXES = ("~", ".swp", ".swo", ".swx", ".tmp", ".part", ".crdownload", ".bak", ".orig")
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ArticleYAMLHandler(YAMLHandler):
    """python-frontmatter's YAML handler, with feedd's loader (feedd.ingest.yamlload)."""

    def load(self, fm: str, plain: bool = False, **kwargs: object) -> Any:
        return load_yaml(fm, plain)


HANDLER = ArticleYAMLHandler()


@dataclass
class FileContent:
    """What one file holds: front matter (an article) or plain text (a candidate body)."""

    rel: str
    meta: dict[str, Any] | None = None
    text: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)


def is_ignored(name: str) -> bool:
    """Hidden files and editor or download leftovers are never articles."""
    return name.startswith(IGNORED_PREFIXES) or name.endswith(IGNORED_SUFFIXES)


def _decode(data: bytes) -> tuple[str, str | None]:
    """Bytes → text; returns a note when the file was not plain UTF-8."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:  # surrogatepass: a lone surrogate is one bad character (removed later), not a binary file
                text = data.decode(codec, "surrogatepass")
                return text, None if codec == "utf-8-sig" else f"decoded as {codec.upper()}"
            except UnicodeDecodeError:
                break
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        try:  # UTF-8 but for encoded surrogates (CESU-8, WTF-8): pair them up; a lone one is removed later
            text = data.decode("utf-8", "surrogatepass")
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
            return text, f"not valid UTF-8 (byte {exc.start}): encoded surrogates (CESU-8) read as UTF-8"
        except UnicodeDecodeError:
            pass
        return data.decode("cp1252", errors="replace"), f"not valid UTF-8 (byte {exc.start}); decoded as Windows-1252"


_OPENING = (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken, yaml.BlockSequenceStartToken,
            yaml.BlockMappingStartToken)
_CLOSING = (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken, yaml.BlockEndToken)
_BRACKET = re.compile(r"[\[\]{}]")
# Characters libyaml refuses anywhere in a stream (C0 but tab/LF/CR, DEL, surrogates, U+FFFE/U+FFFF; XML forbids
# them too but DEL): one stray control byte from a scraper would otherwise skip the whole article.
_YAML_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# C1 controls (but NEL), which libyaml refuses too, are nearly always Windows-1252 bytes read as Latin-1
# (`â\x80\x99` for `’`): read them as Windows-1252, as ftfy would, so the mojibake repair can undo them.
_C1 = re.compile("[\x80-\x84\x86-\x9f]")
# Binary data: C0 controls other than tab, line breaks and ESC, more than text holds (not just NULs: compressed
# data such as an image has few).
_BINARY = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f]")
# Line starts written as "\n", searched in "\n" + text: `re` then skips ahead to each line break, where a
# MULTILINE "^" is tried at every character (several times slower over an article's front matter).
_TOP_KEY = re.compile(r"\n([A-Za-z_][\w-]*)[ \t]*:(?=[ \t\n]|\Z)")
_DEEP_INDENT = re.compile(rf"\n[ \t\-?:]{{{2 * MAX_NESTING + 1}}}")


def _too_deep(front: str) -> bool:
    """Cheap upper bound on YAML nesting, checked before libyaml ever sees the text."""
    if front.count("[") + front.count("{") <= MAX_NESTING:  # nearly every file: too few brackets to nest deeper
        return _DEEP_INDENT.search("\n" + front) is not None  # block nesting needs indentation
    depth = deepest = 0
    for ch in _BRACKET.findall(front):
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    if deepest > MAX_NESTING:
        return True
    if _DEEP_INDENT.search("\n" + front):
        return True
    # Brackets inside quotes or comments fool the count above (`[']', [']', …` nests without counting);
    # libyaml's scanner is iterative, only its composer recurses: count its tokens, stopping early.
    depth = 0
    try:
        for token in yaml.scan(front, Loader=_Base):
            if isinstance(token, _OPENING):
                depth += 1
                if depth > MAX_NESTING:
                    return True
            elif isinstance(token, _CLOSING):
                depth -= 1
    except yaml.YAMLError:
        pass  # the loader reports it, with its line
    return False


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """Read a regular file without following a last-moment swap to a FIFO or device."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError("not a regular file")
        if info.st_size > max_bytes:
            raise ValueError(f"file is {info.st_size:,} bytes, over the {max_bytes:,}-byte limit")
        chunks, total = [], 0  # os.read, not a file object: no buffer and decoder set up per small file
        while chunk := os.read(fd, info.st_size + 1 - total if total < info.st_size else 65536):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise ValueError(f"file grew past the {max_bytes:,}-byte limit while being read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _windows_1252(match: re.Match[str]) -> str:
    try:
        return match.group().encode("latin-1").decode("cp1252")
    except UnicodeDecodeError:  # the five bytes Windows-1252 leaves undefined
        return ""


def _duplicate_keys(rel: str, front: str, meta: dict[str, Any]) -> list[Diagnostic]:
    """YAML keeps the last of two equal keys, silently: say so, and fail closed on a repeated `published`."""
    counts = Counter(_TOP_KEY.findall("\n" + front))  # a Counter: list.count per key is quadratic
    repeated = sorted(k for k, n in counts.items() if n > 1 and k in meta and k != "published")
    found = []
    if counts["published"] > 1 and "published" in meta:  # e.g. `published: false` added above a `published: true`
        meta["published"] = YamlBool(False, "repeated")
        found.append(Diagnostic(rel, "error", "published: given more than once; withheld"))
    if repeated:
        names = ", ".join(repr(k) for k in repeated[:5])
        more = f" and {len(repeated) - 5:,} more" if len(repeated) > 5 else ""  # one line, however many
        found.append(Diagnostic(rel, "warning", f"front matter: {names}{more} given more than once; the last is used"))
    return found


def read_file(path: Path, rel: str, max_bytes: int) -> FileContent | None:
    """Read one file. None when it vanished; diagnostics explain anything skipped or repaired."""
    content = FileContent(rel)
    note = content.diagnostics.append
    try:
        data = _read_bytes(path, max_bytes)
    except FileNotFoundError:
        return None
    except (ValueError, IsADirectoryError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        note(Diagnostic(rel, "error", f"skipped: {reason}"))
        return content
    text, how = _decode(data)
    if how:
        note(Diagnostic(rel, "warning", how))
    # Nearly every file holds nothing but LF and printable characters: then the character guards below have
    # nothing to find (UNSURE_CHAR covers each of their classes, and CR and the BOM), and one search does for all.
    plain = not UNSURE_CHAR.search(text)
    if not plain:
        if _BINARY.search(text) and len(_BINARY.findall(text)) > len(text) // 20:  # random bytes: 10%
            note(Diagnostic(rel, "error", "skipped: binary file"))
            return content
        if "\x00" in text:
            text = text.replace("\x00", "")
            note(Diagnostic(rel, "warning", "removed NUL bytes"))
        text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    if not HANDLER.detect(text):
        content.text = text
        return content
    try:
        front, body = HANDLER.split(text)
    except ValueError:
        note(Diagnostic(rel, "error", "skipped: front matter is never closed (no second '---' line)"))
        return content
    if not plain:
        front, removed = _YAML_REFUSED.subn("", front)
        if removed:
            reason = f"front matter: removed {removed} control character(s) YAML does not allow"
            note(Diagnostic(rel, "warning", reason))
        front, c1 = _C1.subn(_windows_1252, front)
        if c1:
            note(Diagnostic(rel, "warning", f"front matter: read {c1} C1 control character(s) as Windows-1252"))
    if _too_deep(front):
        note(Diagnostic(rel, "error", f"skipped: front matter nested deeper than {MAX_NESTING} levels"))
        return content
    try:
        meta = HANDLER.load(front, plain)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        opening = HANDLER.FM_BOUNDARY.match(text)  # the YAML starts where this first '---' match ends
        before = text.count("\n", 0, opening.end()) if opening else 0
        where = f" at line {before + mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        note(Diagnostic(rel, "error", f"skipped: invalid YAML front matter{where}: {problem}"))
        return content
    except RecursionError:
        note(Diagnostic(rel, "error", "skipped: front matter nested too deeply"))
        return content
    if not isinstance(meta, dict):
        kind = "empty" if meta is None else f"a {type(meta).__name__}, not a mapping of fields"
        note(Diagnostic(rel, "error", f"skipped: front matter is {kind}"))
        return content
    content.diagnostics += _duplicate_keys(rel, front, meta)
    content.meta = meta
    content.text = body.strip()
    return content
