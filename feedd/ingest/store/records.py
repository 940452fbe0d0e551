"""The record format of the state database: a slim record of each file for memory, the full one for
rendering. The only pickle user.

Selection needs a few fields of every article; rendering needs everything of the few it shows. Keeping the
full records of a large folder in memory would not fit the memory budget, and unpickling nested objects would
dominate a warm restart: slim records are plain tuples. So are full records (each feed item a cold build renders
is read back from one): nested slotted dataclasses are much slower to pickle and unpickle. A change of either
format raises database.SCHEMA, so no feedd ever reads a record of another shape.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
from dataclasses import replace
from datetime import datetime

from feedd.ingest.corpus import Signature
from feedd.ingest.fields import article_id
from feedd.ingest.parse import Parsed
from feedd.models import Article, Diagnostic, Image, Provider, Related

UNREADABLE_RECORD = (pickle.UnpicklingError, AttributeError, TypeError, ValueError, EOFError)
Row = tuple[str, bytes, str, bytes, str | None, tuple[str, ...]]  # rel, slim record, digest, full record, body,
# and the ids of the articles its related links lead to

_providers: dict[tuple, Provider] = {}
_numbers: dict[float, float] = {}  # heats and qualities: a few hundred values, shared by every article


def _provider(fields: tuple | None) -> Provider | None:
    """Many articles share a provider: keep one object per provider."""
    if fields is None:
        return None
    if (provider := _providers.get(fields)) is None:
        provider = _providers[fields] = Provider(*fields)
    return provider


def _number(value: float | None) -> float | None:
    """One float object per value (not 0.0, which is equal to -0.0, nor NaN, which equals nothing)."""
    return _numbers.setdefault(value, value) if value and value == value else value


def _word(value: str | None) -> str | None:
    """Categories and types: a handful of words, one object each."""
    return sys.intern(value) if value is not None else None


def slim(article: Article) -> Article:
    """The article as selection and ranking see it: the rest is read back when it is rendered."""
    return replace(article, excerpt=None, images=(), related=(), body=None)


def to_record(parsed: Parsed) -> bytes:
    a = parsed.article
    article = None if a is None else (
        a.id, a.source, a.title, a.link, a.published_at.isoformat(), a.published, a.heat, a.quality, a.category,
        a.type, None if a.provider is None else (a.provider.name, a.provider.domain, a.provider.logo),
        a.topics, a.title_key)
    diagnostics = tuple((d.level, d.reason) for d in parsed.diagnostics)
    return pickle.dumps((parsed.signature, article, parsed.has_body, parsed.title_key, parsed.first_line,
                         diagnostics, parsed.rejected, parsed.claimed_id), protocol=pickle.HIGHEST_PROTOCOL)


def from_record(rel: str, blob: bytes, digest: str) -> Parsed:
    """A restart makes one per file: positional arguments, and no work for what most records lack (no
    diagnostics: the shared empty tuple, not an empty list per file for the cycle collector to walk). What many
    records repeat is kept once: the article's source is the file's name, and categories, types, heats and
    qualities are shared."""
    signature, a, has_body, title_key, first_line, diagnostics, rejected, claimed = pickle.loads(blob)
    article = None
    if a is not None:
        (id_, source, title, link, moment, published, heat, quality, category, type_, provider, topics,
         key) = a
        article = Article(id_, rel if source == rel else source, title, link, datetime.fromisoformat(moment),
                          published, None, _number(heat), _number(quality), _word(category), _word(type_),
                          _provider(provider), tuple(map(sys.intern, topics)), (), (), None, key)
    return Parsed(rel, signature, article, has_body, None, title_key, first_line,
                  tuple(Diagnostic(rel, level, reason) for level, reason in diagnostics) if diagnostics else (),
                  rejected, digest, claimed)


def signature_of(blob: bytes) -> Signature | None:
    """The file signature stored in a slim record (see to_record)."""
    return pickle.loads(blob)[0]


def _whole(a: Article | None) -> tuple | None:
    """The whole article as plain values, for the full record: nested slotted dataclasses are much slower to
    pickle and unpickle, and a cold build reads back every item it renders."""
    if a is None:
        return None
    return (a.id, a.source, a.title, a.link, a.published_at, a.published, a.excerpt, a.heat, a.quality, a.category,
            a.type, None if a.provider is None else (a.provider.name, a.provider.domain, a.provider.logo), a.topics,
            tuple((i.url, i.width, i.height) for i in a.images), tuple((r.title, r.link) for r in a.related),
            a.title_key)


def full_article(blob: bytes, body: str | None = None) -> Article | None:
    """The whole article from its full record (excerpt, images, related), with this full text."""
    _, a = pickle.loads(blob)
    if a is None:
        return None
    (id_, source, title, link, moment, published, excerpt, heat, quality, category, type_, provider, topics, images,
     related, key) = a
    return Article(id_, source, title, link, moment, published, excerpt, heat, quality, category, type_,
                   None if provider is None else Provider(*provider), topics, tuple(Image(*i) for i in images),
                   tuple(Related(*r) for r in related), body, key)


def to_row(parsed: Parsed) -> Row:
    """A parsed file as stored: the slim record for memory, the full one and the body for rendering."""
    body, parsed.body = parsed.body, None
    full = pickle.dumps((parsed.signature, _whole(parsed.article)), protocol=pickle.HIGHEST_PROTOCOL)
    digest = hashlib.sha1(full).hexdigest()[:16]  # the signature in it covers the body
    targets: tuple[str, ...] = ()
    if parsed.article is not None:
        targets = tuple(dict.fromkeys(article_id(r.link, "") for r in parsed.article.related))
        parsed.article = slim(parsed.article)
    return parsed.rel, to_record(parsed), digest, full, body, targets


