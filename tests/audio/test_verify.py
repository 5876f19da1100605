"""Verification of candidate alignments (``verify``: dense peaks; ``bandcorr``: band-envelope
correlation) and its part in the score."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from audio_match.engine import AudioEngine, concat_signatures
from audio_match.engine.candidates import (
    CORR_FLOOR,
    IDENTITY,
    SEARCH_CORR_FLOOR,
    VARIANT_SEARCH_CORR_FLOOR,
    Candidate,
    correlation_evidence,
)
from audio_match.engine.matching import Variant
from audio_match.engine.verify import DensePeaks, PeakMap, best_stretch, verify
from tests.audio.synth import SR, add_noise, glides, notes


def _random_peaks(rng: np.random.Generator, n_frames: int, per_frame: float = 0.6) -> DensePeaks:
    n = int(n_frames * per_frame)
    t = np.sort(rng.integers(0, n_frames, n)).astype(np.int32)
    return DensePeaks(t, rng.integers(10, 240, n).astype(np.uint8), n_frames)


def test_peak_map_hits_within_the_tolerance_only() -> None:
    peaks = DensePeaks(np.array([100], np.int32), np.array([50], np.uint8), 200)
    pm = PeakMap(peaks)
    inside, hit = pm.lookup(np.array([99, 101, 100, 102, 100, -5]), np.array([51, 49, 52, 50, 50, 50]))
    assert hit.tolist() == [True, True, False, False, True, False]
    assert inside.tolist() == [True, True, True, True, True, False]


def test_verify_scores_the_true_offset_far_above_a_wrong_one() -> None:
    rng = np.random.default_rng(0)
    src = _random_peaks(rng, 2000)
    # The target: the source's peaks 300 frames later, half of them lost, plus as many chance peaks.
    keep = rng.random(src.t.size) < 0.5
    noise = _random_peaks(rng, 2300)
    tgt = DensePeaks(
        np.concatenate([src.t[keep] + 300, noise.t]).astype(np.int32),
        np.concatenate([src.f[keep], noise.f]).astype(np.uint8),
        2300,
    )
    pm = PeakMap(tgt)
    right, wrong = verify(src, pm, 1.0, 302.0, 1.0), verify(src, pm, 1.0, 700.0, 1.0)
    assert abs(right.offset - 300.0) <= 1.0  # the offset jitter moves a candidate 2 frames off back in reach
    assert right.z > 20.0 and wrong.z < 5.0
    first, last, excess = best_stretch(right)
    assert first < 100 and last > 1600 and excess > 0


def test_correlation_evidence_is_zero_below_the_floor() -> None:
    landmark = Candidate(IDENTITY, 1.0, 0.0)
    assert correlation_evidence(CORR_FLOOR - 0.05, landmark) == 0.0
    assert correlation_evidence(CORR_FLOOR + 0.2, landmark) > 0.0


def test_searched_candidates_need_more_correlation_than_landmark_ones() -> None:
    """The exhaustive search takes the best of every offset (and of a second variant), so chance
    reaches higher there."""
    landmark = Candidate(IDENTITY, 1.0, 0.0)
    searched = Candidate(IDENTITY, 1.0, 0.0, searched=True)
    searched_fast = Candidate(Variant("speed", 1.03), 1 / 1.03, 0.0, searched=True)
    r = 0.5 * (CORR_FLOOR + SEARCH_CORR_FLOOR)
    assert correlation_evidence(r, searched) == 0.0 < correlation_evidence(r, landmark)
    r = 0.5 * (SEARCH_CORR_FLOOR + VARIANT_SEARCH_CORR_FLOOR)
    assert correlation_evidence(r, searched_fast) == 0.0 < correlation_evidence(r, searched)
    assert correlation_evidence(VARIANT_SEARCH_CORR_FLOOR + 0.1, searched_fast) > 0.0


def test_excerpt_in_heavy_noise_is_confirmed_by_verification(engine: AudioEngine) -> None:
    """At SNR -9 dB few landmark matches survive; dense verification of the same line adds evidence."""
    src = notes(40.0, seed=21)
    host = notes(30.0, seed=22)
    target = add_noise(np.concatenate([host[: 7 * SR], src[12 * SR : 20 * SR], host[7 * SR :]]), -9, 5)
    result = engine.compare(engine.fingerprint_samples(src, SR), engine.fingerprint_samples(target, SR))
    ver = result.details["verify"]
    assert ver["on_line"] and ver["offset_s"] == pytest.approx(-5.0, abs=0.05)
    assert ver["z"] > 12.0 and ver["correlation"] > CORR_FLOOR + 0.1
    # (before the level-fidelity weight: at -9 dB the copy's levels drift towards what other renderings
    # show, 0.099 against 0.101, and ``fidelity`` weighs the evidence down — measured, see its docstring)
    assert result.details["fidelity"]["evidence_before"] > result.details["line_evidence"][0] + 10.0
    # Landmarks alone end the segment seconds early here (12.7-16.0 s); the verified stretch of the same
    # line gives the copy's real extent.
    seg = result.segments[0]
    assert seg.source_start == pytest.approx(12.0, abs=0.4) and seg.source_end == pytest.approx(20.0, abs=0.4)
    assert seg.target_start == pytest.approx(7.0, abs=0.4) and seg.target_end == pytest.approx(15.0, abs=0.4)


@pytest.mark.parametrize(
    "make", [lambda s: notes(38.0, seed=s), lambda s: glides(38.0, seed=s)], ids=["notes", "glides"]
)
def test_unrelated_noisy_audio_is_not_verified(engine: AudioEngine, make: Callable[[int], np.ndarray]) -> None:
    """Unrelated audio in noise: at most chance agreement at the best candidate (r near the floor), far
    from the evidence of a match (a real copy at SNR -9 dB correlates at r > 0.3)."""
    src = engine.fingerprint_samples(notes(40.0, seed=21), SR)
    for seed in (23, 24, 25):
        other = engine.fingerprint_samples(add_noise(make(seed), 0, seed), SR)
        result = engine.compare(src, other)
        assert result.details.get("verify", {"evidence": 0.0})["evidence"] < 8.0
        assert 2.0**result.raw_score - 1.0 < 10.0


def test_concatenated_signatures_keep_dense_peaks_on_one_timeline(engine: AudioEngine) -> None:
    whole = notes(20.0, seed=31)
    parts = [(engine.fingerprint_samples(whole[s * SR : (s + 10) * SR], SR), float(s)) for s in (0, 10)]
    joined = concat_signatures(parts)
    assert joined.dense.t.size == sum(p.dense.t.size for p, _ in parts)
    assert joined.dense.t[parts[0][0].dense.t.size :].min() >= 10 * 62


def test_an_alignment_found_only_by_verification_gets_its_own_segment(
    engine: AudioEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the best verified candidate is not the landmark line and verifies better than the line's
    landmarks, it carries the score and the segment (forced here by declaring it off the line)."""
    import audio_match.engine.candidates as candidates_mod
    import audio_match.engine.fidelity as fidelity_mod

    src = notes(40.0, seed=21)
    host = notes(30.0, seed=22)
    target = add_noise(np.concatenate([host[: 7 * SR], src[12 * SR : 20 * SR], host[7 * SR :]]), -9, 5)
    sig_src, sig_tgt = engine.fingerprint_samples(src, SR), engine.fingerprint_samples(target, SR)
    monkeypatch.setattr(candidates_mod, "is_on_line", lambda *_: False)
    monkeypatch.setattr(candidates_mod, "correlation_evidence", lambda r, c: 1000.0)
    monkeypatch.setattr(fidelity_mod, "factor", lambda deviation: 1.0)  # the level check is tested apart
    result = engine.compare(sig_src, sig_tgt)
    assert result.raw_score == pytest.approx(np.log2(1001.0))
    seg = result.segments[0]
    assert seg.target_start - seg.source_start == pytest.approx(-5.0, abs=0.05)
    assert 11.0 < seg.source_start < 14.0 and 18.0 < seg.source_end < 21.0
