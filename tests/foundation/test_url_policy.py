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


# --- the allow-list: only real global unicast (issue 13 item 4) ------------------------------------
#
# On Python 3.11 ``is_global`` is true for every address in the REFUSED table below; each row fails on a
# policy that trusts ``is_global``. The ``GUARD`` rows are already refused by 3.11.7 (which counts all of
# 2001::/23 as private) but newer Pythons (gh-113171: 3.12.4+, 3.13) call them global, so they are pinned.

REFUSED = {
    "fec0::1": "site-local (deprecated, RFC 3879)",
    "fec0::a9fe:a9fe": "site-local wrapping the metadata address",
    "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": "last site-local address",
    "::ffff:0:10.0.0.5": "SIIT IPv4-translated (::ffff:0:0:0/96) of 10.0.0.5",
    "::ffff:0:a9fe:a9fe": "SIIT IPv4-translated of 169.254.169.254",
    "::ffff:0:7f00:1": "SIIT IPv4-translated of 127.0.0.1",
    "::ffff:0:8.8.8.8": "SIIT IPv4-translated, even of a public address",
    "3fff::1": "documentation (RFC 9637)",
    "3fff:fff:ffff:ffff::1": "last 3fff::/20 documentation address",
    "5f00::1": "SRv6 SIDs (RFC 9602)",
    "5f00:ffff::1": "SRv6 SIDs",
    "100:0:0:1::1": "dummy prefix (RFC 9780), inside reserved 100::/8",
    "100:1::1": "reserved 100::/8",
    "1::1": "reserved ::/8",
    "200::1": "reserved 200::/7",
    "4000::1": "reserved 4000::/3",
    "8000::1": "reserved 8000::/3",
    "e000::1": "reserved e000::/4",
    "f000::1": "reserved f000::/5",
    "fe00::1": "reserved fe00::/9",
}

GUARD = {
    "64:ff9b::a00:5": "NAT64 well-known prefix embedding 10.0.0.5",
    "64:ff9b::808:808": "NAT64 well-known prefix, refused wholesale even for 8.8.8.8",
    "64:ff9b:1::a00:5": "local-use NAT64 prefix",
    "100::1": "discard-only (RFC 6666)",
    "2001:db8::": "documentation",
    "2001::1": "Teredo",
    "2001:2::1": "benchmarking",
    "2001:10::1": "ORCHID (deprecated)",
    "2001:20::1": "ORCHIDv2 (RFC 7343)",
    "2001:30::1": "drone remote ID (RFC 9374)",
    "2001:3::1": "AMT (IETF protocol assignment, refused deny-first)",
    "2001:4:112::1": "AS112-v6 (IETF protocol assignment, refused deny-first)",
    "2001:1::1": "PCP anycast (IETF protocol assignment, refused deny-first)",
    "2001:1ff:ffff::1": "last address of 2001::/23",
    "2002:a00:5::1": "6to4 of 10.0.0.5",
    "2002:808:808::1": "6to4, refused wholesale",
    "fd00:ec2::254": "EC2 IMDS over IPv6",
    "ff0e::1": "global-scope multicast",
    "::a00:5": "IPv4-compatible (deprecated)",
    "240.0.0.1": "IPv4 reserved",
    "255.255.255.255": "IPv4 limited broadcast",
    "192.0.0.170": "IPv4 NAT64 discovery",
    "192.0.2.1": "IPv4 documentation",
    "203.0.113.1": "IPv4 documentation",
    "198.18.0.1": "IPv4 benchmarking",
}

PUBLIC_ADDRESSES = [
    "2606:4700::1111",  # Cloudflare DNS
    "2a00:1450:4001::1",  # Google
    "2001:4860:4860::8888",  # Google DNS (2001:4860::/32 is outside 2001::/23)
    "2001:200::1",  # first address after 2001::/23 (APNIC)
    "2003::1",  # first /16 after 6to4 (Deutsche Telekom)
    "2620:fe::fe",  # Quad9
    "2c0f:fb50::1",  # AfriNIC space
    "3fff:1000::1",  # just past the 3fff::/20 documentation block
    "2000::1",  # first global unicast address
    "::ffff:8.8.8.8",  # IPv4-mapped public address: unwrapped, judged as 8.8.8.8
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "9.9.9.9",
]


@pytest.mark.parametrize("address", list(REFUSED) + list(GUARD))
def test_non_global_address_table_is_refused(address: str) -> None:
    why = REFUSED.get(address) or GUARD[address]
    assert not is_public(ipaddress.ip_address(address)), why
    literal = f"[{address}]" if ":" in address else address
    with pytest.raises(InvalidUrl):
        vet_url(f"http://{literal}/a.jpg", resolver=PUBLIC)
    with pytest.raises(InvalidUrl):  # the same address as a DNS answer (A or AAAA)
        vet_url("http://a.example.com/", resolver=fake_resolver({"a.example.com": [address]}))


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_real_global_unicast_stays_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))
    literal = f"[{address}]" if ":" in address else address
    assert vet_url(f"https://{literal}/a.jpg", resolver=PUBLIC).addresses
    resolver = fake_resolver({"a.example.com": ["93.184.216.34", address]})
    assert vet_url("https://a.example.com/a.jpg", resolver=resolver).addresses[-1] == str(ipaddress.ip_address(address))
