"""An engine's ``Comparison.conclusive`` reaches the verdict through the pipeline (durations added on the way)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from medialayer.calibration import Calibration
from medialayer.caps import MediaCaps
from medialayer.engine import Comparison, MatchedSegment
from medialayer.pipeline import compare_paths
from medialayer.verdict import INCONCLUSIVE_CEILING
from tests.audio.synth import wav_bytes

CAL = Calibration(
    medium="audio", version="t", engine_version="e-1", raw_floor=0, raw_clear=2, raw_match=5, raw_high=8, raw_top=10
)


@dataclass
class _Sig:
    duration_s: float


class _StrongButInconclusive:
    """A fake audio engine: a strong match on one long segment, marked ``conclusive`` or not."""

    media_type = "audio"

    def __init__(self, conclusive: bool) -> None:
        self.conclusive = conclusive

    def fingerprint(self, path: Path, caps: MediaCaps) -> _Sig:
        return _Sig(duration_s=12.0)

    def compare(self, source: _Sig, target: _Sig) -> Comparison:
        seg = MatchedSegment(0.0, 10.0, 0.0, 10.0, 9.5)
        return Comparison(raw_score=9.5, segments=[seg], details={"k": 1}, conclusive=self.conclusive)

    def calibration(self) -> Calibration:
        return CAL


@pytest.mark.parametrize("conclusive", [True, False])
def test_conclusive_survives_the_pipeline(tmp_path: Path, conclusive: bool) -> None:
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    for p in (a, b):
        p.write_bytes(wav_bytes(np.zeros(8000, np.float32), 8000))
    out = compare_paths(_StrongButInconclusive(conclusive), a, b, details=True)
    assert out.match and out.details["source_duration_s"] == 12.0  # the durations were added ...
    if conclusive:
        assert out.confidence == "high" and "verdict_note" not in out.details
    else:  # ... and the engine's "not conclusive" was not lost on the way
        assert out.confidence == "medium" and out.details["verdict_note"] == "inconclusive"
        assert out.similarity_score == INCONCLUSIVE_CEILING
