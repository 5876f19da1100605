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

from collections.abc import Iterator
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
#: STFT frames computed per block (~1 MB of windowed frames: fits in cache).
STFT_BLOCK = 256
#: Frames per block of the peak pickers (``frame_blocks``): a block's arrays fit in cache.
PEAK_BLOCK = 1024
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
    """Natural-log magnitude STFT, shape (frames, N_FFT // 2 + 1), Hann window, float32.

    Computed in blocks of STFT_BLOCK frames: each block's windowed frames and spectrum stay in cache
    (twice as fast as one pass over a 300 s file's 38 MB of windowed frames; same output).
    """
    x = np.ascontiguousarray(samples, dtype=np.float32)
    if x.size < N_FFT:
        return np.zeros((0, N_FFT // 2 + 1), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    window = np.hanning(N_FFT + 2)[1:-1].astype(np.float32)
    out = np.empty((frames.shape[0], N_FFT // 2 + 1), dtype=np.float32)
    floor = np.float32((ABS_FLOOR * 1e-2) ** 2)
    for start in range(0, frames.shape[0], STFT_BLOCK):
        spec = sfft.rfft(frames[start : start + STFT_BLOCK] * window, axis=1, workers=1)
        # log |X| = 0.5 log |X|^2: squaring the parts is cheaper than the complex modulus (hypot).
        block = out[start : start + STFT_BLOCK]
        np.square(spec.real, out=block)
        block += np.square(spec.imag)
        np.maximum(block, floor, out=block)
        np.log(block, out=block)
        block *= np.float32(0.5)
    return out


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


def frame_blocks(n_frames: int, halo: int) -> Iterator[tuple[int, int, int, int]]:
    """``(lo, hi, start, stop)`` per block of PEAK_BLOCK frames: compute on frames ``lo:hi`` (the block
    with ``halo`` frames of context either side, clipped to the file) and keep frames ``start:stop``.
    Filters reaching at most ``halo`` frames then give the same values as on the whole file, and each
    block's arrays stay in cache."""
    for start in range(0, n_frames, PEAK_BLOCK):
        stop = min(n_frames, start + PEAK_BLOCK)
        yield max(0, start - halo), min(n_frames, stop + halo), start, stop


def find_peaks(logmag: np.ndarray) -> Peaks:
    """Local maxima that stand out from their frequency row and the floor; at most PEAKS_PER_S a second."""
    lo = int(np.floor(F_MIN_HZ * N_FFT / SAMPLE_RATE))
    hi = int(np.ceil(F_MAX_HZ * N_FFT / SAMPLE_RATE))
    n_frames = logmag.shape[0]
    empty = Peaks(np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros(0, np.float32))
    if n_frames < 3:
        return empty
    halo = max(PEAK_NEIGHBOURHOOD[0], CONTRAST_FRAMES) // 2 + 1
    found = [_block_peaks(logmag, lo, hi, *block) for block in frame_blocks(n_frames, halo)]
    ti, fi, strength, dt, df = (np.concatenate(parts) for parts in zip(*found, strict=True))
    # Not the file's first or last frame (no neighbour in time).
    inside = (ti > 0) & (ti < n_frames - 1)
    ti, fi, strength, dt, df = ti[inside], fi[inside], strength[inside], dt[inside], df[inside]
    if ti.size == 0:
        return empty
    # Keep the strongest PEAKS_PER_S in each one-second block, in time order.
    keep = strongest_per_second(ti, strength, PEAKS_PER_S)
    keep = keep[np.lexsort((fi[keep], ti[keep]))]
    freq_hz = (fi[keep] + lo - 1 + df[keep]) * SAMPLE_RATE / N_FFT
    return Peaks(
        t=(ti[keep] + dt[keep]).astype(np.float32),
        lf=np.log2(freq_hz).astype(np.float32),
        strength=strength[keep].astype(np.float32),
    )


def strongest_per_second(frames: np.ndarray, strength: np.ndarray, per_second: int) -> np.ndarray:
    """Indices of the ``per_second`` strongest items in each one-second block of ``frames``."""
    block = (frames / FRAMES_PER_S).astype(np.int64)
    order = np.lexsort((-strength, block))
    ranks = np.arange(order.size) - np.searchsorted(block[order], block[order], side="left")
    return order[ranks < per_second]


def _block_peaks(
    logmag: np.ndarray, lo: int, hi: int, first: int, last: int, start: int, stop: int
) -> tuple[np.ndarray, ...]:
    """Peaks of frames ``start:stop`` computed on frames ``first:last``: global frame, band row,
    contrast, and the parabolic sub-frame / sub-bin offsets."""
    # Work on (frequency, time), contiguous in time: the filters along time are then cache-friendly.
    band = np.ascontiguousarray(logmag[first:last, lo - 1 : hi + 2].T)
    local_max = sliding_max(sliding_max(band, PEAK_NEIGHBOURHOOD[0], axis=1), PEAK_NEIGHBOURHOOD[1], axis=0)
    contrast = band - uniform_filter1d(band, size=CONTRAST_FRAMES, axis=1, mode="nearest")
    keep = slice(start - first, stop - first)
    is_peak = (band[:, keep] == local_max[:, keep]) & (contrast[:, keep] > CONTRAST_MIN)
    is_peak &= band[:, keep] > np.log(ABS_FLOOR)
    is_peak[0, :] = is_peak[-1, :] = False
    fi, ti = np.nonzero(is_peak)
    ti = ti + (start - first)
    # Sub-bin refinement (parabolic) in frequency and time; a block's edge frame has its neighbour in
    # the halo (or is the file's edge frame, dropped by the caller).
    tn = np.clip(ti, 1, band.shape[1] - 2)
    c = band[fi, ti]
    df = _parabolic(band[fi - 1, ti], c, band[fi + 1, ti])
    dt = _parabolic(band[fi, tn - 1], c, band[fi, tn + 1])
    return ti + first, fi, contrast[fi, ti], dt, df


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
