"""The spectrogram and the peak pickers: blocked computation gives exactly the whole-file result."""

from __future__ import annotations

import numpy as np
import pytest

import audio_match.engine.landmarks as landmarks_mod
from audio_match.engine.landmarks import find_peaks, log_spectrogram
from audio_match.engine.verify import dense_peaks
from tests.audio.synth import add_noise, notes


@pytest.fixture(scope="module")
def logmag() -> np.ndarray:
    # ~40 s: several peak blocks and STFT blocks, with peaks on every block boundary's neighbourhood.
    return log_spectrogram(add_noise(notes(40.0, seed=9), 10, 2))


def test_blocked_stft_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    x = add_noise(notes(12.0, seed=8), 5, 1)
    blocked = log_spectrogram(x)
    monkeypatch.setattr(landmarks_mod, "STFT_BLOCK", 10**9)
    assert np.array_equal(blocked, log_spectrogram(x))


def test_blocked_peak_picking_equals_one_block(logmag: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each block is computed with enough context (halo) that its filters see what they would on the
    whole file: the landmarks and the dense peaks are identical, boundaries included."""
    assert logmag.shape[0] > 2 * landmarks_mod.PEAK_BLOCK
    peaks, dense = find_peaks(logmag), dense_peaks(logmag)
    monkeypatch.setattr(landmarks_mod, "PEAK_BLOCK", 10**9)
    whole_peaks, whole_dense = find_peaks(logmag), dense_peaks(logmag)
    assert peaks.t.size > 1000 and dense.t.size > 1000
    assert np.array_equal(peaks.t, whole_peaks.t) and np.array_equal(peaks.lf, whole_peaks.lf)
    assert np.array_equal(dense.t, whole_dense.t) and np.array_equal(dense.f, whole_dense.f)


def test_no_peak_on_the_first_or_last_frame(logmag: np.ndarray) -> None:
    peaks = find_peaks(logmag)
    assert peaks.t.min() > 0.5 and peaks.t.max() < logmag.shape[0] - 1.5
