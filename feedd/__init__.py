"""feedd: a folder of articles in, RSS 2.0, Atom 1.0 and JSON Feed 1.1 out."""

from __future__ import annotations

from feedd.config import Config, load_config
from feedd.errors import ArticleError, ConfigError, FeeddError, PublishError, RenderError
from feedd.pipeline import build

__version__ = "0.1.0"

__all__ = [
    "ArticleError",
    "Config",
    "ConfigError",
    "FeeddError",
    "PublishError",
    "RenderError",
    "build",
    "load_config",
]
