#!/usr/bin/env python3
"""Write a Hugo site from a feedd corpus, for the peer comparison in bench.py (issue 16). Untimed.

    python benchmarks/hugo_site.py CORPUS SITE [--mode yaml|toml] [--rss-limit 50]

CORPUS is a folder as gen_corpus.py writes it: article files (YAML front matter between `---` lines) and
full-text files (plain text whose first line is an article's title; the rest is its body). SITE gets
`config.toml` and `content/posts/<article file name>.md`, one per article:

- mode `yaml`: the article's front matter byte for byte, with three lines Hugo needs put before it: `date`
  (from publishedDateTime), `providers` (the provider's name) and `categories` (the category). Hugo reads
  `topics` as it is, and `published: false` as a draft (an undocumented alias of `draft: false`; a `draft`
  line as well would make Hugo warn once per file), so neither is added.
- mode `toml`: "trimmed TOML": only what Hugo uses (title, date, draft when unpublished, topics, providers,
  categories) between `+++` lines.

The body is the text of the article's full-text file, when there is one, without its title line; full-text
files that match no article (gen_corpus.py's orphans) are left out. The config renders RSS only: one feed per
topic, provider and category term plus the home feed (feedd's `all`), with the item limit feedd uses (50);
every other kind of page is disabled or never rendered (see CONFIG).

Only the standard library: front matter is read with regexes fitted to gen_corpus.py's layout (top-level keys
at the start of a line, strings as JSON-quoted or plain YAML scalars), which is much faster than a YAML
parser at 100k files; a file they do not fit is counted as skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

MODES = ("yaml", "toml")

# Hugo 0.111. Regular pages stay in every list (their term feeds need them) but are never rendered
# (`_build.render = "link"` through a cascade: they keep their permalinks, the feeds' links); the home page
# and the terms have RSS as their only output; the section page, the taxonomy lists (/topics/ itself), the
# sitemap, robots.txt and the 404 page are disabled.
CONFIG = """\
baseURL = "http://127.0.0.1:8080/"
title = "Bench"
languageCode = "en"
disableKinds = ["section", "taxonomy", "sitemap", "robotsTXT", "404"]
rssLimit = {rss_limit}
enableRobotsTXT = false
# Hugo 0.111 logs an ERROR (and fails the build) for "taxonomy" in disableKinds unless told it is meant.
ignoreErrors = ["error-disable-taxonomy"]
# feedd's front matter has `published: true|false`; keep Hugo from trying it as a publish date.
[frontmatter]
  date = ["date"]
  publishDate = ["publishDate"]
  lastmod = ["lastmod", ":fileModTime"]
  expiryDate = ["expiryDate"]
[taxonomies]
  topic = "topics"
  provider = "providers"
  category = "categories"
[outputs]
  home = ["RSS"]
  term = ["RSS"]
  page = []
  section = []
  taxonomy = []
[[cascade]]
  [cascade._build]
    render = "link"
    list = "always"
  [cascade._target]
    kind = "page"
"""

_FM = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*(?:\n|\Z)", re.S)
_KEY = re.compile(r"^(title|publishedDateTime|published|category):[ \t]*(.*?)[ \t]*$", re.M)
TOPICS = re.compile(r"^topics:[ \t]*\n((?:[ \t]+-[^\n]*\n)+)", re.M)
_TOPICS_EMPTY = re.compile(r"^topics:[ \t]*\[\][ \t]*$", re.M)
PROVIDER = re.compile(r"^provider:[ \t]*\n(?:[ \t]+[^\n]*\n)*?[ \t]+name:[ \t]*(.+?)[ \t]*$", re.M)


def scalar(raw: str) -> str:
    """A one-line YAML scalar as gen_corpus.py writes it: JSON-quoted, single-quoted or plain."""
    raw = raw.strip()
    if raw.startswith('"'):
        return json.loads(raw)
    if raw.startswith("'") and raw.endswith("'"):
        return raw[1:-1].replace("''", "'")
    return raw


def _toml(value: str) -> str:
    """A TOML basic string: JSON's escapes are all valid TOML escapes."""
    return json.dumps(value, ensure_ascii=False)


@dataclass
class Article:
    name: str  # the corpus file's name without its extension
    front: str  # the front matter's text, between the --- lines
    title: str
    date: str
    published: bool
    category: str | None
    topics: list[str]
    provider: str | None


@dataclass
class SiteStats:
    articles: int = 0
    drafts: int = 0
    bodies: int = 0
    orphans: int = 0
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


def read_article(name: str, text: str) -> Article | None:
    m = _FM.match(text)
    if not m:
        return None
    front = m.group(1)
    keys = {k: v for k, v in _KEY.findall(front)}
    if "title" not in keys or "publishedDateTime" not in keys:
        return None
    t = TOPICS.search(front)
    topics = [scalar(line.strip()[1:]) for line in t.group(1).splitlines()] if t else []
    if not t and not _TOPICS_EMPTY.search(front) and re.search(r"^topics:", front, re.M):
        return None  # a topics layout the regexes do not know
    p = PROVIDER.search(front)
    return Article(name, front, scalar(keys["title"]), scalar(keys["publishedDateTime"]),
                   keys.get("published", "true").strip().lower() not in ("false", "no", "off"),
                   scalar(keys["category"]) if keys.get("category") else None, topics,
                   scalar(p.group(1)) if p else None)


def yaml_page(a: Article, body: str) -> str:
    extra = [f"date: {a.date}",
             "providers: " + (json.dumps([a.provider], ensure_ascii=False) if a.provider else "[]"),
             "categories: " + (json.dumps([a.category], ensure_ascii=False) if a.category else "[]")]
    return "---\n" + "\n".join(extra) + "\n" + a.front + "---\n" + body


def toml_page(a: Article, body: str) -> str:
    lines = [f"title = {_toml(a.title)}", f"date = {a.date}"]
    if not a.published:
        lines.append("draft = true")
    lines.append("topics = [" + ", ".join(_toml(t) for t in a.topics) + "]")
    lines.append("providers = [" + (_toml(a.provider) if a.provider else "") + "]")
    lines.append("categories = [" + (_toml(a.category) if a.category else "") + "]")
    return "+++\n" + "\n".join(lines) + "\n+++\n" + body


def write_sites(corpus: Path, sites: dict[str, Path], rss_limit: int = 50) -> SiteStats:
    """Write one Hugo site per mode ({"yaml": dir, "toml": dir}) from one pass over the corpus."""
    t0 = time.perf_counter()
    for mode in sites:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
    articles: list[Article] = []
    bodies: dict[str, str] = {}  # first line → the rest
    n_bodies = 0
    stats = SiteStats()
    for entry in sorted(os.scandir(corpus), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
            continue
        text = Path(entry.path).read_bytes().decode("utf-8", errors="replace")
        if text.startswith("---"):
            a = read_article(Path(entry.name).stem, text)
            if a is None:
                stats.skipped.append(entry.name)
            else:
                articles.append(a)
        else:
            first, _, rest = text.partition("\n")
            bodies.setdefault(first.strip(), rest.lstrip("\n"))
            n_bodies += 1
    for site in sites.values():
        if site.exists():
            shutil.rmtree(site)
        posts = site / "content" / "posts"
        posts.mkdir(parents=True)
        (site / "config.toml").write_text(CONFIG.format(rss_limit=rss_limit), encoding="utf-8")
    page = {"yaml": yaml_page, "toml": toml_page}
    used: set[str] = set()
    for a in articles:
        body = bodies.get(a.title, "")
        if a.title in bodies:
            used.add(a.title)
        for mode, site in sites.items():
            with open(site / "content" / "posts" / f"{a.name}.md", "w", encoding="utf-8") as fh:
                fh.write(page[mode](a, body))
        stats.drafts += not a.published
    stats.articles = len(articles)
    stats.bodies = len(used)
    stats.orphans = n_bodies - len(used)
    stats.seconds = time.perf_counter() - t0
    return stats


def edit_title(site: Path, name: str, title: str) -> str:
    """Replace the title of content/posts/<name>.md (as an editor would: temp file, rename); return the old text."""
    path = site / "content" / "posts" / f"{name}.md"
    old = path.read_text(encoding="utf-8")
    if old.startswith("+++"):
        new, n = re.subn(r"^title = .*$", lambda _m: f"title = {_toml(title)}", old, count=1, flags=re.M)
    else:
        new, n = re.subn(r"^title:.*$", lambda _m: "title: " + json.dumps(title, ensure_ascii=False), old, count=1,
                         flags=re.M)
    if n != 1:
        raise RuntimeError(f"{path}: no title line")
    restore(path, new)
    return old


def restore(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("site", type=Path, help="the site folder (replaced)")
    ap.add_argument("--mode", choices=MODES, default="yaml", help="front matter: yaml as is, or trimmed toml")
    ap.add_argument("--rss-limit", type=int, default=50, help="items per feed (feedd's defaults.limit)")
    args = ap.parse_args()
    stats = write_sites(args.corpus, {args.mode: args.site}, args.rss_limit)
    print(f"{args.site}: {stats.articles} articles ({stats.drafts} drafts), {stats.bodies} with a body, "
          f"{stats.orphans} full-text files matched no article, {len(stats.skipped)} skipped; "
          f"{stats.seconds:.1f}s", file=sys.stderr)
    return 1 if stats.skipped else 0


if __name__ == "__main__":
    sys.exit(main())
