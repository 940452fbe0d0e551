"""YAML → one frozen, validated Config. The only module that knows YAML config and pydantic."""

from __future__ import annotations

import ipaddress
import os
import re
import zoneinfo
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from feedd.errors import ConfigError
from feedd.layout import FORMATS
from feedd.urls import clean_url

DEFAULT_CONFIG = Path("config/feedd.yaml")
WEBSUB_PATH = "websub"  # the built-in hub's URL, under site.base_url
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _duration(value: Any) -> Any:
    """Accept the shorthand people write in YAML (`36h`, `7d`) besides pydantic's own forms."""
    if isinstance(value, str) and (m := _DURATION.match(value)):
        return timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: str) -> str:
    """Text that goes into every feed: one character XML forbids would fail them all at render time."""
    if m := _XML_ILLEGAL.search(value):
        raise ValueError(f"character U+{ord(m.group()):04X} cannot appear in a feed")
    return value


Text = Annotated[str, AfterValidator(_xml_text)]
Title = Annotated[str, Field(min_length=1), AfterValidator(_xml_text)]  # feeds require a title and description
Format = Literal["rss", "atom", "json"]
Sort = Literal["date", "heat", "trending"]
Content = Literal["summary", "full"]
EntryIds = Literal["per-article", "per-feed"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Site(_Model):
    title: Title = "feedd"
    base_url: str = "http://127.0.0.1:8080/"
    description: Title = "Feeds published by feedd"
    language: Text = "en"
    timezone: str = "UTC"
    author: Text | None = None

    @field_validator("base_url")
    @classmethod
    def _absolute(cls, value: str) -> str:
        """Every URL in the feeds starts with it: as a URI parser accepts it (a non-ASCII host in IDNA form,
        the path percent-encoded), so that no feed carries a URL a reader would refuse."""
        if not re.match(r"^https?://[^/\s]+", value) or re.search(r"[\s\x00-\x1f?#]", value):  # a path goes after it
            raise ValueError("expected an absolute http(s) URL such as https://example.com/")
        url, problem = clean_url(value)
        if url is None:
            raise ValueError(f"not a usable URL ({problem or 'expected an absolute http(s) URL'})")
        return url if url.endswith("/") else url + "/"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: `Europe` is a folder
            raise ValueError(f"unknown time zone {value!r} (expected an IANA name such as Europe/Paris)") from None
        return value


class Paths(_Model):
    articles: Path = Path("articles")
    output: Path = Path("public")
    state: Path = Path("state")


class Limits(_Model):
    max_file_bytes: int = Field(2 * 1024 * 1024, gt=0)


class Server(_Model):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    threads: int = Field(8, ge=1, le=256)
    processes: int = Field(1, ge=1, le=64)  # server processes sharing the port: one per core for a busy server
    cache_max_age: int = Field(300, ge=0)


class Service(_Model):
    watch: bool = True
    debounce: float = Field(0.05, ge=0, le=60)
    rescan_interval: Duration = timedelta(minutes=5)

    @field_validator("rescan_interval")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value.total_seconds() < 1:
            raise ValueError("expected at least one second")
        return value


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s?#]+", value) or re.search(r"[\s\x00-\x1f]", value):
        raise ValueError(f"expected an absolute http(s) URL, got {value!r}")
    return value


def _network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip()))
    except ValueError:
        raise ValueError(f"expected a network such as 10.0.0.0/8 or fd00::/8 (no host bits set), "
                         f"got {value!r}") from None


class WebSub(_Model):
    """Push (WebSub): pings to external hubs, and feedd's own hub for its feeds."""

    hubs: tuple[Annotated[str, AfterValidator(_http_url)], ...] = ()
    builtin: bool = False
    allow_callbacks: tuple[Annotated[str, AfterValidator(_network)], ...] = ()  # refused by default: see feedd.push
    lease_min: Duration = timedelta(hours=1)
    lease_default: Duration = timedelta(days=10)  # WebSub §8.2: "10 days is a good default"
    lease_max: Duration = timedelta(days=30)
    max_subscriptions: int = Field(10_000, ge=1)
    max_per_host: int = Field(100, ge=1)
    timeout: float = Field(10.0, gt=0, le=300)  # seconds, for the whole of one outbound request
    give_up_after: Duration = timedelta(hours=1)
    ping_delay: float = Field(1.0, ge=0, le=60)
    delivery_delay: float = Field(0.2, ge=0, le=60)
    workers: int = Field(8, ge=1, le=64)

    @model_validator(mode="after")
    def _leases(self) -> WebSub:
        if not timedelta(seconds=1) <= self.lease_min <= self.lease_default <= self.lease_max:
            raise ValueError("expected 1s <= lease_min <= lease_default <= lease_max")
        if self.give_up_after.total_seconds() <= 0:
            raise ValueError("give_up_after: expected a positive duration")
        return self


class FeedSettings(_Model):
    """How a feed is ranked and rendered: `defaults` gives them for every feed, a `feeds[]` entry may override."""

    limit: int = Field(50, gt=0)
    sort: Sort = "date"
    half_life: Duration = timedelta(hours=24)
    formats: tuple[Format, ...] = FORMATS
    content: Content = "summary"
    max_bytes: int | None = Field(None, gt=0)
    # per-article: an article has one id in every feed (RFC 4287 4.2.6); per-feed: one id per article and feed,
    # for readers that key items by id across all subscriptions (newsboat issue #898)
    entry_ids: EntryIds = "per-article"


class FeedDefaults(FeedSettings):
    min_quality: float | None = None
    min_heat: float | None = None


class FamilySettings(_Model):
    enabled: bool = True
    title: Title = "{site}: {name}"
    min_items: int = Field(1, ge=1)
    retain: Duration = timedelta(days=30)  # a feed that lost its articles stays published (empty), then is Gone

    @field_validator("title")
    @classmethod
    def _pattern(cls, value: str) -> str:
        try:  # checked now, not at build time when every feed of the family would fail
            value.format(site="", name="")
        except (KeyError, IndexError, ValueError, AttributeError):
            raise ValueError(f"bad title pattern {value!r} (only {{site}} and {{name}} may be used; "
                             "write {{ and }} for literal braces)") from None
        return value


class Families(_Model):
    categories: FamilySettings = FamilySettings()
    topics: FamilySettings = FamilySettings()
    providers: FamilySettings = FamilySettings()

    def of(self, family: str) -> FamilySettings:
        """The settings of one family, by its name (`topics`)."""
        return {"categories": self.categories, "topics": self.topics, "providers": self.providers}[family]


class Filter(_Model):
    topics: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    min_heat: float | None = None
    min_quality: float | None = None
    max_age: Duration | None = None


class FeedConfig(_Model):
    """A feed declared in the config; each setting left out (None) is taken from `defaults`."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    title: Text | None = None
    description: Text | None = None
    filter: Filter = Filter()
    sort: Sort | None = None
    half_life: Duration | None = None
    limit: int | None = Field(None, gt=0)
    formats: tuple[Format, ...] | None = None
    content: Content | None = None
    max_bytes: int | None = Field(None, gt=0)
    entry_ids: EntryIds | None = None

    def settings(self, defaults: FeedSettings) -> FeedSettings:
        """This feed's settings: its own where given, else the defaults'."""
        own = self.model_dump(include=set(FeedSettings.model_fields), exclude_none=True)
        return FeedSettings(**{**defaults.model_dump(include=set(FeedSettings.model_fields)), **own})


class Config(_Model):
    """Everything feedd needs to know, validated once; paths are absolute after load_config."""

    site: Site = Site()
    paths: Paths = Paths()
    limits: Limits = Limits()
    server: Server = Server()
    service: Service = Service()
    defaults: FeedDefaults = FeedDefaults()
    families: Families = Families()
    feeds: tuple[FeedConfig, ...] = ()
    websub: WebSub = WebSub()
    source: Path | None = Field(None, exclude=True)

    @property
    def hub_urls(self) -> tuple[str, ...]:
        """The hubs every feed advertises (WebSub §4): the configured ones, then feedd's own."""
        own = (self.site.base_url + WEBSUB_PATH,) if self.websub.builtin else ()
        return self.websub.hubs + own

    @field_validator("feeds")
    @classmethod
    def _unique_names(cls, feeds: tuple[FeedConfig, ...]) -> tuple[FeedConfig, ...]:
        names = [f.name for f in feeds]
        reserved = {"all", "topics", "providers", "categories"}
        for name in names:
            if name in reserved:
                raise ValueError(f"feed name {name!r} is reserved")
            if names.count(name) > 1:
                raise ValueError(f"feed name {name!r} is used twice")
        return feeds


def _format_error(error: dict[str, Any]) -> str:
    loc = ""
    for part in error["loc"]:
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "extra_forbidden":
        message = "unknown key"
    elif kind == "literal_error":
        message = "expected one of " + ctx["expected"].replace("'", "").replace(" or ", ", ")
    elif kind == "value_error":
        message = str(ctx.get("error", error["msg"]))
    else:
        message = error["msg"][0].lower() + error["msg"][1:]
        if "input" in error and not isinstance(error["input"], dict | list):
            message += f" (got {error['input']!r})"
    return f"{loc}: {message}" if loc else message


def validate_config(data: Any, source: Path | None = None) -> Config:
    """Validate a mapping into a Config; relative paths resolve against the config file's folder."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, f"expected a mapping of settings, got {type(data).__name__}")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, _format_error(exc.errors()[0])) from None
    base = source.parent.resolve() if source else Path.cwd()
    paths = Paths(**{k: (base / v).resolve() for k, v in config.paths.model_dump().items()})
    return config.model_copy(update={"paths": paths, "source": source})


def require_articles(config: Config, named: bool = True) -> None:
    """Refuse to start without the articles folder: a typo in its name must never read as "no articles", which
    would unpublish every feed. `named`: the folder was given (config file or --articles), not the default."""
    folder = config.paths.articles
    if not folder.is_dir():
        where = (f"check paths.articles in {config.source} or --articles" if named else
                 "run feedd in your site's folder, or name one with -c CONFIG, FEEDD_CONFIG or --articles DIR")
        raise ConfigError(folder, f"articles folder does not exist; {where} (nothing was written)")
    if not os.access(folder, os.R_OK | os.X_OK):
        raise ConfigError(folder, "articles folder cannot be read by this user; fix its permissions "
                                  "(nothing was written)")


def load_config(path: Path | str | None = None, **overrides: Any) -> Config:
    """Load the YAML file (or defaults), apply CLI overrides, validate everything.

    Without a path, ./config/feedd.yaml is used when it exists, else built-in defaults.
    Overrides are dotted keys (`paths.output`, `site.base_url`); None values are ignored.
    """
    source = Path(path) if path is not None else (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    data: Any = {}
    if source is not None:
        try:
            data = yaml.safe_load(source.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise ConfigError(source, "file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(source, f"cannot read: {exc}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark else ""
            raise ConfigError(source, f"{where}invalid YAML: {getattr(exc, 'problem', exc)}") from None
    config = validate_config(data, source)
    if overrides := {k: v for k, v in overrides.items() if v is not None}:
        merged = config.model_dump(exclude={"source"})
        for key, value in overrides.items():
            section, name = key.split(".")
            merged[section][name] = Path(value).resolve() if section == "paths" else value
        config = validate_config(merged, source)
    return config
