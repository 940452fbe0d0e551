"""feedd/push/callbacks.py: the SSRF guard on the URLs and addresses strangers give the hub."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from feedd.push.callbacks import CallbackPolicy, literal_address, parse_url, refusal
from feedd.push.errors import AddressRefused, CallbackRefused

STRICT = CallbackPolicy()


@pytest.mark.parametrize("url, why", [
    ("javascript:alert(1)", "only http and https"),
    ("JaVaScRiPt://x/%0aalert(1)", "only http and https"),
    ("ftp://example.com/cb", "only http and https"),
    ("data:text/html,hi", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("/relative/callback", "only http and https"),
    ("http:///no-host", "has no host"),
    ("https://user:pw@example.com/cb", "credentials"),
    ("https://example.com/cb#frag", "fragment"),
    ("https://example.com/c b", "spaces"),
    ("https://example.com/cb\r\nX-Injected: 1", "control characters"),
    ("https://example.com\\@evil.test/", "backslashes"),
    ("https://example.com:99999/cb", "not a valid URL"),
    ("https://example.com/" + "a" * 3000, "longer than"),
])
def test_malformed_callbacks_are_refused_with_the_reason(url, why):
    with pytest.raises(CallbackRefused) as info:
        STRICT.check_url(url)
    assert why in str(info.value)
    assert not isinstance(info.value, AddressRefused)


def test_a_good_callback_is_taken_apart_once():
    target = parse_url("https://Example.COM/cb/1?token=a%20b&x=é")
    assert (target.scheme, target.host, target.port) == ("https", "example.com", 443)
    assert target.target == "/cb/1?token=a%20b&x=%C3%A9"  # the query kept, non-ASCII percent-encoded
    assert target.host_header == "example.com"
    assert parse_url("http://[2001:db8::1]:8080/").host_header == "[2001:db8::1]:8080"
    assert parse_url("http://bücher.example/").host == "xn--bcher-kva.example"


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("127.9.9.9", "loopback"), ("::1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"), ("fd00::1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("100.64.0.1", "not globally routable"),  # carrier-grade NAT
    ("240.0.0.1", "reserved"),
    ("fec0::1", "site-local"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "private"),  # IPv4-mapped
    ("2002:7f00:1::", "loopback"), ("2002:a9fe:a9fe::", "link-local"),  # 6to4
    ("64:ff9b::a00:1", "private"),  # NAT64
])
def test_addresses_a_stranger_must_not_reach(address, kind):
    why = refusal(ipaddress.ip_address(address))
    assert why is not None and kind in why
    with pytest.raises(AddressRefused):
        STRICT.check_address("http://x/", ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"])
def test_public_unicast_addresses_pass(address):
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f.1", "127.1", "0177.0.0.1", "[::1]",
                                  "[::ffff:127.0.0.1]", "localhost", "LOCALHOST.", "api.localhost", "0.0.0.0"])
def test_a_loopback_callback_is_refused_before_any_request(host):
    with pytest.raises(AddressRefused) as info:
        STRICT.check_url(f"http://{host}:8080/cb")
    assert "websub.allow_callbacks" in str(info.value)


def test_inet_aton_forms_are_read_as_getaddrinfo_reads_them():
    assert literal_address("2130706433") == ipaddress.ip_address("127.0.0.1")
    assert literal_address("0x7f.1") == ipaddress.ip_address("127.0.0.1")
    assert literal_address("deadbeef") is None  # a name, not a number
    assert literal_address("example.com") is None


def test_the_allow_list_lets_its_networks_through_in_every_form():
    policy = CallbackPolicy(["127.0.0.0/8", "fd00::/8"])
    assert policy.check_url("http://127.0.0.1:9/cb").host == "127.0.0.1"
    policy.check_url("http://[::ffff:127.0.0.1]/cb")  # the mapped form of an allowed address
    policy.check_url("http://[fd00::5]/cb")
    policy.check_url("http://localhost/cb")
    with pytest.raises(AddressRefused):
        policy.check_url("http://10.0.0.1/cb")  # still refused: not in the list
    with pytest.raises(AddressRefused):
        policy.check_url("http://[::1]/cb")  # IPv6 loopback is not 127.0.0.0/8


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> None:
    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_resolve_checks_every_address_a_name_has(monkeypatch):
    fake_dns(monkeypatch, {"good.test": ["93.184.216.34", "2606:4700::1"],
                           "mixed.test": ["93.184.216.34", "10.0.0.7"],
                           "metadata.test": ["169.254.169.254"]})
    assert STRICT.resolve("good.test", 443) == ["93.184.216.34", "2606:4700::1"]
    with pytest.raises(AddressRefused, match="private"):
        STRICT.resolve("mixed.test", 443)  # one refused address refuses the name
    with pytest.raises(AddressRefused, match="link-local"):
        STRICT.resolve("metadata.test", 80)
    with pytest.raises(socket.gaierror):  # perhaps temporary: the caller retries
        STRICT.resolve("nowhere.test", 80)


def test_names_are_not_resolved_when_a_subscription_is_checked(monkeypatch):
    """A slow DNS must not hold a server thread: names are judged where the connection is made."""
    fake_dns(monkeypatch, {})
    assert STRICT.check_url("https://rebind.test/cb").host == "rebind.test"
