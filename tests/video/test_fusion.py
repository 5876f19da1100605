"""Fusion of the visual alignment with the soundtrack comparison (audio engine replaced by a fake)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from medialayer.engine import Comparison, MatchedSegment
from video_match.engine import fuse
from video_match.engine.descriptors import mirror_signs, views
from video_match.engine.scoring import compare_signatures
from video_match.engine.types import VideoSignature


@dataclass
class _FakeCalibration:
    def score(self, raw: float) -> float:
        return min(1.0, raw / 100.0)


class _FakeAudioEngine:
    """Says 'match' (raw 90 -> score 0.9) with one segment for any two soundtracks."""

    def compare(self, source: object, target: object) -> Comparison:
        return Comparison(raw_score=90.0, segments=[MatchedSegment(1.0, 5.0, 2.0, 6.0, 0.9)])

    def calibration(self) -> _FakeCalibration:
        return _FakeCalibration()


def _signature(seed: int, audio: object | None) -> VideoSignature:
    rng = np.random.default_rng(seed)
    n = 20
    desc = {}
    for name in views():
        d = rng.normal(size=(n, 63)).astype(np.float32)
        desc[name] = (d / np.linalg.norm(d, axis=1, keepdims=True)).astype(np.float16)
    return VideoSignature(
        version="test",
        duration_s=n / 2.0,
        fps=2.0,
        times=np.arange(n) / 2.0,
        descriptors=desc,
        mirror_signs=mirror_signs(),
        content_box=(0, 96, 0, 96),
        audio=audio,
    )


@pytest.fixture
def fake_audio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fuse, "audio_engine", lambda: _FakeAudioEngine())


def test_audio_alone_carries_a_match_the_pictures_do_not_show(fake_audio) -> None:
    result = compare_signatures(_signature(1, audio="a"), _signature(2, audio="b"))
    assert result.details["visual_score"] < 0.5
    assert result.details["audio_score"] == pytest.approx(0.9)
    assert result.raw_score == pytest.approx(0.9)
    assert result.segments[0].source_start == 1.0


def test_pictures_alone_when_one_side_has_no_soundtrack(fake_audio) -> None:
    a = _signature(1, audio="a")
    result = compare_signatures(a, _signature(1, audio=None))
    assert result.details["audio_score"] is None
    assert result.raw_score == pytest.approx(result.details["visual_score"], abs=1e-4)
    assert result.raw_score > 0.9


def test_no_audio_engine_means_visual_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fuse, "audio_engine", lambda: None)
    result = compare_signatures(_signature(1, audio="a"), _signature(2, audio="b"))
    assert result.details["audio_score"] is None
    assert result.raw_score == pytest.approx(result.details["visual_score"], abs=1e-4)
