"""Fixtures of the security suites: an "internal" target server that must never be reached, an allow-listed
origin server (for redirects and good files), the real API over HTTP with an injected resolver, and a
connect/DNS recorder."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep failure reports of this suite from crashing pytest.

    On CPython 3.11.7, pytest's source-aware traceback formatting occasionally raises "SystemError: AST
    constructor recursion depth mismatch" (a CPython bug, pytest-dev/pytest#10763, #10874) and takes the
    whole session down with INTERNALERROR. For this suite's items, fall back to a native traceback then.
    """
    for item in items:
        if isinstance(item, pytest.Function) and item.nodeid.startswith("tests/security/"):
            item.repr_failure = functools.partial(_repr_failure, item)  # type: ignore[method-assign]


def _repr_failure(item: pytest.Function, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:
    try:
        return pytest.Function.repr_failure(item, excinfo)
    except SystemError:
        return item._repr_failure_py(excinfo, style="native")
