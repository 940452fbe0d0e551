"""The SSRF guard: which URLs and addresses the hub may send requests to.

A hub sends requests to URLs that strangers give it. Unguarded, a subscriber could point feedd at a cloud
metadata service (169.254.169.254), a database on localhost or the office intranet, and learn from the
verification echo or from timing. So a callback must be http(s), carry no credentials, and every address
its host resolves to must be a public unicast address, unless a network of `websub.allow_callbacks` holds
it. IPv6 forms that embed an IPv4 address (::ffff:127.0.0.1, 6to4, NAT64) are judged by that address too.

`resolve` is called where the TCP connection is made (feedd/push/client.py connects to the addresses it
returns, never to a second DNS answer), so a name that resolves to a public address at subscription time
and to 127.0.0.1 later (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import string
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from feedd.push.errors import AddressRefused, CallbackRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_URL = 2048  # bytes of a callback URL; longer ones are refused
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_INET_ATON = re.compile(r"^[0-9a-fA-FxX.]+$")  # 2130706433, 0x7f.1, 127.1: what getaddrinfo takes as IPv4
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


class Target(NamedTuple):
    """A URL taken apart once, the way the request will be sent: no second parser can disagree."""

    url: str
    scheme: str  # http or https
    host: str  # ASCII (IDNA), IPv6 without brackets
    port: int
    target: str  # path and query, percent-encoded ASCII

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_url(url: str) -> Target:
    """An absolute http(s) URL without credentials or fragment, ready to send; CallbackRefused otherwise."""
    if len(url.encode("utf-8", "surrogatepass")) > MAX_URL:
        raise CallbackRefused(url[:80] + "...", f"longer than {MAX_URL} bytes")
    if _UNSAFE.search(url):
        raise CallbackRefused(url, "contains spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise CallbackRefused(url, f"not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise CallbackRefused(url, f"only http and https callbacks are accepted, not {scheme or 'a relative URL'}")
    if not parts.hostname:
        raise CallbackRefused(url, "has no host")
    if parts.username is not None or parts.password is not None:
        raise CallbackRefused(url, "credentials in the URL are not accepted")
    if parts.fragment or url.endswith("#"):
        raise CallbackRefused(url, "a fragment (#...) is never sent to a server; remove it")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise CallbackRefused(url, "the host name is not a valid internationalised name") from None
    target = quote(parts.path or "/", safe=string.punctuation)
    if parts.query:
        target += "?" + quote(parts.query, safe=string.punctuation)
    return Target(url, scheme, host, port or (443 if scheme == "https" else 80), target)


def host_of(url: str) -> str:
    """The host a callback's subscriptions are counted under (websub.max_per_host)."""
    return (urlsplit(url).hostname or "").lower()


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal stands for (in any form getaddrinfo accepts), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _INET_ATON.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), which is where packets end up."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: IPAddress) -> str | None:
    """Why an address is not one a stranger may make feedd connect to, or None for a public unicast one.
    An IPv6 address that embeds an IPv4 one is judged by the IPv4 address: that is where packets go."""
    embedded = embedded_ipv4(ip)
    candidate = embedded or ip
    checks = (("loopback", candidate.is_loopback), ("link-local", candidate.is_link_local),
              ("multicast", candidate.is_multicast), ("unspecified", candidate.is_unspecified),
              ("reserved", candidate.is_reserved), ("private", candidate.is_private),
              ("site-local", getattr(candidate, "is_site_local", False)),
              ("not globally routable", not candidate.is_global))
    for name, hit in checks:
        if hit:
            return f"a {name} address ({candidate}" + (f", inside {ip})" if embedded else ")")
    return None


class CallbackPolicy:
    """Refuses callback URLs and addresses by the rules above; `allow` networks are let through."""

    def __init__(self, allow: Iterable[str | IPNetwork] = ()) -> None:
        self.allow: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(n) for n in allow)

    def allowed(self, ip: IPAddress) -> bool:
        """The address (or the IPv4 address it embeds) lies in an allowed network."""
        embedded = embedded_ipv4(ip)
        return any(a in net for net in self.allow for a in (ip, embedded)
                   if a is not None and a.version == net.version)

    def check_address(self, url: str, ip: IPAddress) -> None:
        if self.allowed(ip):
            return
        if (why := refusal(ip)) is not None:
            raise AddressRefused(url, f"resolves to {why}; refused unless websub.allow_callbacks lists its network")

    def check_url(self, url: str) -> Target:
        """What can be judged without DNS: the URL's form, and a host written as an address or `localhost`.
        Host names are judged again, by every address they resolve to, when the request is made."""
        target = parse_url(url)
        host = target.host.lower().rstrip(".")
        ip = literal_address(host)
        if ip is None and (host == "localhost" or host.endswith(".localhost")):  # RFC 6761: always loopback
            ip = ipaddress.IPv4Address("127.0.0.1")
        if ip is not None:
            self.check_address(url, ip)
        return target

    def resolve(self, host: str, port: int) -> list[str]:
        """Every address `host` resolves to, each one checked: one refused address refuses the host (an
        attacker who controls the DNS could otherwise add a private address to a public one). A lookup
        that fails raises socket.gaierror."""
        try:  # a failed lookup (socket.gaierror) is left to the caller: it may be temporary, worth a retry
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except UnicodeError as exc:
            raise CallbackRefused(host, f"not a valid host name: {exc}") from None
        addresses: list[str] = []
        for family, _, _, _, sockaddr in infos:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            text = str(sockaddr[0])
            self.check_address(host, ipaddress.ip_address(text))
            if text not in addresses:
                addresses.append(text)
        if not addresses:
            raise CallbackRefused(host, "the host name has no IPv4 or IPv6 address")
        return addresses
