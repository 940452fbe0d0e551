"""URL repair shared by every URL field: RFC 3986 syntax, percent-encoding, IDNA host names.

Every URL that reaches a feed is an absolute http(s) URL a URI parser accepts as it is: what RFC 3986 does not
allow is percent-encoded where that keeps the meaning, and a URL no encoding can save is refused.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import quote, urlsplit

import idna

# What a path, query or fragment may hold besides %XX (a fragment's own `#` is encoded).
URI_CHARS = r"[A-Za-z0-9._~!$&'()*+,;=:@/?-]"
_SAFE = "!$&'()*+,;=:@/?%"  # quote() keeps these and letters, digits, `_.-~`
# RFC 3986 appendix B: scheme, authority, path, query, fragment (the last two None when their mark is absent).
_PARTS = re.compile(r"(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?", re.DOTALL)
_USERINFO = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=:-]|%[0-9A-Fa-f]{2})*")
_ASCII_HOST = re.compile(r"[A-Za-z0-9._~-]+")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Never in a URL, not even percent-encoded: C0 and C1 controls, DEL, lone surrogates.
_NEVER = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_url(text: str) -> tuple[str | None, str]:
    """(the URL, "") with what RFC 3986 does not allow percent-encoded and a non-ASCII host in IDNA form, or
    (None, the problem) when no encoding keeps its meaning ("" when it is not an absolute http(s) URL)."""
    if _NEVER.search(text):
        return None, "a control character"
    if "\\" in text:
        return None, "a backslash, which browsers read as /"
    scheme, authority, path, query, fragment = _PARTS.fullmatch(text).groups()  # type: ignore[union-attr]
    if not scheme or scheme.lower() not in ("http", "https") or not authority:
        return None, ""
    userinfo, at, hostport = authority.rpartition("@")
    if at and not _USERINFO.fullmatch(userinfo):
        return None, "a bad user name"
    if hostport.startswith("["):
        literal, bracket, port = hostport[1:].partition("]")
        if not bracket or (port and port[0] != ":") or not _is_ipv6(literal):
            return None, "a bad IPv6 address"
        host, colon, port = f"[{literal}]", port[:1], port[1:]
    else:
        name, colon, port = hostport.partition(":")
        if not (host := ascii_host(name)):
            return None, "a bad host name" if name else ""
    if port and not (port.isascii() and port.isdigit() and int(port) <= 65535):
        return None, "a bad port"
    try:
        _ = urlsplit(text).port  # anything else Python's parser refuses (article ids use it) is refused too
    except ValueError as exc:
        return None, str(exc)
    tail = _encode(path, _SAFE.replace("?", ""))
    if query is not None:
        tail += "?" + _encode(query, _SAFE)
    if fragment is not None:
        tail += "#" + _encode(fragment, _SAFE)
    return f"{scheme}://{userinfo}{at}{host}{colon}{port}{tail}", ""


def only_non_ascii_encoded(text: str) -> bool:
    """Whether cleaning text only encodes its non-ASCII characters (an IRI made a URI): routine, no mistake."""
    skeleton = "".join(c if c.isascii() else "x" for c in text)
    return clean_url(skeleton) == (skeleton, "")


def ascii_host(name: str) -> str | None:
    """A host name as a URI holds it (IDNA 2008 with UTS 46 mapping for a non-ASCII name), or None."""
    if name.isascii():
        return name if _ASCII_HOST.fullmatch(name) else None
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None


@lru_cache(maxsize=4096)
def domain_url(domain: str) -> str | None:
    """A provider's home page, `https://<domain>/`, with a non-ASCII name in IDNA form; None for no host name."""
    host = ascii_host(domain)
    return f"https://{host}/" if host else None


def _is_ipv6(literal: str) -> bool:
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        return False
    return True


def _encode(part: str, safe: str) -> str:
    """Percent-encode what a URI cannot hold (non-ASCII as UTF-8); a `%` that starts no %XX becomes `%25`."""
    return quote(_STRAY_PERCENT.sub("%25", part), safe=safe)
