"""SERVE: a Flask app over the output folder, with the HTTP behaviour feed readers rely on (RFC 9110).

Strong ETags from the bytes, Last-Modified from when the bytes were published, If-None-Match before
If-Modified-Since, pre-compressed gzip with Vary, HEAD like GET, 405 with Allow, 404 for anything outside
the output folder. Files are cached in memory by their stat signature: a replica (`feedd serve`) sees new
files at once, and an unchanged file costs one stat per request.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header, parse_date, parse_etags
from werkzeug.security import safe_join

from feedd.serve.metrics import CONTENT_TYPE as METRICS_TYPE
from feedd.serve.metrics import Metrics

CONTENT_TYPES = {
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".json": "application/feed+json",
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
ALLOWED = "GET, HEAD"


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


class FileCache:
    """Output files in memory, refreshed whenever a file's (inode, size, mtime) changes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, CachedFile] = {}
        self._lock = threading.Lock()

    def get(self, rel: str) -> CachedFile | None:
        # no dotfiles, no "..", and no empty part: safe_join would normalise "index.html/" to the file
        if any(not part or part.startswith(".") for part in rel.split("/")) or "\\" in rel or "\x00" in rel:
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
                            CONTENT_TYPES.get(suffix, "application/octet-stream"),
                            format_datetime(modified, usegmt=True))
        with self._lock:
            self._files[rel] = cached
        return cached

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


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


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

    def __init__(self, app: Callable, files: FileCache, cache_max_age: int, metrics: Metrics) -> None:
        self.app, self.files, self.metrics = app, files, metrics
        self.cache_control = f"max-age={cache_max_age}"

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD"):
            return self.app(environ, start_response)
        cached = self.files.get(environ.get("PATH_INFO", "").lstrip("/") or "index.html")
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
        if _not_modified(environ, variant, cached.last_modified):
            self.metrics.record_request(304)
            start_response("304 Not Modified", headers)
            return []
        headers += [("Content-Type", cached.content_type), ("Content-Length", str(len(variant.data)))]
        self.metrics.record_request(200)
        start_response("200 OK", headers)
        return [] if method == "HEAD" else [variant.data]


def create_app(output: Path | str, *, cache_max_age: int = 300, metrics: Metrics | None = None,
               health: Callable[[], tuple[dict[str, Any], bool]] | None = None) -> Flask:
    """The feed server. `health` returns (details, healthy) for /healthz; by default, "index.html exists"."""
    root = Path(output).resolve()
    app = Flask(__name__, static_folder=None)
    app.url_map.redirect_defaults = False  # else /index.html is a 308 to "/", the rule with rel's default
    files = FileCache(root)
    metrics = metrics or Metrics()

    def default_health() -> tuple[dict[str, Any], bool]:
        ok = (root / "index.html").is_file()
        return {"output": str(root), "output_present": ok}, ok

    health = health or default_health

    def _short(status: int, text: str) -> Response:
        return Response(text + "\n", status=status, content_type="text/plain; charset=utf-8")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        response = _short(exc.code or 500, exc.name)
        if exc.code == 405:
            response.headers["Allow"] = ALLOWED
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        app.logger.exception("request failed")
        return _short(500, "Internal Server Error")

    @app.after_request
    def common_headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        metrics.record_request(response.status_code)
        return response

    @app.route("/healthz", methods=["GET", "HEAD"], provide_automatic_options=False)
    def healthz() -> Response:
        details, ok = health()
        body = json.dumps({"status": "ok" if ok else "unavailable", **details}, default=_json_default, indent=2)
        response = Response(body + "\n", status=200 if ok else 503, content_type="application/json")
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.route("/metrics", methods=["GET", "HEAD"], provide_automatic_options=False)
    def metrics_page() -> Response:
        return Response(metrics.render(), content_type=METRICS_TYPE, headers={"Cache-Control": "no-store"})

    @app.route("/", defaults={"rel": ""}, methods=["GET", "HEAD"], provide_automatic_options=False)
    @app.route("/<path:rel>", methods=["GET", "HEAD"], provide_automatic_options=False)
    def not_found(rel: str) -> Response:  # published files never get here: FileResponder answers them
        return _short(404, "Not Found")

    app.wsgi_app = FileResponder(app.wsgi_app, files, cache_max_age, metrics)  # type: ignore[method-assign]
    return app
