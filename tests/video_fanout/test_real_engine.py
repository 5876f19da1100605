"""The fan-out with the real video engine: chunked decoding gives the same comparison as one pass."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from medialayer.caps import DEFAULT_CAPS
from medialayer.staging import LocalDirStore
from tests.video_fanout.support import make_excerpt, staged_files
from video_match.fanout import FanOutComparer
from video_match.runners import LocalPoolRunner

engine_module = pytest.importorskip("video_match.engine")
CAPS = DEFAULT_CAPS["video"]


@pytest.fixture
def engine() -> object:
    return engine_module.VideoEngine(use_audio=False)  # visual side only: independent of the audio engine


@pytest.fixture
def comparer(tmp_path: Path, engine: object) -> Iterator[FanOutComparer]:
    store = LocalDirStore(tmp_path / "staging")
    runner = LocalPoolRunner(store, engine, workers=2, timeout_s=120)  # type: ignore[arg-type]
    try:
        yield FanOutComparer(engine, store, runner)  # type: ignore[arg-type]
    finally:
        runner.close()


def test_fan_out_equals_single_pass(
    comparer: FanOutComparer, engine: object, clips: dict[str, Path], tmp_path: Path
) -> None:
    excerpt = make_excerpt(clips["long"], tmp_path / "excerpt.mp4", 5.0, 10.0)
    fanned = comparer.compare_files(clips["long"], excerpt, CAPS)
    direct = engine.compare(engine.fingerprint(clips["long"], CAPS), engine.fingerprint(excerpt, CAPS))  # type: ignore[attr-defined]

    assert fanned.raw_score == pytest.approx(direct.raw_score, abs=1e-6)
    assert len(fanned.segments) == len(direct.segments) >= 1
    for got, want in zip(fanned.segments, direct.segments, strict=True):
        assert got.source_start == pytest.approx(want.source_start, abs=1e-6)
        assert got.source_end == pytest.approx(want.source_end, abs=1e-6)
        assert got.target_start == pytest.approx(want.target_start, abs=1e-6)
    best = max(fanned.segments, key=lambda s: s.source_end - s.source_start)
    assert best.source_start == pytest.approx(5.0, abs=1.5) and best.target_start == pytest.approx(0.0, abs=1.5)
    assert staged_files(comparer.store.root) == []  # type: ignore[attr-defined]
