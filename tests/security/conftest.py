"""Fixtures of the security suites: an "internal" target server that must never be reached, an allow-listed
origin server (for redirects and good files), the real API over HTTP with an injected resolver, and a
connect/DNS recorder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.support import ConnectRecorder
from tests.support.mediaserver import MediaServer


@pytest.fixture
def target() -> Iterator[MediaServer]:
    """Plays an internal service (metadata endpoint, Lambda runtime API): it must log no request."""
    with MediaServer() as srv:
        yield srv


@pytest.fixture
def origin() -> Iterator[MediaServer]:
    """An allow-listed loopback server playing a public media host."""
    with MediaServer() as srv:
        yield srv


@pytest.fixture
def recorder() -> Iterator[ConnectRecorder]:
    with ConnectRecorder().active() as rec:
        yield rec


@pytest.fixture
def temp_dir(tmp_path: Path) -> Path:
    d = tmp_path / "dl"
    d.mkdir()
    return d
