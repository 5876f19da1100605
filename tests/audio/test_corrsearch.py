"""The exhaustive unchanged-speed search by band-envelope correlation (``corrsearch``)."""

from __future__ import annotations

import numpy as np
import pytest

import audio_match.engine.candidates as candidates_mod
from audio_match.engine import AudioEngine
from audio_match.engine.bandcorr import BAND_FPS, DECIMATE, N_BANDS
from audio_match.engine.corrsearch import best_offsets, window_correlations
from tests.audio.synth import SR, add_noise, notes


def _residuals(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal((n, N_BANDS)).astype(np.float32)


def test_the_offset_of_a_noisy_excerpt_is_the_best_one() -> None:
    """8 s of the source inside other material, its residuals half drowned: found to a search frame."""
    rng = np.random.default_rng(1)
    src = _residuals(rng, int(60 * BAND_FPS))
    tgt = _residuals(rng, int(30 * BAND_FPS))
    a, b, at = int(20 * BAND_FPS), int(28 * BAND_FPS), int(12 * BAND_FPS)
    tgt[at : at + b - a] = 0.6 * src[a:b] + 0.8 * tgt[at : at + b - a]
    true_offset = (at - a) * DECIMATE  # spectrogram frames
    found = best_offsets(src, tgt)
    assert found and abs(found[0] - true_offset) <= 2 * DECIMATE


def test_unrelated_residuals_correlate_little_at_every_offset() -> None:
    rng = np.random.default_rng(2)
    best = window_correlations(_residuals(rng, int(60 * BAND_FPS)), _residuals(rng, int(40 * BAND_FPS)))
    assert 0.0 < best.max() < 0.2


def test_too_short_inputs_give_no_offsets() -> None:
    rng = np.random.default_rng(3)
    assert best_offsets(_residuals(rng, 40), _residuals(rng, 4000)) == []
    assert best_offsets(_residuals(rng, 4000), _residuals(rng, 40)) == []


def test_an_excerpt_the_landmarks_miss_is_found_by_the_search(
    engine: AudioEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the landmark search's lines and offset peaks withheld, the searched offset alone finds the
    excerpt and carries the score and a segment at the right place."""
    import audio_match.engine.engine as engine_mod

    monkeypatch.setattr(engine_mod, "_extract_lines", lambda *_: ([], []))
    monkeypatch.setattr(candidates_mod, "VERIFY_VARIANTS", 0)
    monkeypatch.setattr(candidates_mod, "IDENTITY_CANDIDATES", 0)
    src = notes(40.0, seed=41)
    host = notes(30.0, seed=42)
    target = add_noise(np.concatenate([host[: 9 * SR], src[15 * SR : 23 * SR], host[9 * SR :]]), 0, 7)
    result = engine.compare(engine.fingerprint_samples(src, SR), engine.fingerprint_samples(target, SR))
    ver = result.details["verify"]
    assert ver["searched"] and ver["offset_s"] == pytest.approx(-6.0, abs=0.05)
    assert ver["correlation"] > candidates_mod.SEARCH_CORR_FLOOR + 0.1
    assert ver["evidence"] > 0.0 and result.segments
    seg = result.segments[0]
    assert seg.target_start - seg.source_start == pytest.approx(-6.0, abs=0.05)
    assert 14.0 < seg.source_start < 17.0 and 21.0 < seg.source_end < 24.0


def test_an_excerpt_played_faster_is_found_along_its_variant() -> None:
    """A noisy excerpt played 4 % fast: found when the search runs along that speed's slope."""
    from audio_match.engine.corrsearch import _stretch

    rng = np.random.default_rng(5)
    src = _residuals(rng, int(60 * BAND_FPS))
    tgt = _residuals(rng, int(30 * BAND_FPS))
    slope = 1 / 1.04
    fast = _stretch(src, slope)  # frame u of ``fast`` is source frame u * 1.04
    a, at, n = int(20 * BAND_FPS * slope), int(12 * BAND_FPS), int(8 * BAND_FPS)
    tgt[at : at + n] = 0.6 * fast[a : a + n] + 0.8 * tgt[at : at + n]
    true_offset = (at - a) * DECIMATE  # t_tgt = slope * t_src + offset, spectrogram frames
    found = best_offsets(src, tgt, time_scale=slope)
    assert found and abs(found[0] - true_offset) <= 2 * DECIMATE


def test_a_clear_copy_skips_the_search_and_a_noisy_excerpt_runs_it(
    engine: AudioEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Landmark evidence beyond what any correlation could add decides alone (no search); a weak line
    still gets the search."""
    import audio_match.engine.corrsearch as corrsearch_mod

    calls: list[int] = []
    real = corrsearch_mod.best_offsets

    def spy(*args: object, **kwargs: object) -> list[float]:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(corrsearch_mod, "best_offsets", spy)
    src = notes(40.0, seed=41)
    copy = engine.compare(engine.fingerprint_samples(src, SR), engine.fingerprint_samples(src.copy(), SR))
    assert copy.raw_score > 9.0 and calls == []
    host = notes(30.0, seed=42)
    target = add_noise(np.concatenate([host[: 9 * SR], src[15 * SR : 23 * SR], host[9 * SR :]]), 0, 7)
    engine.compare(engine.fingerprint_samples(src, SR), engine.fingerprint_samples(target, SR))
    assert calls


def test_landmark_evidence_is_scaled_by_its_line_correlation() -> None:
    from audio_match.engine.candidates import LINE_CORR_FULL, gate_by_line_correlation

    assert gate_by_line_correlation(-0.1) == 0.0
    assert gate_by_line_correlation(0.5 * LINE_CORR_FULL) == pytest.approx(0.5)
    assert gate_by_line_correlation(LINE_CORR_FULL) == gate_by_line_correlation(0.9) == 1.0
