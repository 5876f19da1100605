"""Which URLs we may fetch: http(s) to public addresses only (SSRF defence, GUIDE §3).

:func:`vet_url` parses a URL and resolves its host; every resolved address must be public, or the whole URL is
refused (``invalid_url``). The caller then connects to one of the *vetted* addresses, never resolving again,
so DNS rebinding cannot swap in an internal address between the check and the connection.

"Public" (:func:`is_public`) is an allow-list checked deny-first: IPv4 that ``is_global`` accepts outside
:data:`IPV4_DENIED`; IPv6 only inside global unicast 2000::/3 and outside :data:`IPV6_DENIED`. Python's
``is_global`` is never trusted alone (on 3.11 it accepts site-local, SIIT and reserved IPv6 space).

The only way to reach a private or loopback host is the explicit allow-list
``MEDIALAYER_ALLOW_PRIVATE_HOSTS`` (``host`` or ``host:port`` entries, read by :func:`normalise_allow_entry`),
meant for local tests. An :class:`AllowList` may carry a hint that a refusal appends to its message (the local
server says how to serve files on this machine; the deployed API says nothing).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

from medialayer.errors import FetchFailed, InvalidUrl

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``resolver(host, port) -> addresses``; the default uses getaddrinfo. Tests inject a fake one.
Resolver = Callable[[str, int], list[str]]

#: IPv4 ranges refused although Python's ``is_global`` may call them global (it varies by version), or
#: because they reach the local host or translate to internal space. Checked before anything is allowed.
IPV4_DENIED: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "'this network'; Linux connects 0.0.0.0 to the local host"),
        ("100.64.0.0/10", "carrier-grade NAT (RFC 6598); Alibaba's metadata service lives at 100.100.100.200"),
        ("192.0.0.0/24", "IETF protocol assignments, incl. NAT64 discovery 192.0.0.170/171"),
        ("198.18.0.0/15", "benchmarking (RFC 2544)"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved, incl. the limited broadcast 255.255.255.255"),
    )
)

#: The only IPv6 space we fetch from: global unicast (RFC 4291 §2.4, IANA's IPv6 address space registry).
#: Everything else is refused without a list, in particular the ranges Python 3.11/3.12 ``is_global`` wrongly
#: accepts: site-local fec0::/10, SIIT ::ffff:0:0:0/96, SRv6 5f00::/16 and the reserved blocks (100::/8,
#: 4000::/3, ...), plus link-local, ULA, multicast, IPv4-compatible ::/96 and both NAT64 prefixes.
IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")

#: IPv6 ranges refused first. The ones inside 2000::/3 matter for the decision; those outside are already
#: outside the allow-list and are listed so that each known trap is named (and stays refused if the
#: allow-list ever grows).
IPV6_DENIED: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), why)
    for net, why in (
        # inside 2000::/3
        (
            "2001::/23",
            "IETF protocol assignments: Teredo 2001::/32 (wraps an IPv4), benchmarking 2001:2::/48, ORCHID "
            "2001:10::/28, ORCHIDv2 2001:20::/28, drone IDs 2001:30::/28; also AMT 2001:3::/32, AS112 "
            "2001:4:112::/48 and PCP/TURN anycast 2001:1::1-2, which IANA marks reachable but no media host "
            "uses (deny-first; Python >= 3.12.4 calls several of these global)",
        ),
        ("2001:db8::/32", "documentation (RFC 3849)"),
        ("2002::/16", "6to4: wraps an IPv4 address, possibly an internal one"),
        ("3fff::/20", "documentation (RFC 9637); is_global on 3.11/3.12"),
        # outside 2000::/3 (refused by the allow-list anyway)
        ("::/96", "unspecified, loopback and IPv4-compatible (deprecated) addresses"),
        ("::ffff:0:0:0/96", "SIIT IPv4-translated (RFC 2765), e.g. ::ffff:0:10.0.0.5; is_global on 3.11"),
        ("64:ff9b::/96", "NAT64 well-known prefix (RFC 6052): reaches the embedded IPv4, refused wholesale"),
        ("64:ff9b:1::/48", "local-use NAT64 prefix (RFC 8215), refused wholesale"),
        ("100::/64", "discard-only (RFC 6666)"),
        ("100:0:0:1::/64", "dummy prefix (RFC 9780); is_global on 3.11"),
        ("5f00::/16", "SRv6 SIDs (RFC 9602); is_global on 3.11/3.12"),
        ("fc00::/7", "unique local addresses (RFC 4193)"),
        ("fd00:ec2::/32", "EC2's IPv6 instance metadata / DNS endpoints"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated, RFC 3879); is_global on 3.11/3.12"),
        ("ff00::/8", "multicast"),
    )
)

#: Every explicitly refused network, both families (kept for callers that want the plain list).
EXTRA_BLOCKED = tuple(net for net, _ in (*IPV4_DENIED, *IPV6_DENIED))

_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


@dataclass(frozen=True)
class VettedUrl:
    """A URL that passed the policy, with the addresses it may be fetched from."""

    url: str
    scheme: str
    host: str
    port: int
    path_and_query: str
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with getaddrinfo (all families)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed("the URL's host name could not be resolved") from exc
    return sorted({str(info[4][0]) for info in infos})


def unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped IPv6 address (``::ffff:a.b.c.d``), else ``ip`` itself."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_public(ip: IPAddress) -> bool:
    """True only for real global unicast: an allow-list, checked deny-first.

    An IPv4-mapped address (``::ffff:a.b.c.d``) is judged as the IPv4 inside it. Then:

    * IPv4 — refused if in :data:`IPV4_DENIED`, else accepted only if ``is_global`` and neither multicast
      nor ``is_reserved``;
    * IPv6 — refused if in :data:`IPV6_DENIED`, else accepted only inside :data:`IPV6_GLOBAL_UNICAST`
      (2000::/3) and, as a second opinion, ``is_global`` and neither multicast, reserved, link-local nor
      site-local. ``is_global`` alone is not enough: on Python 3.11 it is true for fec0::/10,
      ::ffff:0:0:0/96, 3fff::/20, 5f00::/16 and most of the reserved space.
    """
    ip = unwrap(ip)
    if isinstance(ip, ipaddress.IPv4Address):
        if any(ip in net for net, _ in IPV4_DENIED):
            return False
        return ip.is_global and not ip.is_multicast and not ip.is_reserved
    if any(ip in net for net, _ in IPV6_DENIED):
        return False
    if ip not in IPV6_GLOBAL_UNICAST:
        return False
    return ip.is_global and not ip.is_multicast and not ip.is_reserved and not ip.is_link_local and not ip.is_site_local


def _literal_ip(host: str) -> IPAddress | None:
    """The address a host written as an IP literal stands for, including legacy IPv4 spellings
    (``127.1``, ``2130706433``, ``0x7f000001``, ``017700000001``) that resolvers accept."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _split(url: str) -> SplitResult:
    if not isinstance(url, str) or not url or len(url) > 2048:
        raise InvalidUrl("the URL is empty or too long")
    if any(ord(c) < 0x21 or c == "\\" for c in url):
        raise InvalidUrl("the URL contains spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        raise InvalidUrl("the URL is malformed") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidUrl("only http and https URLs are accepted")
    if not parts.hostname:
        raise InvalidUrl("the URL has no host")
    return parts


_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")


class AllowList(frozenset[str]):
    """Normalised allow-list entries (``host`` or ``host:port``), plus ``hint``: what a refused private URL's
    message adds (empty: nothing). A frozenset, so callers and tests may pass a plain one instead."""

    hint: str

    def __new__(cls, entries: Iterable[str] = (), hint: str = "") -> AllowList:
        self = super().__new__(cls, entries)
        self.hint = hint
        return self


def _entry_host(host: str) -> str:
    """A host of an allow-list entry as :func:`vet_url` spells a URL's host, or ValueError."""
    host = host.rstrip(".")
    if not host:
        raise ValueError("it has no host")
    if ":" in host:  # IPv6 literal (brackets already removed)
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{host!r} is not an IPv6 address") from None
        return host
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"{host!r} is not a valid host name") from None
    if _literal_ip(host) is None and not _HOST_NAME.match(host):
        raise ValueError(f"{host!r} is not a host name or IP address")
    return host


def _entry_port(port: str) -> int:
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{port!r} is not a port (1-65535)")
    return int(port)


def normalise_allow_entry(entry: str) -> str:
    """One ``MEDIALAYER_ALLOW_PRIVATE_HOSTS`` entry as :func:`vet_url` compares it: ``host`` (every port) or
    ``host:port``, lower case, IPv6 in brackets when a port follows (``[::1]:9000``).

    An entry written as a URL with nothing but a scheme, a host and a port (``http://127.0.0.1:9000``,
    ``https://nas/``) stands for that origin: ``127.0.0.1:9000``, ``nas:443`` (the scheme's default port - a
    URL always names one). Before this, such an entry never matched anything. A URL with a path, query or
    user name, or anything else that is not a host, raises ValueError with the reason: the allow-list is per
    origin, and a path would suggest a narrower grant than it gives.
    """
    raw = entry.strip().lower()
    if not raw:
        raise ValueError("the entry is empty")
    if "://" in raw:
        try:
            parts = urlsplit(raw)
            port = parts.port
        except ValueError:
            raise ValueError("it is a malformed URL") from None
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"{parts.scheme!r} is not http or https")
        if parts.username is not None or parts.password is not None:
            raise ValueError("it has a user name")
        if parts.path not in ("", "/") or parts.query or parts.fragment or raw.endswith(("?", "#")):
            raise ValueError("it has a path or query; the allow-list takes a whole origin (host:port)")
        host = _entry_host(parts.hostname or "")
        port = port or (443 if parts.scheme == "https" else 80)
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if raw.startswith("["):
        inside, _, rest = raw[1:].partition("]")
        if ":" not in inside:
            raise ValueError(f"{inside!r} is not an IPv6 address (only IPv6 goes in brackets)")
        host = _entry_host(inside)
        if not rest:
            return host
        if not rest.startswith(":"):
            raise ValueError(f"unexpected {rest!r} after the IPv6 address")
        return f"[{host}]:{_entry_port(rest[1:])}"
    if raw.count(":") > 1:  # a bare IPv6 literal: every port
        return _entry_host(raw)
    host, colon, port_text = raw.partition(":")
    host = _entry_host(host)
    return f"{host}:{_entry_port(port_text)}" if colon else host


def _allowed_private(host: str, port: int, allowlist: Iterable[str]) -> bool:
    names = {host, f"{host}:{port}", f"[{host}]:{port}"}
    return any(entry in names for entry in allowlist)


def vet_url(url: str, *, resolver: Resolver = system_resolver, allowlist: frozenset[str] = frozenset()) -> VettedUrl:
    """Parse, normalise and vet ``url``; raises :class:`InvalidUrl` when any resolved address is refused."""
    parts = _split(url)
    scheme = parts.scheme.lower()
    raw_host = (parts.hostname or "").rstrip(".").lower()
    try:
        host = raw_host.encode("idna").decode("ascii") if not raw_host.isascii() else raw_host
    except UnicodeError as exc:
        raise InvalidUrl("the URL's host name is not valid") from exc
    if not host:
        raise InvalidUrl("the URL has no host")
    port = parts.port or (443 if scheme == "https" else 80)
    literal = _literal_ip(host)
    addresses = [str(literal)] if literal is not None else resolver(host, port)
    if not addresses:
        raise FetchFailed("the URL's host name could not be resolved")
    allowed = _allowed_private(host, port, allowlist)
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError as exc:
            raise InvalidUrl("the URL's host resolved to an invalid address") from exc
        if not is_public(ip) and not allowed:
            hint = allowlist.hint if isinstance(allowlist, AllowList) else ""
            raise InvalidUrl("the URL points to a private, loopback, link-local or reserved address" + hint)
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    clean = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    path_and_query = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return VettedUrl(
        url=clean,
        scheme=scheme,
        host=host,
        port=port,
        path_and_query=path_and_query,
        addresses=tuple(str(ipaddress.ip_address(a.split("%", 1)[0])) for a in addresses),
    )
