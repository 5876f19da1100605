"""Fixtures of the bench tests: a fake medium's originals and an isolated cache folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # spawned matcher workers inherit sys.path, so they find the fake too
    sys.path.insert(0, str(HERE))

import fake_bench_medium  # noqa: E402


@pytest.fixture()
def fake_data(tmp_path: Path) -> Path:
    """A folder of 24 fake originals (enough for >= 10 negatives and positives per half)."""
    folder = tmp_path / "data"
    fake_bench_medium.make_originals(folder, 24)
    return folder


@pytest.fixture()
def bench_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ``bench.common.cache_root()`` at a temporary folder."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("MEDIALAYER_BENCH_CACHE", str(folder))
    return folder
