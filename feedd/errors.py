"""The errors feedd raises, each with a message a user can act on."""

from __future__ import annotations

from pathlib import Path


class FeeddError(Exception):
    """Base class: anything feedd reports to a user as one line."""


class ConfigError(FeeddError):
    """The configuration file is missing, unreadable or invalid."""

    def __init__(self, path: Path | str | None, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class RenderError(FeeddError):
    """One feed could not be rendered; its previous files stay online. Raised in render workers too."""

    def __init__(self, feed: str, reason: str) -> None:
        self.feed = feed
        self.reason = reason
        super().__init__(f"{feed}: {reason}")

    def __reduce__(self) -> tuple:  # crosses the process boundary with both its fields
        return type(self), (self.feed, self.reason)


class PublishError(FeeddError):
    """An output file could not be written; the previous one stays online."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class StateLocked(FeeddError):
    """Another feedd process holds the state folder."""
