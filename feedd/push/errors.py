"""The errors of push: each says what was refused or what failed, and why."""

from __future__ import annotations

from feedd.errors import FeeddError


class PushError(FeeddError):
    """Base class of push's errors."""


class CallbackRefused(PushError):
    """A URL or an address the hub will not send a request to (WebSub callbacks come from strangers)."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class AddressRefused(CallbackRefused):
    """A callback whose host is, or resolves to, an address refused by policy (loopback, private...)."""


class TransportError(PushError):
    """An outbound request got no HTTP answer: refused connection, timeout, TLS or protocol error."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class StateError(PushError):
    """The subscriptions file cannot be written; subscriptions stay in memory and the write is retried."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")
