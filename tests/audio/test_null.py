"""The per-pair null (``audio_match.engine.null``): the decoy, the replayed search, the margin, the skip."""

from __future__ import annotations

import numpy as np
import pytest

from audio_match.engine import AudioEngine, bandcorr, null
from medialayer.verdict import decide
from tests.audio.synth import SR, add_noise, notes


@pytest.fixture(scope="module")
def sig():
    return AudioEngine().fingerprint_samples(notes(30.0, 21), SR)


def test_decoy_keeps_the_targets_statistics(sig) -> None:
    d = null.reversed_signature(sig)
    # band energies: the same rows, reversed (so the same histogram per band)
    for b in range(sig.bands.q.shape[1]):
        hist = np.bincount(sig.bands.q[:, b], minlength=256)
        assert np.array_equal(hist, np.bincount(d.bands.q[:, b], minlength=256))
    assert np.array_equal(d.bands.q, sig.bands.q[::-1])
    # peak pairs: same gaps, negated frequency ratios, anchors at the partner's frequency
    assert d.pairs.t1.size == sig.pairs.t1.size
    assert np.array_equal(np.sort(d.pairs.dt), np.sort(sig.pairs.dt))
    assert np.array_equal(np.sort(d.pairs.dlf), np.sort(-sig.pairs.dlf))
    assert np.allclose(np.sort(d.pairs.lf1), np.sort(sig.pairs.lf1 + sig.pairs.dlf))
    assert np.array_equal(np.sort(d.dense.f), np.sort(sig.dense.f))
    # the residual of the reversed bands is the reversed residual (symmetric running means)
    assert np.allclose(bandcorr.residual(d.bands), bandcorr.residual(sig.bands)[::-1], atol=1e-4)


def test_decoy_reversed_twice_is_the_target(sig) -> None:
    back = null.reversed_signature(null.reversed_signature(sig))
    for name in ("t1", "lf1", "dlf", "dt"):
        assert np.allclose(np.sort(getattr(back.pairs, name)), np.sort(getattr(sig.pairs, name)), atol=1e-3), name
    assert np.array_equal(np.sort(back.dense.t), np.sort(sig.dense.t))
    assert np.array_equal(back.bands.q, sig.bands.q)


def test_a_file_against_its_own_decoy_is_no_match(engine: AudioEngine, sig) -> None:
    cal = engine.calibration()
    itself = engine.compare(sig, sig)
    decoy = engine.compare(sig, null.reversed_signature(sig))
    assert itself.raw_score > cal.raw_high
    # a melody against itself backwards still lines up a few notes (the time-reversal symmetry that
    # raises a copy's decoy: ``null.NULL_WEIGHT``), on no supported stretch
    assert decoy.raw_score < itself.raw_score - 5.0
    assert not decide(decoy, cal, with_segments=True).match


def test_a_copys_margin_over_its_decoy_stays_decisive(engine: AudioEngine, sig) -> None:
    weighted = AudioEngine(null_weight=1.0)
    noisy = engine.fingerprint_samples(add_noise(notes(30.0, 21), 5, 3), SR)
    result = weighted.compare(sig, noisy)
    assert not result.details["null"]["decoy_skipped"]
    assert result.raw_score > engine.calibration().raw_high
    assert decide(result, engine.calibration(), with_segments=True).confidence == "high"


def test_the_decoy_replays_the_real_searchs_hypothesis_families(engine: AudioEngine, sig) -> None:
    other = engine.fingerprint_samples(notes(30.0, 77), SR)
    src_res, tgt_res = bandcorr.residual(sig.bands), bandcorr.residual(other.bands)
    real = engine._search(sig, other, src_res, tgt_res, 0.0)
    decoy = engine._search(sig, null.reversed_signature(other), src_res, tgt_res[::-1], 0.0, replay=real)
    assert set(decoy.variants) == set(real.variants)
    assert decoy.verified.all_candidates == real.verified.all_candidates
    assert decoy.verified.searched == real.verified.searched
    # a copy's line decides alone: its decoy verifies its own line only, like the real search
    copy = engine._search(sig, sig, src_res, src_res, 0.0)
    assert not copy.verified.all_candidates
    replayed = engine._search(sig, null.reversed_signature(sig), src_res, src_res[::-1], 0.0, replay=copy)
    assert not replayed.verified.all_candidates
    assert set(replayed.variants) == set(copy.variants)


@pytest.mark.parametrize("seed", [11])
def test_decoy_skip_keeps_the_verdict(engine: AudioEngine, sig, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Skipped only below the clear-no-match knot, where the decoy could not change match or confidence."""
    cal = engine.calibration()
    weighted = AudioEngine(null_weight=1.0)
    other = weighted.fingerprint_samples(notes(30.0, seed), SR)
    skipped = weighted.compare(sig, other)
    assert skipped.details["null"]["decoy_skipped"]
    assert skipped.raw_score < cal.raw_clear
    monkeypatch.setattr(AudioEngine, "_clear_raw", lambda self: None)
    full = weighted.compare(sig, other)
    assert not full.details["null"]["decoy_skipped"]
    assert full.raw_score <= skipped.raw_score
    a, b = decide(skipped, cal, with_segments=True), decide(full, cal, with_segments=True)
    assert (a.match, a.confidence) == (b.match, b.confidence) == (False, "high")


def test_default_engine_runs_no_decoy(engine: AudioEngine, sig) -> None:
    """At the measured weight (0) the raw is the plain ``log2(1 + evidence)``: the decoy is not run."""
    assert null.NULL_WEIGHT == 0.0
    other = engine.fingerprint_samples(notes(30.0, 77), SR)
    result = engine.compare(sig, other)
    assert result.details["null"]["decoy_skipped"]
    assert result.raw_score == pytest.approx(null.log_evidence(result.details["null"]["evidence"]), abs=1e-3)
