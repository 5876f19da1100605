"""Spectral peaks ("landmarks") and the peak pairs that are hashed and matched.

A landmark is a local maximum of the log-magnitude spectrogram that also stands out from its own
frequency row over the surrounding ~0.5 s (``contrast``): sustained pure tones, hum, silence and
stationary noise give no landmarks, which is what keeps silence, tones and near-silence from matching
each other. Peak positions are refined to sub-bin precision (parabolic interpolation in time and
frequency) because speed/pitch robustness re-quantises them under several scalings (see ``matching``).

Each peak (the anchor) is paired with the next few peaks of a target zone ahead of it. A pair is kept
as continuous values — anchor time, anchor log2-frequency, log2 frequency ratio, time gap — so the
matcher can quantise them into hash keys after scaling time and/or frequency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft
from scipy.ndimage import uniform_filter1d

SAMPLE_RATE = 8000
N_FFT = 512
HOP = 128
FRAMES_PER_S = SAMPLE_RATE / HOP  # 62.5
F_MIN_HZ = 150.0
F_MAX_HZ = 3800.0
#: Neighbourhood (frames, bins) a peak must dominate: ~±0.11 s, ±94 Hz.
PEAK_NEIGHBOURHOOD = (15, 13)
#: Frequency-row context (frames) a peak must stand out from, and by how much
#: (natural-log units; 1.0 ~ 8.7 dB).
CONTRAST_FRAMES = 31
CONTRAST_MIN = 0.7
#: Magnitude floor: a sine of amplitude 5e-4 (-66 dBFS) peaks at 5e-4 * N_FFT / 4 with this Hann window.
#: Quieter content (dither, hiss, room tone: "near-silence") gives no landmarks, so it cannot match.
ABS_FLOOR = 5e-4 * (N_FFT / 4)
#: At most this many peaks per second (the strongest contrasts are kept).
PEAKS_PER_S = 50
#: Pairing: time gap range (frames), frequency ratio range (octaves), pairs per anchor.
DT_MIN, DT_MAX = 2.0, 63.0
DLF_MAX = 1.0
FAN_OUT = 8
_LOOKAHEAD = 64


@dataclass(frozen=True)
class Peaks:
    """Landmarks of one recording: time (frames, fractional), log2 frequency (Hz), strength."""

    t: np.ndarray
    lf: np.ndarray
    strength: np.ndarray


@dataclass(frozen=True)
class PeakPairs:
    """Hashable peak pairs as continuous values (float32 arrays of equal length)."""

    t1: np.ndarray  # anchor time, frames
    lf1: np.ndarray  # anchor log2 frequency
    dlf: np.ndarray  # log2(f2 / f1)
    dt: np.ndarray  # t2 - t1, frames


def log_spectrogram(samples: np.ndarray) -> np.ndarray:
    """Natural-log magnitude STFT, shape (frames, N_FFT // 2 + 1), Hann window, float32."""
    x = np.ascontiguousarray(samples, dtype=np.float32)
    if x.size < N_FFT:
        return np.zeros((0, N_FFT // 2 + 1), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    window = np.hanning(N_FFT + 2)[1:-1].astype(np.float32)
    spec = sfft.rfft(frames * window, axis=1, workers=1)
    # log |X| = 0.5 log |X|^2: squaring the parts is cheaper than the complex modulus (hypot).
    power = np.square(spec.real)
    power += np.square(spec.imag)
    np.maximum(power, np.float32((ABS_FLOOR * 1e-2) ** 2), out=power)
    logmag = np.log(power, out=power)
    logmag *= np.float32(0.5)
    return logmag


def sliding_max(x: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Centred running maximum of odd ``size`` along ``axis`` (edges padded with -inf).

    Doubling windows (1, 2, 4, ...) then one overlap step: ~log2(size) vectorised ``np.maximum`` passes,
    several times faster here than ``scipy.ndimage.maximum_filter`` on these array shapes.
    """
    half = size // 2
    pad = [(0, 0)] * x.ndim
    pad[axis] = (half, half)
    m = np.pad(x, pad, mode="constant", constant_values=-np.inf)
    n = x.shape[axis]

    def cut(arr: np.ndarray, start: int, stop: int) -> np.ndarray:
        index = [slice(None)] * arr.ndim
        index[axis] = slice(start, stop)
        return arr[tuple(index)]

    width = 1
    while width * 2 <= size:
        length = m.shape[axis]
        m = np.maximum(cut(m, 0, length - width), cut(m, width, length))
        width *= 2
    rest = size - width
    return np.maximum(cut(m, 0, n), cut(m, rest, rest + n))


def find_peaks(logmag: np.ndarray) -> Peaks:
    """Local maxima that stand out from their frequency row and the floor; at most PEAKS_PER_S a second."""
    lo = int(np.floor(F_MIN_HZ * N_FFT / SAMPLE_RATE))
    hi = int(np.ceil(F_MAX_HZ * N_FFT / SAMPLE_RATE))
    n_frames = logmag.shape[0]
    empty = Peaks(np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros(0, np.float32))
    if n_frames < 3:
        return empty
    # Work on (frequency, time), contiguous in time: the filters along time are then cache-friendly.
    band = np.ascontiguousarray(logmag[:, lo - 1 : hi + 2].T)
    local_max = sliding_max(sliding_max(band, PEAK_NEIGHBOURHOOD[0], axis=1), PEAK_NEIGHBOURHOOD[1], axis=0)
    row_mean = uniform_filter1d(band, size=CONTRAST_FRAMES, axis=1, mode="nearest")
    contrast = band - row_mean
    is_peak = (band == local_max) & (contrast > CONTRAST_MIN) & (band > np.log(ABS_FLOOR))
    is_peak[0, :] = is_peak[-1, :] = False
    is_peak[:, 0] = is_peak[:, -1] = False
    fi, ti = np.nonzero(is_peak)
    if ti.size == 0:
        return empty
    strength = contrast[fi, ti]
    # Keep the strongest PEAKS_PER_S in each one-second block, in time order.
    block = (ti / FRAMES_PER_S).astype(np.int64)
    order = np.lexsort((-strength, block))
    ranks = np.arange(order.size) - np.searchsorted(block[order], block[order], side="left")
    keep = order[ranks < PEAKS_PER_S]
    keep = keep[np.lexsort((fi[keep], ti[keep]))]
    ti, fi, strength = ti[keep], fi[keep], strength[keep]
    # Sub-bin refinement (parabolic) in frequency and time.
    c = band[fi, ti]
    df = _parabolic(band[fi - 1, ti], c, band[fi + 1, ti])
    dt = _parabolic(band[fi, ti - 1], c, band[fi, ti + 1])
    freq_hz = (fi + lo - 1 + df) * SAMPLE_RATE / N_FFT
    return Peaks(
        t=(ti + dt).astype(np.float32),
        lf=np.log2(freq_hz).astype(np.float32),
        strength=strength.astype(np.float32),
    )


def _parabolic(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Offset in (-0.5, 0.5) of the vertex of the parabola through (-1, a), (0, b), (1, c)."""
    denom = a - 2.0 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.where(denom < 0, 0.5 * (a - c) / denom, 0.0)
    return np.clip(off, -0.5, 0.5)


def pair_peaks(peaks: Peaks) -> PeakPairs:
    """Pair each anchor with its next FAN_OUT peaks within DT_MIN..DT_MAX frames and ±DLF_MAX octaves."""
    n = peaks.t.size
    if n < 2:
        z = np.zeros(0, np.float32)
        return PeakPairs(z, z, z, z)
    look = min(_LOOKAHEAD, n - 1)
    i = np.arange(n)[:, None]
    j = i + np.arange(1, look + 1)[None, :]
    inside = j < n
    j = np.minimum(j, n - 1)
    dt = peaks.t[j] - peaks.t[i]
    dlf = peaks.lf[j] - peaks.lf[i]
    ok = inside & (dt >= DT_MIN) & (dt <= DT_MAX) & (np.abs(dlf) <= DLF_MAX)
    ok &= np.cumsum(ok, axis=1) <= FAN_OUT
    ii, kk = np.nonzero(ok)
    return PeakPairs(
        t1=peaks.t[ii].astype(np.float32),
        lf1=peaks.lf[ii].astype(np.float32),
        dlf=dlf[ii, kk].astype(np.float32),
        dt=dt[ii, kk].astype(np.float32),
    )
