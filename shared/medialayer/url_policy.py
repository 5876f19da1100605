"""Which URLs we may fetch: http(s) to public addresses only (SSRF defence, GUIDE §3).

:func:`vet_url` parses a URL and resolves its host; every resolved address must be public, or the whole URL is
refused (``invalid_url``). The caller then connects to one of the *vetted* addresses, never resolving again,
so DNS rebinding cannot swap in an internal address between the check and the connection.

The only way to reach a private or loopback host is the explicit allow-list
``MEDIALAYER_ALLOW_PRIVATE_HOSTS`` (``host`` or ``host:port`` entries), meant for local tests.
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

#: Ranges Python's ``is_global`` misses on some versions, or that wrap/translate to internal addresses.
EXTRA_BLOCKED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "2002::/16",
        "2001::/32",
        "2001:db8::/32",
        "::/96",
        "fc00::/7",
        "fe80::/10",
        "fd00:ec2::/32",
        "ff00::/8",
    )
)

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
    """True only for globally routable unicast addresses outside every blocked range."""
    ip = unwrap(ip)
    if not ip.is_global or ip.is_multicast:
        return False
    return not any(ip.version == net.version and ip in net for net in EXTRA_BLOCKED)


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
            raise InvalidUrl("the URL points to a private, loopback, link-local or reserved address")
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
