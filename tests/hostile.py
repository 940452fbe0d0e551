"""A deterministic hostile corpus: every kind of bad article file issue 5 lists, with its expected outcome.

`CASES` is the corpus: each case is one file (its name, its bytes or a file system action) and what a build
must make of it: `published` as written, `repaired` (published, with text repaired and a diagnostic saying
so) or `skipped` (in no feed). `diagnostic` is a substring one of the file's diagnostics must hold; None means
the file must have no warning or error at all. `write_corpus(folder)` lays the whole corpus out.

Races (a file vanishing or changing between listing and reading, the folder deleted and re-created while
`feedd run` runs) cannot be files: tests/test_hostile.py drives them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

LINK = "https://hostile.example/"
WHEN = "2021-01-21T12:00:00Z"
SECRET = "LEAKED-SECRET-7f3a"  # planted where nothing may come from: it must appear in no output file
Outcome = Literal["published", "repaired", "skipped"]


@dataclass(frozen=True)
class Case:
    id: str
    name: str | bytes  # bytes: a name that is not valid UTF-8
    data: bytes | None = None
    outcome: Outcome = "published"
    diagnostic: str | None = None
    title: str | None = None  # the title a reader sees (published and repaired cases); default f"Hostile {id}"
    link: str | None = None  # the item's link in the feeds; default LINK + id
    body: str | None = None  # text the item's full content must hold
    make: Callable[[Path], None] | None = None  # a file system action on the file's path, after data is written
    extra: dict[str, bytes] = field(default_factory=dict)  # other files the case needs (e.g. the article of a text)
    absent: tuple[str, ...] = ()  # text no output file may contain
    as_user: bool = False  # only meaningful for a non-root reader

    @property
    def rel(self) -> str:
        """The file's name as diagnostics give it (undecodable bytes as \\xNN, a newline as \\n)."""
        name = self.name if isinstance(self.name, bytes) else self.name.encode()
        return name.decode("utf-8", "backslashreplace").replace("\n", "\\n")

    @property
    def url(self) -> str:
        return self.link or LINK + self.id

    @property
    def expected_title(self) -> str:
        return self.title if self.title is not None else f"Hostile {self.id}"


def front(key: str, *lines: str, title: str | None = None, body: str = "", **fields: str | None) -> str:
    """Front matter text: a valid article (title, webUrl, publishedDateTime) with overrides; None drops a field."""
    values: dict[str, str | None] = {"title": f'"{title or f"Hostile {key}"}"', "webUrl": f'"{LINK}{key}"',
                                     "publishedDateTime": WHEN}
    values.update(fields)
    text = "---\n" + "".join(f"{k}: {v}\n" for k, v in values.items() if v is not None)
    return text + "".join(f"{line}\n" for line in lines) + "---\n" + body


def fm(key: str, *lines: str, **kwargs: str | None) -> bytes:
    return front(key, *lines, **kwargs).encode("utf-8")


def _symlink(target: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.unlink(missing_ok=True)
        path.symlink_to(target)
    return make


def _fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def _sparse(size: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        with open(path, "r+b") as handle:
            handle.truncate(size)  # sparse: no disk space used
    return make


def _loop(path: Path) -> None:
    path.unlink(missing_ok=True)
    partner = path.with_name(path.name + "-partner")
    path.symlink_to(partner.name)
    partner.symlink_to(path.name)


def _unreadable(path: Path) -> None:
    path.chmod(0)


CTRL = "\x01\x07\x1b\x7f\ufffe"  # C0, DEL, U+FFFE: XML or YAML (or both) refuse each
BOMB = "\n".join(['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'] + [
    f"{cur}: &{cur} [" + ",".join(f"*{prev}" for _ in range(9)) + "]" for prev, cur in zip("abcdefgh", "bcdefghi",
                                                                                          strict=True)])
RTL = "שלום עולם مرحبا بالعالم \u202egnp.exe 👩‍👩‍👧‍👦 🇺🇦"

CASES: list[Case] = [
    # --- encodings -----------------------------------------------------------------------------------
    Case("utf8-bom", "utf8-bom.md", b"\xef\xbb\xbf" + fm("utf8-bom", title="Hostile utf8-bom café"),
         title="Hostile utf8-bom café"),
    Case("utf16", "utf16.md", front("utf16", title="Hostile utf16 café").encode("utf-16"),
         diagnostic="decoded as UTF-16", title="Hostile utf16 café"),
    Case("utf16-lone-surrogate", "utf16-lone-surrogate.md",
         front("utf16-lone-surrogate", title="Hostile utf16-lone-surrogate \ud800x").encode("utf-16", "surrogatepass"),
         "repaired", "control character(s) YAML does not allow", "Hostile utf16-lone-surrogate x"),
    Case("latin1", "latin1.md", fm("latin1", title="Hostile latin1 café").decode().encode("latin-1"),
         "repaired", "decoded as Windows-1252", "Hostile latin1 café"),
    Case("cesu-lone-surrogate", "cesu.md",
         fm("cesu-lone-surrogate", title="Hostile cesu café LONE x").replace(b"LONE", b"\xed\xa0\x80"),
         "repaired", "encoded surrogates", "Hostile cesu café x"),
    Case("cesu-pair", "cesu-pair.md", fm("cesu-pair", title="Hostile cesu-pair PAIR").replace(  # 😀 in CESU-8
         b"PAIR", "\ud83d\ude00".encode("utf-8", "surrogatepass")), "repaired", "encoded surrogates",
         "Hostile cesu-pair 😀"),
    Case("crlf", "crlf.md", fm("crlf", body="Para one.\n\nPara two.\n").replace(b"\n", b"\r\n"),
         body="<p>Para one.</p><p>Para two.</p>"),
    Case("cr", "cr.md", fm("cr", body="Para one.\n\nPara two.\n").replace(b"\n", b"\r"),
         body="<p>Para one.</p><p>Para two.</p>"),
    Case("nul", "nul.md", fm("nul", title="Hostile nul\x00", body="Body \x00text " + "padding " * 40),
         "repaired", "removed NUL bytes", body="Body text padding"),
    # --- front matter shape ------------------------------------------------------------------------------
    Case("never-closed", "never-closed.md",
         f'---\ntitle: "Hostile never-closed"\nwebUrl: "{LINK}never-closed"\nsecured: {SECRET}\n\n'
         f"{SECRET} body\n".encode(), "skipped", "never closed", absent=(SECRET,),
         # if the YAML became a plain text, its first line "---" would be this article's body
         extra={"decoy-dashes.md": fm("decoy-dashes", title="---")}),
    Case("empty-front-matter", "empty-front-matter.md", b"---\n---\nHostile body\n", "skipped", "empty"),
    Case("list-front-matter", "list-front-matter.md", b"---\n- title\n- webUrl\n---\n", "skipped", "list"),
    Case("scalar-front-matter", "scalar-front-matter.md", b"---\njust words\n---\n", "skipped", "str"),
    Case("rules-in-plain-text", "rules-in-plain-text.txt",
         b"Hostile rules-article\n\nBefore.\n\n---\ntitle: injected\n---\n\nAfter.\n",
         link=LINK + "rules-article", title="Hostile rules-article", body="<p>--- title: injected ---</p><p>After.</p>",
         extra={"rules-article.md": fm("rules-article")}),
    Case("tab-after-colon", "tab-after-colon.md", fm("tab-after-colon").replace(b"title: ", b"title:\t")),
    Case("tab-indent", "tab-indent.md", fm("tab-indent", "provider:", "\tname: Tabbed"), "skipped",
         "invalid YAML front matter at line 6"),
    Case("duplicate-keys", "duplicate-keys.md", fm("duplicate-keys", 'title: "Hostile duplicate-keys second"'),
         "published", "'title' given more than once", "Hostile duplicate-keys second"),
    Case("many-duplicate-keys", "many-duplicate-keys.md", fm("many-duplicate-keys", *(
         f"k{i}: {v}" for i in range(20_000) for v in "ab")), diagnostic="and 19,995 more given more than once"),
    Case("duplicate-published", "duplicate-published.md",
         b"---\npublished: false\n" + fm("duplicate-published", "published: true")[4:],
         "skipped", "published: given more than once; withheld"),
    Case("json-first-line", "json-first-line.txt", b'{"title": "Hostile json", "webUrl": "x"}\n\nBody.\n',
         "skipped", "orphan text"),
    # --- YAML traps -------------------------------------------------------------------------------------
    Case("title-no", "title-no.md", front("title-no").replace('"Hostile title-no"', "no").encode(),
         diagnostic="YAML read 'no' as a boolean", title="no"),
    Case("title-date", "title-date.md", front("title-date").replace('"Hostile title-date"', "2021-01-01").encode(),
         title="2021-01-01"),
    Case("title-number", "title-number.md", front("title-number").replace('"Hostile title-number"', "1.50").encode(),
         diagnostic="kept as text", title="1.50"),
    Case("title-sexagesimal", "title-sexagesimal.md",
         front("title-sexagesimal").replace('"Hostile title-sexagesimal"', "1:20").encode(),
         diagnostic="YAML read '1:20' as a number", title="1:20"),
    Case("published-quoted-false", "published-quoted-false.md", fm("published-quoted-false", published="'false'"),
         "skipped", "published: expected true or false, got the text 'false'"),
    Case("published-quoted-no", "published-quoted-no.md", fm("published-quoted-no", published='"no"'),
         "skipped", "published: expected true or false, got the text 'no'"),
    Case("published-zero", "published-zero.md", fm("published-zero", published="0"),
         "skipped", "published: expected true or false, got '0'"),
    Case("date-feb-30", "date-feb-30.md", fm("date-feb-30", publishedDateTime="2021-02-30T10:00:00Z"),
         "skipped", "publishedDateTime: invalid '2021-02-30"),
    Case("leap-second", "leap-second.md", fm("leap-second", publishedDateTime="2016-12-31T23:59:60Z"),
         "skipped", "publishedDateTime: invalid '2016-12-31T23:59:60Z'"),
    Case("naive-time", "naive-time.md", fm("naive-time", publishedDateTime="2021-01-21 12:00:00")),
    Case("date-only", "date-only.md", fm("date-only", publishedDateTime="2021-01-21"),
         diagnostic="has no time; using midnight"),
    # dates a feed cannot carry (RFC 822 wants 4 digits; year 1 became 2001 in feedparser): no embargo, an error
    Case("year-one", "year-one.md", fm("year-one", publishedDateTime="0001-01-01T00:00:00Z"),
         "skipped", "publishedDateTime: '0001-01-01T00:00:00Z' is before 1970; not published"),
    Case("year-one-offset", "year-one-offset.md", fm("year-one-offset", publishedDateTime="0001-01-01T00:00:00+05:00"),
         "skipped", "publishedDateTime: '0001-01-01T00:00:00+05:00' is before 1970"),
    Case("year-999", "year-999.md", fm("year-999", publishedDateTime="0999-12-31T23:59:59Z"),
         "skipped", "publishedDateTime: '0999-12-31T23:59:59Z' is before 1970"),
    Case("year-1969", "year-1969.md", fm("year-1969", publishedDateTime="1970-01-01T00:29:59+00:30"),
         "skipped", "is before 1970"),
    Case("year-1970", "year-1970.md", fm("year-1970", publishedDateTime="1970-01-01T00:00:00Z")),
    Case("embargo-9-years", "embargo-9-years.md", fm("embargo-9-years", publishedDateTime="2034-01-01T00:00:00Z"),
         "skipped"),  # an embargo: no diagnostic (10 years ahead is judged by the clock when the file is read)
    Case("far-future", "far-future.md", fm("far-future", publishedDateTime="2999-01-01T00:00:00Z"),
         "skipped", "publishedDateTime: '2999-01-01T00:00:00Z' is more than 10 years ahead; not published"),
    Case("year-9999", "year-9999.md", fm("year-9999", publishedDateTime="9999-12-31T23:59:59Z"),
         "skipped", "is more than 10 years ahead"),
    Case("year-10000", "year-10000.md", fm("year-10000", publishedDateTime="10000-01-01T00:00:00Z"),
         "skipped", "publishedDateTime: invalid '10000-01-01T00:00:00Z' (a year past 9999)"),
    Case("offset-25h", "offset-25h.md", fm("offset-25h", publishedDateTime="2021-01-21T12:00:00+25:00"),
         "skipped", "publishedDateTime: invalid '2021-01-21T12:00:00+25:00' (an offset of 24 hours or more)"),
    Case("year-9999-offset", "year-9999-offset.md",
         fm("year-9999-offset", publishedDateTime="9999-12-31T23:59:59-01:00"),
         "skipped", "publishedDateTime: '9999-12-31T23:59:59-01:00' is more than 10 years ahead"),
    Case("alias-bomb", "alias-bomb.md", fm("alias-bomb", BOMB, "topics: *i", "excerpt: *i"),
         "published", "excerpt: expected text, got a list"),
    Case("deep-nesting", "deep-nesting.md", fm("deep-nesting", "x: " + "[" * 100_000), "skipped",
         "nested deeper than 64 levels"),
    Case("deep-block-nesting", "deep-block-nesting.md", fm("deep-block-nesting", "x:\n" + "- " * 5000 + "y"),
         "skipped", "nested deeper than 64 levels"),
    Case("python-tag", "python-tag.md", fm("python-tag", f"x: !!python/object/apply:os.system ['echo {SECRET}']"),
         "skipped", "could not determine a constructor for the tag"),
    # --- fields -------------------------------------------------------------------------------------------
    Case("control-characters", "control-characters.md", fm(
        "control-characters", f'excerpt: "Ex{CTRL}cerpt"', f'category: "Cat{CTRL}egory"', f'type: "Ty{CTRL}pe"',
        f'provider: {{name: "Pro{CTRL}vider", domain: "ctrl{CTRL}.example"}}', f'topics: ["To{CTRL}pic"]',
        f'related: [{{title: "Rel{CTRL}ated", webUrl: "https://r.example/ctrl"}}]',
        title=f"Hostile control{CTRL}-characters", body=f"Bo{CTRL}dy text"),
        "repaired", "removed 40 control character(s) YAML does not allow", "Hostile control-characters",
         body="dy text</p>"),  # DEL is legal in XML: the body keeps it
    Case("c1-mojibake", "c1-mojibake.md", fm("c1-mojibake", title="Hostile c1 world\xe2\x80\x99s"), "repaired",
         "read 2 C1 control character(s) as Windows-1252", "Hostile c1 world’s"),
    Case("escaped-control-characters", "escaped-control-characters.md", fm(
        "escaped-control-characters", 'excerpt: "Ex\\x01\\uFFFEcerpt"', 'topics: ["To\\x0bpic"]',
        title="Hostile escaped\\x02-control-characters\\uFFFF"),
        "repaired", "title: removed 2 character(s) that XML does not allow", "Hostile escaped-control-characters"),
    Case("megabyte-title", "megabyte-title.md", fm("megabyte-title", title="Hostile megabyte-title " + "x" * 1_000_000),
         "repaired", "characters, cut to 1,000", "Hostile megabyte-title " + "x" * (1000 - 23) + "…"),
    Case("html-title", "html-title.md", fm("html-title", title="<script>alert(1)</script> Hostile & <b>bold</b>"),
         title="<script>alert(1)</script> Hostile & <b>bold</b>", absent=("<script", "<b>")),
    Case("javascript-link", "javascript-link.md", fm("javascript-link", webUrl='"javascript:alert(1)"'),
         "skipped", "webUrl: 'javascript:alert(1)' is not an absolute http(s) URL", absent=("javascript:",)),
    Case("javascript-image", "javascript-image.md", fm(
        "javascript-image", "images: [{url: 'javascript:alert(2)'}, {url: 'https://cdn.example/ok.jpg'}]",
        "provider: {name: JS, logo: 'javascript:alert(3)'}",
        "related: [{title: JS, webUrl: 'javascript:alert(4)'}]"),
        "repaired", "images.url: 'javascript:alert(2)' is not an absolute http(s) URL", absent=("javascript:",)),
    # URLs: what RFC 3986 does not allow is percent-encoded where that keeps the meaning, else the field goes
    Case("html-link", "html-link.md", fm("html-link", webUrl=f"'{LINK}html-link?q=\"><script>alert(5)</script>'"),
         "repaired", "webUrl: 'https://hostile.example/html-link?q=\"><script>alert(5)</script>' percent-encoded as",
         link=LINK + "html-link?q=%22%3E%3Cscript%3Ealert(5)%3C/script%3E", absent=("<script",)),
    Case("space-link", "space-link.md", fm("space-link", webUrl=f"'{LINK}space link/a|b'"),
         "repaired", f"percent-encoded as '{LINK}space%20link/a%7Cb'", link=LINK + "space%20link/a%7Cb"),
    Case("iri-link", "iri-link.md", fm("iri-link", webUrl=f"'{LINK}iri-lïnk?q=café#ça'"),
         "repaired", "percent-encoded as", link=LINK + "iri-l%C3%AFnk?q=caf%C3%A9#%C3%A7a"),
    Case("idn-link", "idn-link.md", fm("idn-link", webUrl="'https://bücher.example/idn-link'"),
         "repaired", "percent-encoded as 'https://xn--bcher-kva.example/idn-link'",
         link="https://xn--bcher-kva.example/idn-link"),
    Case("backslash-link", "backslash-link.md", fm("backslash-link", webUrl=f"'{LINK[:-1]}\\@evil.example/'"),
         "skipped", "is not a valid URL (a backslash"),
    Case("tab-link", "tab-link.md", fm("tab-link", webUrl=f'"{LINK}tab\tlink"'),
         "skipped", "is not a valid URL (a control character)"),
    Case("markup-host-link", "markup-host-link.md", fm("markup-host-link", webUrl="'https://x\"><script>/'"),
         "skipped", "is not a valid URL (a bad host name)"),
    Case("bad-urls", "bad-urls.md", fm(
        "bad-urls", "images: [{url: 'data:image/png;base64,iVBOR'}, {url: 'https://cdn.example/a b.jpg'}]",
        "provider: {name: Bücher, domain: Bücher.example, logo: 'https://cdn.example/\"logo\".png'}",
        "related: [{title: Rel, webUrl: '//hostile.example/protocol-relative'}, {title: Ok, webUrl: 'https://r.example/ü'}]"),
        "repaired", "images.url: 'data:image/png;base64,iVBOR' is not an absolute http(s) URL", absent=("data:image",)),
    Case("relative-link", "relative-link.md", fm("relative-link", webUrl='"/story/relative"'),
         "skipped", "is not an absolute http(s) URL"),
    Case("ftp-link", "ftp-link.md", fm("ftp-link", webUrl='"ftp://hostile.example/ftp-link"'),
         "skipped", "is not an absolute http(s) URL"),
    Case("relative-web-url", "relative-web-url.md", fm(
        "relative-web-url", f'originalUrl: "{LINK}relative-web-url"', webUrl='"story/x"'),
         "repaired", "webUrl: 'story/x' is not an absolute http(s) URL", link=LINK + "relative-web-url"),
    Case("ten-thousand-topics", "ten-thousand-topics.md",
         fm("ten-thousand-topics", "topics: [" + ", ".join(f"t{i}" for i in range(10_000)) + "]"),
         "repaired", "10,000 topics, kept the first 50"),
    Case("duplicate-topics", "duplicate-topics.md",
         fm("duplicate-topics", 'topics: ["AI Hardware", "ai hardware", "AI  Hardware", " AI\tHARDWARE ", "AI"]')),
    Case("empty-provider", "empty-provider.md", fm("empty-provider", "provider: {name: '', domain: ''}")),
    Case("thousands-of-related", "thousands-of-related.md", fm("thousands-of-related", "related:", *(
        f"  - {{title: R{i}, webUrl: 'https://r.example/{i}'}}" for i in range(5000))),
         "repaired", "related: 5,000 items, kept the first 20"),
    Case("images-without-urls", "images-without-urls.md",
         fm("images-without-urls", "images: [{width: 10}, {url: ''}, {height: 3, url: null}, not-a-mapping]"),
         "repaired", "images: 4 without a url; ignored"),
    Case("emoji-rtl", "emoji-rtl.md", fm("emoji-rtl", title=f"Hostile {RTL}"), title=f"Hostile {RTL}"),
    # --- the file system -------------------------------------------------------------------------------------
    Case("empty-file", "empty-file.md", b"", "skipped", "skipped: empty file"),
    Case("binary-file", "binary-file.md", bytes(range(256)) * 64, "skipped", "skipped: binary file"),
    Case("hundred-megabytes", "hundred-megabytes.md", fm("hundred-megabytes"), "skipped",
         "104,857,600 bytes, over the", make=_sparse(100 * 1024 * 1024)),
    Case("symlink-passwd", "symlink-passwd.md", b"", "skipped", "symlink leads outside the articles folder",
         make=_symlink("/etc/passwd"), absent=("root:x:0:0",)),
    Case("symlink-dev-zero", "symlink-dev-zero.md", b"", "skipped", "symlink leads outside the articles folder",
         make=_symlink("/dev/zero")),
    Case("symlink-loop", "symlink-loop.md", b"", "skipped", "Too many levels of symbolic links", make=_loop),
    Case("fifo", "fifo.md", b"", "skipped", "skipped: not a regular file", make=_fifo),
    Case("unreadable", "unreadable.md", fm("unreadable"), "skipped", "skipped: Permission denied",
         make=_unreadable, as_user=True),
    Case("newline-name", "newline\nname.md", fm("newline-name")),
    Case("newline-name-bad", "newline\nname-bad.md", fm("newline-name-bad", published="'no'"), "skipped",
         "published: expected true or false"),
    Case("invalid-utf8-name", b"invalid-\xff\xfe-name.md", fm("invalid-utf8-name")),
]

def write_case(folder: Path, case: Case) -> None:
    """Lay one case out in folder (its extra files too)."""
    for name, data in case.extra.items():
        (folder / name).write_bytes(data)
    path = Path(os.fsdecode(os.path.join(os.fsencode(folder), os.fsencode(case.name))))
    if case.data is not None:
        path.write_bytes(case.data)
    if case.make is not None:
        case.make(path)


def write_corpus(folder: Path, cases: list[Case] | None = None) -> None:
    """Every case (by default) in one folder."""
    for case in CASES if cases is None else cases:
        write_case(folder, case)
