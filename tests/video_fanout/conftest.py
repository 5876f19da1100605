"""Fixtures for the video fan-out tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.video_fanout.support import make_clip


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``long`` (23 s, with audio), ``short`` (4 s, with audio), ``silent`` (12 s, no audio)."""
    root = tmp_path_factory.mktemp("clips")
    return {
        "long": make_clip(root / "long.mp4", 23),
        "short": make_clip(root / "short.mp4", 4),
        "silent": make_clip(root / "silent.mp4", 12, audio=False),
    }
