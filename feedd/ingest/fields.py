"""MODEL: front matter → a typed Article through one table of field parsers.

Later stages never see raw metadata: anything not in FIELDS (e.g. `secured`) is dropped here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, tzinfo
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from feedd.ingest.text import one_line, repair
from feedd.ingest.yamlload import YamlBool, YamlFloat, YamlInt
from feedd.models import Article, Diagnostic, Image, Provider, Related, url_urn
from feedd.urls import URI_CHARS, clean_url, domain_url, only_non_ascii_encoded

MAX_TOPICS = 50
MAX_RELATED = 20
MAX_IMAGES = 10
MAX_TITLE = 1000
MAX_EXCERPT = 5000
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LONG_YEAR = re.compile(r"[+-]?\d{5,}-")
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # before it, a publication date is a placeholder (0001-01-01)
MAX_AHEAD_YEARS = 10  # further ahead than this, a date is a typo, not an embargo
# An ordinary absolute http(s) URL that is already valid RFC 3986: ASCII host name, optional short port, only
# characters a URI allows. Everything it matches passes the full check in Fields.url unchanged; anything else
# takes the full check. Possessive quantifiers: a long URL with a bad character at its end fails in linear time.
_PLAIN_URL = re.compile(r"[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9][A-Za-z0-9.-]*+(?::[0-9]{1,4})?"
                        rf"(?:[/?](?:{URI_CHARS}++|%[0-9A-Fa-f]{{2}})*+)?(?:#(?:{URI_CHARS}++|%[0-9A-Fa-f]{{2}})*+)?")
_MISSING = object()  # `published` absent, unlike `published:` written with no value
# A host name (letters of any script, digits, inner `-` or `_`, dot-separated): the domain becomes https://<domain>/.
_DOMAIN = re.compile(r"[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*")


class Fields:
    """Collects the diagnostics of one article while its fields are parsed."""

    def __init__(self, rel: str, tz: tzinfo, now: datetime | None = None) -> None:
        self.rel, self.tz, self.now = rel, tz, now
        self.diagnostics: list[Diagnostic] = []
        self.link_as_written: str | None = None  # the article's link before any percent-encoding: its id's source

    def note(self, level: str, reason: str) -> None:
        self.diagnostics.append(Diagnostic(self.rel, level, reason))  # type: ignore[arg-type]

    def text(self, name: str, value: Any, limit: int = MAX_TITLE) -> str | None:
        if value is None:
            return None
        if isinstance(value, YamlBool | YamlInt | YamlFloat):
            self.note("warning", f"{name}: YAML read {value.source!r} as a {_kind(value)}; kept as text (quote it)")
            value = value.source
        elif not isinstance(value, str):
            self.note("error", f"{name}: expected text, got a {_kind(value)}; ignored")
            return None
        cleaned, notes = (_cleaned if len(value) <= SHORT else _cleaned.__wrapped__)(value, limit)
        for level, reason in notes:
            self.note(level, f"{name}: {reason}")
        return cleaned

    def url(self, name: str, value: Any) -> str | None:
        """An absolute http(s) URL valid per RFC 3986: what it cannot hold percent-encoded, else None."""
        if value is None or value == "":
            return None
        text = value.strip() if isinstance(value, str) else None
        if text and _PLAIN_URL.fullmatch(text):
            return text
        url, problem = clean_url(text) if text else (None, "")
        shown = repr(str(value)[:80])
        if url is None:
            what = f"is not a valid URL ({problem})" if problem else "is not an absolute http(s) URL"
            self.note("warning", f"{name}: {shown} {what}; ignored")
        elif url != text:
            self.note("info" if only_non_ascii_encoded(text) else "warning",  # type: ignore[arg-type]
                      f"{name}: {shown} percent-encoded as {url[:120]!r}")
        return url

    def number(self, name: str, value: Any) -> float | None:
        if value is None or isinstance(value, YamlBool):
            return None
        if isinstance(value, int | float):
            return float(value)
        self.note("warning", f"{name}: expected a number, got {str(value)[:40]!r}; ignored")
        return None

    def flag(self, value: Any) -> bool:
        """`published`: only a real boolean publishes; anything else (even an empty value) fails closed."""
        if value is _MISSING:
            return True
        if isinstance(value, YamlBool):
            return value.value
        got = "an empty value" if value is None else _spelling(value)
        self.note("error", f"published: expected true or false, got {got}; withheld")
        return False

    def when(self, value: Any) -> datetime | None:
        if value is None or value == "":
            self.note("error", "publishedDateTime: missing; not published")
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            value = value.isoformat()
        if not isinstance(value, str):
            self.note("error", f"publishedDateTime: expected a date and time, got {_spelling(value)}; not published")
            return None
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            self.note("error", f"publishedDateTime: invalid {text[:40]!r} ({_invalid(text, exc)}); not published")
            return None
        if _DATE_ONLY.match(text):
            self.note("warning", f"publishedDateTime: {text} has no time; using midnight in the site time zone")
            parsed = datetime.combine(parsed.date(), time(0))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self.tz)
        try:
            moment: datetime | None = parsed.astimezone(UTC)
        except (OverflowError, ValueError):  # year 1 or 9999, moved past the ends of the calendar by its offset
            moment = None
        if (moment < EARLIEST) if moment else parsed.year < 1970:
            self.note("error", f"publishedDateTime: {text!r} is before 1970; not published (a placeholder date? "
                               "write when the article was published)")
            return None
        if not moment or moment > _years_after(self.now or datetime.now(UTC), MAX_AHEAD_YEARS):
            self.note("error", f"publishedDateTime: {text!r} is more than {MAX_AHEAD_YEARS} years ahead; not "
                               "published (a typo? an embargo is the date it lifts, at most "
                               f"{MAX_AHEAD_YEARS} years ahead)")
            return None
        return moment


SHORT = 100  # text up to this long is kept cleaned: topics, provider names, categories repeat in most files


@lru_cache(maxsize=4096)
def _cleaned(value: str, limit: int) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """A text field repaired, on one line and within `limit`, with the notes of what was done. Of the text
    fields of 3,000 articles, 70 % repeat an earlier one (each topic, provider, category and type)."""
    cleaned, repairs = repair(value)
    notes = [("info" if n == "repaired mojibake" else "warning", n) for n in repairs]
    cleaned = one_line(cleaned)
    if len(cleaned) > limit:
        notes.append(("warning", f"{len(cleaned):,} characters, cut to {limit:,}"))
        cleaned = cleaned[:limit].rstrip() + "…"
    return cleaned or None, tuple(notes)


def _invalid(text: str, exc: ValueError) -> str:
    """What is wrong with a date datetime refuses, in the publisher's terms where Python's are obscure."""
    if _LONG_YEAR.match(text):
        return "a year past 9999"
    return "an offset of 24 hours or more" if str(exc).startswith("offset must be") else str(exc)


def _years_after(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def _kind(value: Any) -> str:
    if isinstance(value, YamlBool):
        return "boolean"
    return {"YamlInt": "number", "YamlFloat": "number", "dict": "mapping", "list": "list"}.get(
        type(value).__name__, type(value).__name__)


def _spelling(value: Any) -> str:
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"{getattr(value, 'source', value)!r} (a {_kind(value)})"


def normalise_link(link: str) -> str:
    """The part of a URL that names the article: scheme, `www.`, trailing slash and fragment ignored."""
    parts = urlsplit(link.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    port = f":{parts.port}" if parts.port and parts.port not in (80, 443) else ""
    path = parts.path.rstrip("/")
    return f"{host}{port}{path}" + (f"?{parts.query}" if parts.query else "")


def article_id(link: str | None, rel: str) -> str:
    """A stable, valid Atom id: from the normalised link, else from the file's relative path (uuid5 of the URL
    namespace, as url_urn writes it)."""
    return url_urn("link:" + normalise_link(link) if link else "file:" + rel)


def _images(f: Fields, name: str, value: Any) -> tuple[Image, ...]:
    if not isinstance(value, list):
        return ()
    images, missing = [], 0
    for item in value[:MAX_IMAGES]:
        url = f.url(f"{name}.url", item.get("url")) if isinstance(item, dict) else None
        missing += not (isinstance(item, dict) and item.get("url"))  # a bad url has its own diagnostic
        if url:
            w, h = item.get("width"), item.get("height")
            images.append(Image(url, int(w) if isinstance(w, int) and w > 0 else None,
                                int(h) if isinstance(h, int) and h > 0 else None))
    if missing:
        f.note("warning", f"{name}: {missing} without a url; ignored")
    return tuple(images)


def _topics(f: Fields, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        value = [value]
    topics: dict[str, str] = {}
    for item in value:
        topic = f.text("topics", item, limit=100)
        if topic and topic.casefold() not in topics:
            topics[topic.casefold()] = topic
    if len(topics) > MAX_TOPICS:
        f.note("warning", f"topics: {len(topics):,} topics, kept the first {MAX_TOPICS}")
    return tuple(topics.values())[:MAX_TOPICS]


def _provider(f: Fields, value: Any) -> Provider | None:
    if not isinstance(value, dict):
        return None
    name = f.text("provider.name", value.get("name"), limit=200)
    domain = f.text("provider.domain", value.get("domain"), limit=200)
    if domain:
        domain = domain.lower().removeprefix("www.")
        if not _DOMAIN.fullmatch(domain) or not domain_url(domain):
            f.note("warning", f"provider.domain: {domain[:80]!r} is not a host name; ignored")
            domain = None
    if not (name or domain):
        return None
    logo = f.url("provider.logo", value.get("logo")) if value.get("logo") else None
    if not logo and (images := _images(f, "provider.images", value.get("images"))):
        logo = images[0].url
    return Provider(name or domain or "", domain, logo)


def _related(f: Fields, value: Any) -> tuple[Related, ...]:
    if not isinstance(value, list):
        return ()
    related = []
    if len(value) > MAX_RELATED:
        f.note("warning", f"related: {len(value):,} items, kept the first {MAX_RELATED}")
    for item in value[:MAX_RELATED]:
        if isinstance(item, dict):
            title = f.text("related.title", item.get("title"))
            link = f.url("related.webUrl", item.get("webUrl") or item.get("originalUrl"))
            if title and link:
                related.append(Related(title, link))
    return tuple(related)


def _link(f: Fields, meta: dict[str, Any]) -> str | None:
    """webUrl, else originalUrl; the link as written is kept for the id, so encoding it never changes an id."""
    for key in ("webUrl", "originalUrl"):
        if link := f.url(key, meta.get(key)):
            f.link_as_written = meta[key].strip()
            return link
    return None


# The one table: article attribute → how to read it from front matter.
FIELDS: dict[str, Callable[[Fields, dict[str, Any]], Any]] = {
    "title": lambda f, m: f.text("title", m.get("title")),
    "link": _link,
    "published": lambda f, m: f.flag(m.get("published", _MISSING)),
    "published_at": lambda f, m: f.when(m.get("publishedDateTime")),
    "excerpt": lambda f, m: f.text("excerpt", m.get("excerpt"), limit=MAX_EXCERPT),
    "heat": lambda f, m: h if (h := f.number("heat", m.get("heat"))) is None or h >= 0 else None,
    "quality": lambda f, m: f.number("quality", m.get("quality")),
    "category": lambda f, m: f.text("category", m.get("category"), limit=100),
    "type": lambda f, m: f.text("type", m.get("type"), limit=100),
    "provider": lambda f, m: _provider(f, m.get("provider")),
    "topics": lambda f, m: _topics(f, m.get("topics")),
    "images": lambda f, m: _images(f, "images", m.get("images")),
    "related": lambda f, m: _related(f, m.get("related")),
}


def claimed_id(rel: str, meta: dict[str, Any], tz: tzinfo) -> str | None:
    """The id a rejected file's link would give its article, if the link itself is valid: other articles'
    related links to it must not be published (the folder holds that article, unpublishable)."""
    f = Fields(rel, tz)
    link = FIELDS["link"](f, meta)
    return article_id(f.link_as_written or link, rel) if link else None


def to_article(rel: str, meta: dict[str, Any], tz: tzinfo, body: str | None = None, now: datetime | None = None
               ) -> tuple[Article | None, list[Diagnostic]]:
    """Front matter → Article, or None when a field required for publication is missing or invalid.

    `now` (default: the wall clock) is when the file is read: a date more than 10 years after it is refused.
    """
    f = Fields(rel, tz, now)
    values = {name: parse(f, meta) for name, parse in FIELDS.items()}
    for required, key in (("title", "title"), ("link", "webUrl")):
        if not values[required]:
            f.note("error", f"{key}: missing or invalid; not published")
    if not (values["title"] and values["link"] and values["published_at"]):
        return None, f.diagnostics
    link_id = article_id(f.link_as_written or values["link"], rel)
    return Article(id=link_id, source=rel, body=body or None, **values), f.diagnostics
