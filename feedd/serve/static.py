"""SERVE, the hot path: published files answered from memory, with the validators feed readers rely on.

Strong ETags from the bytes, Last-Modified from when the bytes were published, If-None-Match before
If-Modified-Since (RFC 9110), the pre-compressed gzip sibling with Vary, HEAD like GET. Files are cached by
their stat signature: a replica (`feedd serve`) sees new files at once, and an unchanged file costs one stat
per request.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol

from werkzeug.http import parse_accept_header, parse_date, parse_etags
from werkzeug.security import safe_join

from feedd.layout import content_type, gone_marker


class Counts(Protocol):
    def record_request(self, status: int, count: int = 1) -> None: ...


@dataclass(frozen=True)
class Variant:
    """One representation of a file: its bytes and validators."""

    data: bytes
    etag: str

    @classmethod
    def of(cls, data: bytes) -> Variant:
        return cls(data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"')


@dataclass(frozen=True)
class CachedFile:
    signature: tuple[int, int, int]
    identity: Variant
    gzip: Variant | None
    last_modified: datetime
    content_type: str
    http_date: str = ""  # Last-Modified, formatted once


def _servable(rel: str) -> bool:
    """No dotfiles, no "..", and no empty part (safe_join would normalise "index.html/" to the file)."""
    return not any(not part or part.startswith(".") for part in rel.split("/")) and "\\" not in rel \
        and "\x00" not in rel


class FileCache:
    """Output files in memory, refreshed whenever a file's (inode, size, mtime) changes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, CachedFile] = {}
        self._lock = threading.Lock()

    def get(self, rel: str) -> CachedFile | None:
        if not _servable(rel):
            return None
        path = safe_join(str(self.root), rel)
        if path is None:
            return None
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            return None
        if not os.path.isfile(path):
            return None
        signature = (info.st_ino, info.st_size, info.st_mtime_ns)
        cached = self._files.get(rel)
        if cached and cached.signature == signature:
            if cached.gzip is None:  # publish writes the .gz after the file: look again until it is there
                gz = self._sibling(path, signature)
                if gz is not None:
                    cached = dataclasses.replace(cached, gzip=gz)
                    with self._lock:
                        self._files[rel] = cached
            return cached
        try:
            with open(path, "rb") as handle:
                data = handle.read()
            gz = self._sibling(path, signature)
        except OSError:
            return None
        suffix = os.path.splitext(rel)[1]
        modified = datetime.fromtimestamp(info.st_mtime, UTC).replace(microsecond=0)
        cached = CachedFile(signature, Variant.of(data), gz, modified,
                            content_type(suffix[1:]),
                            format_datetime(modified, usegmt=True))
        with self._lock:
            self._files[rel] = cached
        return cached

    def was_published(self, rel: str) -> bool:
        """Whether the file was published once and removed for good (publish marks it: see layout.gone_marker)."""
        if not _servable(rel):
            return False
        marker = safe_join(str(self.root), gone_marker(rel))
        return marker is not None and os.path.isfile(marker)

    @staticmethod
    def _sibling(path: str, signature: tuple[int, int, int]) -> Variant | None:
        """The pre-compressed copy, when it is at least as new as the file itself."""
        try:
            info = os.stat(path + ".gz")
            if info.st_mtime_ns < signature[2]:
                return None
            with open(path + ".gz", "rb") as handle:
                return Variant.of(handle.read())
        except OSError:
            return None


def _not_modified(environ: dict[str, Any], variant: Variant, last_modified: datetime) -> bool:
    """RFC 9110 §13.2.2: If-None-Match (weak comparison) wins over If-Modified-Since."""
    if "HTTP_IF_NONE_MATCH" in environ:
        etags = parse_etags(environ["HTTP_IF_NONE_MATCH"])
        return etags.star_tag or etags.contains_weak(variant.etag.strip('"'))
    since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
    return since is not None and last_modified <= since


class FileResponder:
    """WSGI middleware: a GET or HEAD of a published file is answered from memory, before Flask.

    This is the hot path of a feed server (readers poll, mostly for 304s); Flask's routing and response
    objects would cost more than the answer itself. Anything else (/healthz, /metrics, 404, 405) goes on to
    the Flask app.
    """

    def __init__(self, app: Callable, files: FileCache, cache_max_age: int, metrics: Counts,
                 links: Callable[[str], str | None] | None = None) -> None:
        self.app, self.files, self.metrics = app, files, metrics
        self.cache_control = f"max-age={cache_max_age}"
        self.links = links  # a file's `Link` header value (WebSub discovery on feeds), by its path

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD"):
            return self.app(environ, start_response)
        rel = environ.get("PATH_INFO", "").lstrip("/") or "index.html"
        cached = self.files.get(rel)
        if cached is None:
            return self.app(environ, start_response)
        variant, headers = cached.identity, []
        if cached.gzip is not None:
            headers.append(("Vary", "Accept-Encoding"))
            if parse_accept_header(environ.get("HTTP_ACCEPT_ENCODING"))["gzip"] > 0:
                variant = cached.gzip
                headers.append(("Content-Encoding", "gzip"))
        headers += [("ETag", variant.etag), ("Last-Modified", cached.http_date),
                    ("Cache-Control", self.cache_control), ("X-Content-Type-Options", "nosniff")]
        if self.links is not None and (link := self.links(rel)):
            headers.append(("Link", link))
        if _not_modified(environ, variant, cached.last_modified):
            self.metrics.record_request(304)
            start_response("304 Not Modified", headers)
            return []
        headers += [("Content-Type", cached.content_type), ("Content-Length", str(len(variant.data)))]
        self.metrics.record_request(200)
        start_response("200 OK", headers)
        return [] if method == "HEAD" else [variant.data]


