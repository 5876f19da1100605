"""Tests may only ever dial loopback: any other connect() fails the test instead of sending traffic."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class OffLoopbackConnect(AssertionError):
    """Raised when code under test tries to connect anywhere but 127.0.0.0/8 or ::1."""


def _check(address: object) -> None:
    if isinstance(address, tuple) and address:
        host = str(address[0]).split("%", 1)[0]
        try:
            ip = ipaddress.ip_address(host)
        except ValueError as exc:
            raise OffLoopbackConnect(f"connect to unresolved name {host!r} refused by the test guard") from exc
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_loopback:
            raise OffLoopbackConnect(f"test tried to connect to {host}: only loopback is allowed")
    elif not isinstance(address, str | bytes):  # AF_UNIX paths are local
        raise OffLoopbackConnect(f"unexpected socket address {address!r}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check(address)
    return _real_connect_ex(self, address)


@contextmanager
def loopback_only() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = _real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
