"""LOAD, whole folder: list the article files safely, read each, attach full texts, resolve duplicate ids."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from feedd.articles import FileContent, is_ignored, read_file
from feedd.config import Config
from feedd.fields import to_article
from feedd.models import Article, Diagnostic
from feedd.text import match_key, repair


@dataclass
class Corpus:
    """Every article that could be read (published or not) and what was said about the rest."""

    articles: list[Article] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    rejected: int = 0
    orphans: int = 0


def list_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Yield (path, relative name) of candidate files, sorted, never leaving root.

    Symlinks are resolved and kept only when their target is inside root; directory loops are cut.
    """
    root = root.resolve()
    seen: set[tuple[int, int]] = set()

    def walk(folder: Path, rel: str) -> Iterator[tuple[Path, str]]:
        try:
            info = folder.stat()
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        if (info.st_dev, info.st_ino) in seen:
            return
        seen.add((info.st_dev, info.st_ino))
        for entry in entries:
            if is_ignored(entry.name):
                continue
            name = f"{rel}{entry.name}"
            path = Path(entry.path)
            if entry.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):
                    yield path, name  # dangling or looping: read_file reports it
                    continue
                if not target.is_relative_to(root):
                    yield Path("/dev/null/outside"), name
                    continue
                path = target
            try:
                mode = path.stat().st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                yield from walk(path, name + "/")
            else:
                yield path, name

    yield from walk(root, "")


def _load_one(path: Path, rel: str, config: Config) -> FileContent | None:
    if str(path) == "/dev/null/outside":
        reason = "skipped: symlink leads outside the articles folder"
        return FileContent(rel, diagnostics=[Diagnostic(rel, "error", reason)])
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return FileContent(rel, diagnostics=[Diagnostic(rel, "error", f"skipped: {exc.strerror or exc}")])
    if not stat.S_ISREG(mode):
        return FileContent(rel, diagnostics=[Diagnostic(rel, "warning", "skipped: not a regular file")])
    return read_file(path, rel, config.limits.max_file_bytes)


def load_corpus(config: Config) -> Corpus:
    """Read the whole articles folder. One bad file is reported and skipped, never fatal."""
    corpus = Corpus()
    root = config.paths.articles
    if not root.is_dir():
        corpus.diagnostics.append(Diagnostic(str(root), "error", "articles folder does not exist"))
        return corpus
    tz = ZoneInfo(config.site.timezone)
    texts: list[FileContent] = []
    for path, rel in list_files(root):
        content = _load_one(path, rel, config)
        if content is None:
            continue
        corpus.diagnostics.extend(content.diagnostics)
        if content.meta is None:
            failed = any(d.level == "error" for d in content.diagnostics)  # a decoding warning still reads it
            if content.text.strip() and not failed:
                texts.append(content)
            elif not failed:
                corpus.diagnostics.append(Diagnostic(rel, "warning", "skipped: empty file"))
            else:
                corpus.rejected += 1
            continue
        body = _clean_body(rel, content.text, corpus.diagnostics)
        article, notes = to_article(rel, content.meta, tz, body)
        corpus.diagnostics.extend(notes)
        if article is None:
            corpus.rejected += 1
        else:
            corpus.articles.append(article)
    corpus.articles = _unique(corpus.articles, corpus.diagnostics)
    corpus.articles = _attach_bodies(corpus.articles, texts, corpus)
    return corpus


def _clean_body(rel: str, text: str, diagnostics: list[Diagnostic]) -> str:
    cleaned, notes = repair(text)
    diagnostics.extend(Diagnostic(rel, "info" if n == "repaired mojibake" else "warning", f"body: {n}")
                       for n in notes)
    return cleaned.strip()


def _unique(articles: list[Article], diagnostics: list[Diagnostic]) -> list[Article]:
    """Two files, one id (the same link): the file whose path sorts first wins, the other is reported."""
    kept: dict[str, Article] = {}
    for article in sorted(articles, key=lambda a: a.source):
        if (first := kept.get(article.id)) is not None:
            diagnostics.append(Diagnostic(article.source, "warning",
                                          f"ignored: same link as {first.source}, which is kept"))
        else:
            kept[article.id] = article
    return list(kept.values())


def _attach_bodies(articles: list[Article], texts: list[FileContent], corpus: Corpus) -> list[Article]:
    """A plain-text file whose first non-empty line is an article's title becomes its body."""
    by_title: dict[str, list[int]] = {}
    for i, article in enumerate(articles):
        by_title.setdefault(match_key(article.title), []).append(i)
    result = list(articles)
    for content in texts:
        first, _, rest = content.text.strip().partition("\n")
        matches = by_title.get(match_key(first), [])
        if not matches:
            corpus.orphans += 1
            reason = f"orphan text: first line {first.strip()[:60]!r} is no article's title"
            corpus.diagnostics.append(Diagnostic(content.rel, "warning", reason))
            continue
        body = _clean_body(content.rel, rest, corpus.diagnostics)
        for i in matches:
            if result[i].body:
                corpus.diagnostics.append(Diagnostic(content.rel, "warning",
                                                     f"ignored: {result[i].source} already has a full text"))
            else:
                result[i] = replace(result[i], body=body)
    return result
