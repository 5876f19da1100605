"""The shared verdict: calibration of pair and segments, the segment policy, and version-checked loading."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from medialayer.calibration import Calibration, CalibrationMismatch, load_calibration
from medialayer.engine import Comparison, MatchedSegment
from medialayer.verdict import (
    INCONCLUSIVE_CEILING,
    MIN_SEGMENT_S,
    UNSUPPORTED_CEILING,
    decide,
    is_supported,
    min_support_s,
)

#: raw 0..10 maps linearly-ish: clear 2 (0.2), match 5 (0.5), high 8 (0.8), top 10 (1.0)
CAL = Calibration(
    medium="audio", version="t", engine_version="e-1", raw_floor=0, raw_clear=2, raw_match=5, raw_high=8, raw_top=10
)


def seg(start: float, length: float, raw: float, speed: float = 1.0) -> MatchedSegment:
    return MatchedSegment(start, start + length, start, start + length / speed, raw)


def test_min_support_grows_with_distance_from_unit_speed() -> None:
    assert min_support_s(1.0) == MIN_SEGMENT_S
    assert min_support_s(1.05) > MIN_SEGMENT_S
    assert min_support_s(1.1) > min_support_s(1.05)
    assert min_support_s(2.0) == pytest.approx(min_support_s(0.5))
    assert min_support_s(0.0) == math.inf


def test_support_reads_speed_from_the_spans() -> None:
    assert is_supported(seg(0, 2.0, 9))
    assert not is_supported(seg(0, 1.9, 9))
    assert not is_supported(seg(0, 2.2, 9, speed=1.1))  # 1.1x needs ~2.95 s
    assert is_supported(seg(0, 3.0, 9, speed=1.1))


def test_segments_are_calibrated_and_filtered_by_their_own_score() -> None:
    comparison = Comparison(raw_score=9.0, segments=[seg(0, 10, 9.0), seg(20, 5, 3.0), seg(40, 5, 6.0)])
    v = decide(comparison, CAL, with_segments=True)
    assert v.match and v.confidence == "high"
    assert [round(s.score, 3) for s in v.segments] == [round(CAL.score(9.0), 3), round(CAL.score(6.0), 3)]


def test_a_match_keeps_its_strongest_supported_segment_even_below_the_line() -> None:
    comparison = Comparison(raw_score=6.0, segments=[seg(0, 10, 4.0), seg(20, 5, 4.5)])
    v = decide(comparison, CAL, with_segments=True)
    assert v.match and len(v.segments) == 1 and v.segments[0].source_start == 20


def test_a_match_resting_on_an_unsupported_stretch_is_demoted() -> None:
    comparison = Comparison(raw_score=9.5, segments=[seg(0, 0.6, 9.5, speed=1.07)])
    v = decide(comparison, CAL, with_segments=True)
    assert not v.match and v.segments == []
    assert v.similarity_score == UNSUPPORTED_CEILING and v.confidence == "low" and v.note == "unsupported"


def test_no_match_reports_no_segments() -> None:
    v = decide(Comparison(raw_score=3.0, segments=[seg(0, 10, 9.0)]), CAL, with_segments=True)
    assert not v.match and v.segments == [] and v.note == ""


def test_images_never_get_segments_and_need_no_support() -> None:
    v = decide(Comparison(raw_score=9.0, segments=[]), CAL, with_segments=False)
    assert v.match and v.segments == [] and v.note == ""


def test_loading_checks_the_engine_version(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    CAL.save(path)
    assert load_calibration(path, "e-1").raw_match == 5
    with pytest.raises(CalibrationMismatch, match="e-1"):
        load_calibration(path, "e-2")
    with pytest.raises(FileNotFoundError):
        load_calibration(tmp_path / "missing.json", "e-1")


def test_loading_picks_up_a_refit_file(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    CAL.save(path)
    assert load_calibration(path, "e-1").raw_match == 5
    data = json.loads(path.read_text()) | {"raw_match": 6.0}
    path.write_text(json.dumps(data))
    import os

    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    assert load_calibration(path, "e-1").raw_match == 6.0


def test_every_engine_calibration_file_fits_its_engine() -> None:
    """The committed calibrations were fitted on the engine versions that ship (fails loudly otherwise)."""
    from audio_match.engine import AudioEngine
    from image_match.engine import ImageEngine
    from video_match.engine import VideoEngine

    for engine in (ImageEngine(), AudioEngine(), VideoEngine()):
        assert engine.calibration().medium == engine.media_type


def test_tail_fit_recovers_an_exponential_tail() -> None:
    import numpy as np

    from medialayer.calibration import fit_tail

    rng = np.random.default_rng(7)
    neg = rng.exponential(1.0, 200_000)
    tail = fit_tail(neg)
    assert tail.scale == pytest.approx(1.0, rel=0.05)
    assert tail.quantile(1e-3) == pytest.approx(np.log(1e3), rel=0.05)
    assert tail.exceedance(tail.quantile(1e-4)) == pytest.approx(1e-4)


def test_fit_puts_match_above_every_negative_seen_and_high_at_the_tail_point() -> None:
    import numpy as np

    from medialayer.calibration import fit_calibration, fit_tail

    rng = np.random.default_rng(3)
    neg = rng.exponential(1.0, 4000)
    pos = rng.normal(30.0, 2.0, 500)
    cal = fit_calibration(neg, pos, medium="audio", version="t")
    assert cal.raw_match > neg.max()
    assert cal.raw_high >= fit_tail(neg).quantile(1e-4)
    assert cal.raw_floor <= neg.min() and cal.score(float(np.median(neg))) < 0.2
    # graded below the line: negatives do not pile on one score value
    scores = np.array([cal.score(x) for x in neg])
    _, counts = np.unique(np.round(scores, 4), return_counts=True)
    assert counts.max() / scores.size < 0.2


@pytest.mark.parametrize("with_segments", [True, False])
def test_an_inconclusive_comparison_can_match_but_never_at_high(with_segments: bool) -> None:
    segments = [seg(0, 10, 9.5)] if with_segments else []
    strong = decide(Comparison(raw_score=9.5, segments=segments), CAL, with_segments=with_segments)
    held = decide(Comparison(raw_score=9.5, segments=segments, conclusive=False), CAL, with_segments=with_segments)
    assert strong.confidence == "high" and strong.note == ""
    assert held.match and held.confidence == "medium" and held.note == "inconclusive"
    assert held.similarity_score == INCONCLUSIVE_CEILING < strong.similarity_score
    assert all(s.score <= INCONCLUSIVE_CEILING for s in held.segments)
    # below the high band nothing changes
    weak = decide(Comparison(raw_score=6.0, segments=segments, conclusive=False), CAL, with_segments=with_segments)
    assert weak.similarity_score == pytest.approx(CAL.score(6.0)) and weak.note == ""
