"""A thin click shell around the library: options in, one clean line out on error."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from feedd.build import build
from feedd.config import Config, load_config
from feedd.errors import ConfigError, FeeddError
from feedd.models import BuildReport


class ConfigProblem(click.ClickException):
    """A configuration error: one line, exit status 2."""

    exit_code = 2


def config_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The flags every command that reads articles or writes feeds shares."""

    @click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                  help="YAML config file (default: ./config/feedd.yaml if present, else built-in defaults).")
    @click.option("--articles", type=click.Path(file_okay=False, path_type=Path), help="Articles folder.")
    @click.option("--output", type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
    @click.option("--state", type=click.Path(file_okay=False, path_type=Path), help="State folder.")
    @click.option("--base-url", help="Public URL the output folder is served at.")
    @functools.wraps(command)
    def wrapper(config_path, articles, output, state, base_url, **kwargs):
        try:
            config = load_config(config_path, **{"paths.articles": articles, "paths.output": output,
                                                 "paths.state": state, "site.base_url": base_url})
        except ConfigError as exc:
            raise ConfigProblem(str(exc)) from None
        return command(config, **kwargs)

    return wrapper


@click.group()
@click.version_option(package_name="feedd")
def main() -> None:
    """feedd: publish a folder of articles as RSS, Atom and JSON feeds."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)


def _summary(report: BuildReport) -> str:
    a = report.articles
    return (f"feeds: {len(report.written)} written, {len(report.unchanged)} unchanged, "
            f"{len(report.removed)} removed, {len(report.failed)} failed; "
            f"articles: {a.get('published', 0)} published, {a.get('withheld', 0)} withheld, "
            f"{a.get('embargoed', 0)} embargoed, {a.get('rejected', 0)} rejected; "
            f"{report.duration:.2f}s")


@main.command("build")
@config_options
@click.option("-v", "--verbose", is_flag=True, help="Also print info-level diagnostics.")
def build_command(config: Config, verbose: bool) -> None:
    """Build every feed once and write the output folder."""
    try:
        report = build(config)
    except FeeddError as exc:
        raise click.ClickException(str(exc)) from None
    for diagnostic in report.diagnostics:
        if verbose or diagnostic.level != "info":
            click.echo(str(diagnostic), err=True)
    click.echo(_summary(report))
    click.echo(f"output: {config.paths.output}")
    if not report.ok:
        sys.exit(1)


@main.command("check")
@config_options
@click.option("-v", "--verbose", is_flag=True, help="Also print info-level diagnostics.")
def check_command(config: Config, verbose: bool) -> None:
    """Read everything, write nothing; exit 1 when any error-level diagnostic exists."""
    report = build(config, write=False)
    for diagnostic in report.diagnostics:
        if verbose or diagnostic.level != "info":
            click.echo(str(diagnostic))
    errors = len(report.errors)
    warnings = sum(d.level == "warning" for d in report.diagnostics)
    click.echo(f"{errors} error(s), {warnings} warning(s); {len(report.feeds)} feeds would be published")
    if errors:
        sys.exit(1)
