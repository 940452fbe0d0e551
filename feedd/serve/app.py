"""SERVE: the Flask app over the output folder. Published files are answered by serve.static before Flask;
Flask has /healthz, /metrics and the plain-text errors (404 for anything else, 405 with Allow).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from feedd.config import Server
from feedd.serve.metrics import CONTENT_TYPE as METRICS_TYPE
from feedd.serve.metrics import Metrics
from feedd.serve.static import FileCache, FileResponder

ALLOWED = "GET, HEAD"


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def create_app(output: Path | str, server: Server | None = None, *, metrics: Metrics | None = None,
               health: Callable[[], tuple[dict[str, Any], bool]] | None = None,
               links: Callable[[str], str | None] | None = None,
               websub: Callable[[Mapping[str, str]], tuple[int, str]] | None = None) -> Flask:
    """The feed server over `output`, with `server`'s settings (config.server). `health` returns (details,
    healthy) for /healthz; by default, "index.html exists". `links` gives a published file's `Link` header
    (WebSub discovery), by its path in the output folder; `websub` answers `POST /websub` (the built-in hub)
    with a status and a plain-text body."""
    server = server or Server()
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

    if websub is not None:
        @app.route("/websub", methods=["POST"], provide_automatic_options=False)
        def websub_hub() -> Response:  # a form of at most 64 KB: waitress refuses larger bodies (413)
            return _short(*websub(request.form.to_dict()))

    @app.route("/", defaults={"rel": ""}, methods=["GET", "HEAD"], provide_automatic_options=False)
    @app.route("/<path:rel>", methods=["GET", "HEAD"], provide_automatic_options=False)
    def not_found(rel: str) -> Response:  # published files never get here: FileResponder answers them
        if files.was_published(rel):  # a feed removed for good: readers should unsubscribe, not retry
            return _short(410, "Gone")
        return _short(404, "Not Found")

    app.wsgi_app = FileResponder(app.wsgi_app, files, server.cache_max_age, metrics,  # type: ignore[method-assign]
                                 links=links)
    return app
