"""The URL policy refuses every non-public address, in every spelling, without connecting anywhere."""

from __future__ import annotations

import ipaddress

import pytest

from medialayer.errors import FetchFailed, InvalidUrl
from medialayer.url_policy import is_public, vet_url


def fake_resolver(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise FetchFailed("the URL's host name could not be resolved")
        return table[host]

    return resolve


PUBLIC = fake_resolver({"media.example.com": ["93.184.216.34"], "v6.example.com": ["2606:2800:220:1::1"]})


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.jpg",
        "http://127.1/a.jpg",
        "http://2130706433/a.jpg",
        "http://0x7f000001/a.jpg",
        "http://017700000001/a.jpg",
        "http://[::1]/a.jpg",
        "http://[::ffff:127.0.0.1]/a.jpg",
        "http://0.0.0.0/a.jpg",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
        "http://[::127.0.0.1]/",
        "http://public@127.0.0.1/",
        "https://224.0.0.1/",
    ],
)
def test_refuses_internal_addresses(url: str) -> None:
    with pytest.raises(InvalidUrl):
        vet_url(url, resolver=PUBLIC)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://x/",
        "ftp://example.com/a",
        "data:text/plain,hi",
        "//x/y",
        "",
        "http://",
    ],
)
def test_refuses_other_schemes_and_malformed(url: str) -> None:
    with pytest.raises(InvalidUrl):
        vet_url(url, resolver=PUBLIC)


def test_name_resolving_to_private_is_refused() -> None:
    resolver = fake_resolver({"evil.example.com": ["93.184.216.34", "10.1.2.3"]})
    with pytest.raises(InvalidUrl):
        vet_url("https://evil.example.com/x.jpg", resolver=resolver)


def test_localhost_name_is_refused() -> None:
    resolver = fake_resolver({"localhost": ["127.0.0.1", "::1"]})
    with pytest.raises(InvalidUrl):
        vet_url("http://localhost./a.jpg", resolver=resolver)


def test_public_url_is_vetted_and_userinfo_stripped() -> None:
    vetted = vet_url("https://user:pw@media.example.com/a.jpg?x=1#frag", resolver=PUBLIC)
    assert vetted.addresses == ("93.184.216.34",)
    assert vetted.url == "https://media.example.com/a.jpg?x=1"
    assert vetted.host_header == "media.example.com"
    assert vet_url("http://v6.example.com:8081/", resolver=PUBLIC).host_header == "v6.example.com:8081"


def test_allowlist_is_explicit_per_host_and_port() -> None:
    loop = fake_resolver({"localhost": ["127.0.0.1"]})
    assert vet_url("http://127.0.0.1:9000/a", allowlist=frozenset({"127.0.0.1:9000"})).addresses == ("127.0.0.1",)
    with pytest.raises(InvalidUrl):
        vet_url("http://127.0.0.1:9001/a", allowlist=frozenset({"127.0.0.1:9000"}))
    assert vet_url("http://localhost/a", resolver=loop, allowlist=frozenset({"localhost"})).addresses


def test_is_public_basics() -> None:
    assert is_public(ipaddress.ip_address("8.8.8.8"))
    assert not is_public(ipaddress.ip_address("::ffff:10.0.0.1"))
    assert not is_public(ipaddress.ip_address("100.100.100.200"))
