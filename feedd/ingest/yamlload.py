"""LOAD, the YAML step: front matter text → Python values, as libyaml with feedd's loader reads them.

`ArticleLoader` (libyaml, YAML 1.1) is the reference. `load` first tries yaml-rs (Rust, YAML 1.2, ~10× faster) and
keeps its result only when it is sure to equal the reference: no YAML feature where the two differ (tags, anchors,
block scalars, directives, characters libyaml refuses or folds), no plain scalar that YAML 1.1 would read as
something else (`no`, `on`, `1:20`, `0o14`), no number or boolean whose spelling the result would lose. Anything
else, and any yaml-rs error, goes to libyaml, which also words every error message.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
import yaml_rs


class YamlBool:
    """A YAML 1.1 boolean that remembers how it was written (`title: no` is the title "no")."""

    __slots__ = ("value", "source")

    def __init__(self, value: bool, source: str) -> None:
        self.value, self.source = value, source

    def __bool__(self) -> bool:
        return self.value

    def __repr__(self) -> str:
        return self.source


class YamlInt(int):
    """An int that remembers its spelling (`1:20` is sexagesimal 80 to YAML, a title to a person)."""

    source: str


class YamlFloat(float):
    source: str


def _with_source(cls: type) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        base = {YamlInt: yaml.SafeLoader.construct_yaml_int, YamlFloat: yaml.SafeLoader.construct_yaml_float}
        value = cls(base[cls](loader, node))
        value.source = node.value
        return value

    return construct


def _construct_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> YamlBool:
    return YamlBool(yaml.SafeLoader.construct_yaml_bool(loader, node), node.value)


_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ArticleLoader(_Base):  # type: ignore[misc, valid-type]
    """Safe YAML that never builds dates (parsed later, with diagnostics) and keeps scalars' spelling."""


ArticleLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}
ArticleLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
ArticleLoader.add_constructor("tag:yaml.org,2002:int", _with_source(YamlInt))
ArticleLoader.add_constructor("tag:yaml.org,2002:float", _with_source(YamlFloat))

# Text the fast path leaves to libyaml. Characters: anything but LF and printable non-break characters (libyaml
# refuses C0/C1 controls, folds U+0085/U+2028/U+2029 as line breaks, and tabs differ in indentation), the BOM.
# articles.read_file skips its character guards for text without these: keep it covering their classes.
UNSURE_CHAR = re.compile(r"[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
# Tokens where a scalar can start (after `: `, `- `, `? `, a line break or a flow indicator, and spaces): tags,
# anchors, aliases, block scalars, reserved characters, directives and document markers, and the spellings a
# YAML 1.2 result would not keep: True/FALSE, +1, 012, 0x1F, 0o14, 1_000, -0, .5, .inf (a plain `true`, `false`
# or `-?[1-9][0-9]*|0` is written as Python prints it, so its spelling is known). Text inside quotes can match
# too: that only costs a fallback. (The leading character class lets `re` skip ahead fast; searched in "\n" + text.)
_UNSURE_TOKEN = re.compile(
    r"[:?\-\[{,\n](?:(?<=[:?\-]) +|(?<=[\[{,\n]) *)"
    r"(?:[!&*|>%@`.+]|True|TRUE|False|FALSE|-?0[0-9A-Za-z_]|-[0.]|-?[0-9]+_|---)"
)
_STR = "tag:yaml.org,2002:str"
_RESOLVERS = ArticleLoader.yaml_implicit_resolvers
_WILDCARD = _RESOLVERS.get(None, [])


class _Unsure(Exception):
    """The fast result might differ from libyaml's."""


_BY_FIRST = {first: (*resolvers, *_WILDCARD) for first, resolvers in _RESOLVERS.items()}
_ANY_FIRST = tuple(_WILDCARD)
_KEYS: dict[str, bool] = {}  # mapping keys repeat in every file: whether each is read as text, for the first 4,096
_KEPT_KEYS = 4096


def _plain_is_str(value: str) -> bool:
    """Whether YAML 1.1 (ArticleLoader's resolvers, as BaseResolver.resolve applies them) reads this plain as text."""
    for tag, regexp in _BY_FIRST.get(value[0], _ANY_FIRST):
        if regexp.match(value):
            return tag == _STR
    return True


def _key_is_str(key: str) -> bool:
    known = _KEYS.get(key)
    if known is None:
        known = not key or _plain_is_str(key)
        if len(_KEYS) < _KEPT_KEYS:
            _KEYS[key] = known
    return known


def _convert(value: Any) -> Any:
    """yaml-rs values → ArticleLoader's; raises _Unsure where the two could differ. Strings, most of the values,
    are checked in the loops rather than by a call each: this runs for every file of a cold build."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not _key_is_str(key):
                raise _Unsure
            if type(item) is str:
                if item and not _plain_is_str(item):  # a plain scalar YAML 1.1 resolves otherwise ("" is quoted)
                    raise _Unsure
            else:
                value[key] = _convert(item)
        return value
    if kind is list:
        for i, item in enumerate(value):
            if type(item) is str:
                if item and not _plain_is_str(item):
                    raise _Unsure
            else:
                value[i] = _convert(item)
        return value
    if kind is str:
        if value and not _plain_is_str(value):
            raise _Unsure
        return value
    if kind is bool:
        return YamlBool(value, "true" if value else "false")
    if kind is int:
        number = YamlInt(value)
        number.source = str(value)
        return number
    if value is None:
        return None
    raise _Unsure  # floats (their spelling is lost), anything else


def _fast(text: str, plain: bool = False) -> dict[str, Any] | None:
    """The yaml-rs reading of a front matter mapping, or None when libyaml must decide."""
    if (not plain and UNSURE_CHAR.search(text)) or _UNSURE_TOKEN.search("\n" + text):
        return None
    try:
        data = yaml_rs.loads(text, parse_datetime=False, duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.LastWins)
        return _convert(data) if type(data) is dict else None
    except Exception:  # noqa: BLE001 - any failure of the fast path: libyaml decides, and words the error
        return None


def load(text: str, plain: bool = False) -> Any:
    """Front matter → Python values, exactly as `yaml.load(text, Loader=ArticleLoader)` returns them.

    plain: the caller found no UNSURE_CHAR in the text already (a 3 KB search, once per file is enough)."""
    fast = _fast(text, plain)
    if fast is not None:
        return fast
    return yaml.load(text, Loader=ArticleLoader)  # noqa: S506 - ArticleLoader is a SafeLoader


def load_reference(text: str) -> Any:
    """libyaml only: what `load` must equal (tests, benchmarks)."""
    return yaml.load(text, Loader=ArticleLoader)  # noqa: S506 - ArticleLoader is a SafeLoader
