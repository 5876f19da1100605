"""Level fidelity (``engine.fidelity``): a copy keeps the source's levels, another rendering does not."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import lfilter, resample_poly

from audio_match.engine import AudioEngine
from audio_match.engine.bandcorr import BandEnergies, band_energies
from audio_match.engine.fidelity import COPY_DEVIATION, OTHER_DEVIATION, factor, is_conclusive, level_deviation
from audio_match.engine.landmarks import FRAMES_PER_S, log_spectrogram
from tests.audio.synth import SR, add_noise, notes

#: Another instrument: the same notes at the same times, other partial amplitudes.
OTHER_TIMBRE = (0.25, 1.0, 0.1, 0.7)
SENTENCE = (
    "The quick brown fox jumps over the lazy dog while the band plays on in the rain, "
    "and nobody hears the bell ring at noon."
)


def _bands(x: np.ndarray) -> BandEnergies:
    return band_energies(log_spectrogram(x))


def _deviation(src: np.ndarray, tgt: np.ndarray, offset_s: float = 0.0) -> float:
    frames = src.size / SR * FRAMES_PER_S
    return level_deviation(_bands(src), _bands(tgt), 1.0, offset_s * FRAMES_PER_S, 1.0, 0.0, frames)


def test_a_copy_through_noise_eq_and_volume_keeps_its_levels() -> None:
    src = notes(30.0, seed=11)
    eq = lfilter([1.0, -0.6], [1.0], src).astype(np.float32)  # a first-order treble lift
    ramp = np.linspace(0.4, 1.0, src.size, dtype=np.float32)  # a slow volume change
    copy = add_noise(eq * ramp, 10, seed=12)
    assert _deviation(src, src) < 0.02
    assert _deviation(src, copy) <= COPY_DEVIATION


def test_a_copy_inside_other_audio_is_measured_where_it_sits() -> None:
    src = notes(20.0, seed=13)
    host = notes(40.0, seed=14)
    tgt = host.copy()
    tgt[8 * SR : 28 * SR] += src
    assert _deviation(src, tgt, offset_s=8.0) <= COPY_DEVIATION


def _espeak(tmp_path: Path, voice: str) -> np.ndarray:
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng is not installed (.ci/run installs it)")
    out = tmp_path / f"{voice}.wav"
    subprocess.run([exe, "-v", voice, "-w", str(out), SENTENCE], check=True, capture_output=True, timeout=60)
    x, sr = sf.read(str(out), dtype="float32")
    return x if sr == SR else resample_poly(x, SR, sr).astype(np.float32)


def test_another_voice_reading_the_same_text_is_not_a_copy(engine: AudioEngine, tmp_path: Path) -> None:
    """The null bench's hardest kind: one synthesizer, one text, two voices — the same phoneme timing and
    pitch contour, so band envelopes correlate like a noisy copy's (calibration half: 0.5-0.78)."""
    src = _espeak(tmp_path, "en")
    sig = engine.fingerprint_samples(src, SR)
    copy = engine.compare(sig, engine.fingerprint_samples(add_noise(src, 5, seed=19), SR))
    assert copy.details["fidelity"]["weight"] == 1.0 and copy.conclusive
    for voice in ("en-us", "en+klatt"):
        other = engine.compare(sig, engine.fingerprint_samples(_espeak(tmp_path, voice), SR))
        fid = other.details["fidelity"]
        assert fid["level_deviation"] > COPY_DEVIATION, voice
        assert fid["weight"] < 1.0 and not other.conclusive, voice
        assert other.raw_score < copy.raw_score - 1.0, voice


def test_factor_is_one_for_copies_zero_for_others_and_monotone_between() -> None:
    assert factor(0.0) == factor(COPY_DEVIATION) == 1.0
    assert factor(OTHER_DEVIATION) == factor(5.0) == 0.0
    assert factor(math.inf) == 1.0 and not is_conclusive(math.inf)
    assert is_conclusive(COPY_DEVIATION) and not is_conclusive(COPY_DEVIATION + 0.01)
    between = [factor(d) for d in np.linspace(COPY_DEVIATION, OTHER_DEVIATION, 9)]
    assert all(a >= b for a, b in zip(between, between[1:], strict=False))
    assert 0.0 < between[4] < 1.0


def test_too_short_an_overlap_measures_nothing() -> None:
    src = notes(2.0, seed=16)
    assert level_deviation(_bands(src), _bands(src), 1.0, 0.0, 1.0, 0.0, 100.0) == math.inf


@pytest.mark.parametrize("timbre", [None, OTHER_TIMBRE])
def test_the_engine_weighs_its_evidence_by_fidelity(engine: AudioEngine, timbre: tuple[float, ...] | None) -> None:
    src = notes(30.0, seed=17)
    tgt = add_noise(src if timbre is None else notes(30.0, seed=17, harmonics=timbre), 10, seed=18)
    c = engine.compare(engine.fingerprint_samples(src, SR), engine.fingerprint_samples(tgt, SR))
    fid = c.details["fidelity"]
    if timbre is None:  # a copy: full weight, conclusive, a match
        assert fid["weight"] == 1.0 and c.conclusive
        assert engine.calibration().verdict(engine.calibration().score(c.raw_score))[0]
    else:  # the same notes on another instrument: the evidence it had is weighed away
        assert fid["weight"] < 1.0 and not c.conclusive
        assert fid["evidence_before"] > 0.0
        assert not engine.calibration().verdict(engine.calibration().score(c.raw_score))[0]
