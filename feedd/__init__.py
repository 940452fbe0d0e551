"""feedd: a folder of articles in, RSS 2.0, Atom 1.0 and JSON Feed 1.1 out."""

from __future__ import annotations

from feedd.config import Config, load_config
from feedd.errors import ConfigError, FeeddError, PublishError, RenderError, StateLocked
from feedd.pipeline import Builder, build

__version__ = "0.1.0"

__all__ = [
    "Builder",
    "Config",
    "ConfigError",
    "FeeddError",
    "PublishError",
    "RenderError",
    "StateLocked",
    "build",
    "load_config",
]
