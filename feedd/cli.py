"""A thin click shell around the library: options in, one clean line out on error."""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from feedd.collector import collector_off
from feedd.config import Config, load_config, require_articles
from feedd.errors import ConfigError, FeeddError
from feedd.layout import INDEX
from feedd.lock import state_lock
from feedd.logs import setup_logging
from feedd.models import BuildReport
from feedd.pipeline import build

if TYPE_CHECKING:
    from feedd.serve.metrics import Metrics


class ConfigProblem(click.ClickException):
    """A configuration error: one line, exit status 2."""

    exit_code = 2


class Commands(click.Group):
    """The one place where feedd's errors become a one-line message and an exit status, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            raise ConfigProblem(str(exc)) from None
        except FeeddError as exc:
            raise click.ClickException(str(exc)) from None


@dataclass(frozen=True)
class ConfigSource:
    """Where the config comes from: a file (or the defaults) and the command line's overrides. The service
    loads it again on SIGHUP or when the file is saved."""

    path: Path | None
    overrides: dict[str, Any]

    def load(self) -> Config:
        return load_config(self.path, **self.overrides)

    def load_for_articles(self) -> Config:
        """The config of a command that reads the articles folder, which must be there."""
        config = self.load()
        require_articles(config, named=config.source is not None or self.overrides["paths.articles"] is not None)
        return config


def config_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The flags every command that reads articles or writes feeds shares; the command gets a ConfigSource."""

    @click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                  envvar="FEEDD_CONFIG", show_envvar=True,
                  help="YAML config file (default: ./config/feedd.yaml if present, else built-in defaults).")
    @click.option("--articles", type=click.Path(file_okay=False, path_type=Path), help="Articles folder.")
    @click.option("--output", type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
    @click.option("--state", type=click.Path(file_okay=False, path_type=Path), help="State folder.")
    @click.option("--base-url", help="Public URL the output folder is served at.")
    @functools.wraps(command)
    def wrapper(config_path, articles, output, state, base_url, **kwargs):
        overrides = {"paths.articles": articles, "paths.output": output, "paths.state": state,
                     "site.base_url": base_url}
        return command(ConfigSource(config_path, overrides), **kwargs)

    return wrapper


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})  # for every command
@click.version_option(package_name="feedd")
def main() -> None:
    """feedd: publish a folder of articles as RSS, Atom and JSON feeds."""


def server_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Flags of the commands that serve HTTP."""
    for option in reversed([
        click.option("--host", help="Address to listen on (default 127.0.0.1, or server.host)."),
        click.option("--port", type=click.IntRange(0, 65535), help="Port (default 8080; 0 picks a free one)."),
        click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
                     show_default=True),
        click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True),
    ]):
        command = option(command)
    return command


def _listen(config: Config, host: str | None, port: int | None) -> socket.socket:
    """Bind first (before a long first build), and warn when the feeds would link to another local address."""
    from feedd.serve.wsgi import listen

    sock = listen(host or config.server.host, config.server.port if port is None else port)
    address, real_port = sock.getsockname()[:2]
    base = urlsplit(config.site.base_url)
    base_port = base.port or (443 if base.scheme == "https" else 80)
    if _loopback(address) and _loopback(base.hostname or "") and real_port != base_port:
        shown = f"[{address}]" if ":" in address else address
        logging.getLogger("feedd").warning(
            "site.base_url is %s but feedd listens on %s:%d, so the links in the feeds lead to port %d; "
            "give --base-url http://%s:%d/ with --port (make run PORT=%d does both), or set site.base_url",
            config.site.base_url, shown, real_port, base_port, shown, real_port, real_port)
    return sock


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _serve_forever(app: Any, config: Config, sock: socket.socket, metrics: Metrics,
                   logs: tuple[str, str], on_hup: Callable[[], None] | None = None) -> None:
    """Serve until SIGTERM/SIGINT; SIGHUP calls on_hup. The only place that knows about signals."""
    from feedd.serve.processes import Helpers
    from feedd.serve.wsgi import serve

    stop = threading.Event()
    helpers: list[Helpers] = []

    def shutdown(*_: Any) -> None:
        stop.set()
        for group in helpers:
            group.stop()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    if on_hup is not None:
        signal.signal(signal.SIGHUP, lambda *_: threading.Thread(target=on_hup, daemon=True).start())

    def listening(address: str, real_port: int) -> None:
        shown = f"[{address}]" if ":" in address else address
        logging.getLogger("feedd").info("serving %s at http://%s:%d/ (%d process%s)", config.paths.output, shown,
                                        real_port, config.server.processes, "es" if config.server.processes > 1 else "")

    def share(sock: Any) -> None:
        group = Helpers(config.server.processes - 1, sock, app, metrics, config.paths.output, config.server, logs,
                        hubs=config.hub_urls, base_url=config.site.base_url)
        helpers.append(group)  # shutdown() stops it from the signal handler
        group.start()

    serve(app, "", 0, config.server.threads, stop, listening, sock=sock,
          on_socket=share if config.server.processes > 1 else None)
    for group in helpers:
        group.stop()
        group.join(timeout=5)
    logging.getLogger("feedd").info("stopped")


def _summary(report: BuildReport) -> str:
    a = report.articles
    return (f"files: {len(report.written)} written, {len(report.unchanged)} unchanged, "
            f"{len(report.removed)} removed, {len(report.failed)} failed; "
            f"articles: {a.get('published', 0)} published, {a.get('withheld', 0)} withheld, "
            f"{a.get('embargoed', 0)} embargoed, {a.get('rejected', 0)} rejected; "
            f"{report.duration:.2f}s")


@main.command("build")
@config_options
@click.option("-v", "--verbose", is_flag=True, help="Also print info-level diagnostics.")
@click.option("--allow-mass-removal", is_flag=True,
              help="Publish even when more than half of the feeds (or every article of `all`) would go.")
def build_command(source: ConfigSource, verbose: bool, allow_mass_removal: bool) -> None:
    """Build every feed once and write the output folder."""
    config = source.load_for_articles()
    setup_logging("warning")
    published_before = (config.paths.output / INDEX).is_file()  # else nobody can have seen a feed: no pings
    with state_lock(config.paths.state), collector_off():
        report = build(config, allow_mass_removal=allow_mass_removal)
    for diagnostic in report.diagnostics:
        if verbose or diagnostic.level != "info":
            click.echo(str(diagnostic), err=True)
    click.echo(_summary(report))
    click.echo(f"output: {config.paths.output}")
    if config.websub.hubs and published_before and report.written:
        _ping_hubs(config, report)
    if not report.ok:
        sys.exit(1)


def _ping_hubs(config: Config, report: BuildReport) -> None:
    """Ping the external hubs for the feeds this build changed, waiting a bounded time (twice websub.timeout)
    for their answers. The built-in hub's subscribers are `feedd run`'s to deliver to."""
    from feedd.push import OutputFeeds
    from feedd.push.pings import ping_now

    urls = list(OutputFeeds(config.site.base_url, config.paths.output, report.written))
    if not urls:
        return
    outcomes = ping_now(config.websub, urls, wait=2 * config.websub.timeout)
    problems = ", ".join(f"{outcomes[k]} {k}" for k in ("failed", "given_up", "unsent") if outcomes[k])
    click.echo(f"websub: {len(urls)} changed feed(s) pinged at {len(config.websub.hubs)} hub(s): "
               f"{outcomes['ok']} ok" + (f", {problems}" if problems else ""))


@main.command("check")
@config_options
@click.option("-v", "--verbose", is_flag=True, help="Also print info-level diagnostics.")
def check_command(source: ConfigSource, verbose: bool) -> None:
    """Read everything, write nothing; exit 1 when any error-level diagnostic exists."""
    config = source.load_for_articles()
    with collector_off():
        report = build(config, write=False)
    for diagnostic in report.diagnostics:
        if verbose or diagnostic.level != "info":
            click.echo(str(diagnostic))
    errors = len(report.errors)
    warnings = sum(d.level == "warning" for d in report.diagnostics)
    click.echo(f"{errors} error(s), {warnings} warning(s); {len(report.summaries)} feeds would be published")
    if errors:
        sys.exit(1)


@main.command("run")
@config_options
@server_options
@click.option("--no-watch", is_flag=True, help="No file watcher: rely on the periodic rescan.")
def run_command(source: ConfigSource, host: str | None, port: int | None, log_level: str, log_format: str,
                no_watch: bool) -> None:
    """Build, keep the feeds current (watcher + scheduler) and serve them over HTTP."""
    from feedd.daemon.service import Service
    from feedd.serve.app import create_app

    config = source.load_for_articles()
    setup_logging(log_level, log_format)
    with contextlib.ExitStack() as stack:
        stack.enter_context(state_lock(config.paths.state))
        sock = _listen(config, host, port)
        service = Service(config, source.load, watch=config.service.watch and not no_watch)
        service.start()
        stack.callback(service.stop)
        app = create_app(config.paths.output, config.server, metrics=service.metrics, health=service.health,
                         links=service.links, websub=service.websub)
        _serve_forever(app, config, sock, service.metrics, (log_level, log_format), on_hup=service.reload)


@main.command("serve")
@config_options
@server_options
def serve_command(source: ConfigSource, host: str | None, port: int | None, log_level: str, log_format: str
                  ) -> None:
    """Serve an existing output folder without building (a replica reading a shared folder)."""
    from feedd.serve.app import create_app

    config = source.load()
    setup_logging(log_level, log_format)
    if not config.paths.output.is_dir():
        raise ConfigError(config.paths.output, "output folder does not exist; run feedd build first")
    from feedd.push import feed_links
    from feedd.serve.metrics import Metrics

    sock = _listen(config, host, port)
    metrics = Metrics()
    app = create_app(config.paths.output, config.server, metrics=metrics,
                     links=feed_links(config.hub_urls, config.site.base_url))
    _serve_forever(app, config, sock, metrics, (log_level, log_format))
