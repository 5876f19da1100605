"""Suite-wide safety: no test may connect anywhere but loopback; settings are read fresh per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from medialayer.settings import get_settings
from tests.support.netguard import loopback_only


@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    with loopback_only():
        yield


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import os

    for name in list(os.environ):
        if name.startswith("MEDIALAYER_") and name not in ("MEDIALAYER_TEST_DATA", "MEDIALAYER_FFMPEG"):
            monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
