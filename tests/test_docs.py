"""README.md documents every configuration key, and the sample config uses only real ones."""

from __future__ import annotations

import re
import typing

import yaml
from pydantic import BaseModel

from feedd.config import Config, load_config
from tests.helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
SAMPLE = ROOT / "config" / "feedd.yaml"


def _model_in(annotation: typing.Any) -> tuple[type[BaseModel], str] | None:
    """The model a field holds (itself, optional, or a tuple of them) and the key suffix it adds."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is tuple and args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0], "[]"
    for arg in args:  # X | None
        if arg is not type(None) and (found := _model_in(arg)):
            return found
    return None


def config_keys(model: type[BaseModel] = Config, prefix: str = "") -> set[str]:
    """Every dotted key path a user can write, e.g. `site.title`, `feeds[].filter.max_age`."""
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        if field.exclude:  # `source`: set by feedd, not by the user
            continue
        path = f"{prefix}{name}"
        if found := _model_in(field.annotation):
            nested, suffix = found
            keys |= config_keys(nested, f"{path}{suffix}.")
        else:
            keys.add(path)
    return keys


def flatten(data: typing.Any, prefix: str = "") -> set[str]:
    """Dotted key paths of a YAML document, lists of mappings as `name[]`."""
    keys: set[str] = set()
    for name, value in data.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            keys |= flatten(value, f"{path}.")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                keys |= flatten(item, f"{path}[].")
        else:
            keys.add(path)
    return keys


def test_the_walk_finds_nested_and_list_keys():
    keys = config_keys()
    assert {"site.title", "families.topics.min_items", "feeds[].name", "feeds[].filter.max_age"} <= keys
    assert "source" not in keys
    assert not any(k in {"site", "families", "feeds", "feeds[].filter"} for k in keys)  # leaves only


def test_every_config_key_is_documented_in_the_readme():
    quoted = set(re.findall(r"`([^`\n]+)`", README))
    missing = sorted(config_keys() - quoted)
    assert not missing, f"README.md does not document: {', '.join(missing)}"


def test_the_readme_reference_table_lists_only_real_keys():
    reference = README.split("## Configuration reference", 1)[-1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([^`]+)` \|", reference, flags=re.MULTILINE))
    assert documented, "no configuration reference table found"
    stale = sorted(documented - config_keys())
    assert not stale, f"README.md documents keys that do not exist: {', '.join(stale)}"


def test_sample_config_uses_only_real_keys():
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    unknown = sorted(flatten(data) - config_keys())
    assert not unknown, f"config/feedd.yaml uses unknown keys: {', '.join(unknown)}"
    load_config(SAMPLE)  # and validation agrees
