"""Spectro-temporal correlation of a candidate alignment: do the two spectral envelopes move together?

The dense-peak verifier (``verify``) asks whether the source's peaks reappear as peaks in the target. In
noise the target's peak map fills with noise peaks, and on sparse or tonal material (a howl, whale song)
the few real peaks of one note are not independent draws, so at a true alignment in heavy noise its
z-score can stay below what unrelated music reaches at its best candidate (z ~ 10). A binary map also
throws the magnitudes away.

This statistic keeps them: log energies in ``N_BANDS`` log-spaced bands (150-3800 Hz, ~31 frames/s), from
which each band's running mean over ``MEAN_WINDOW_S`` is removed (a stationary noise floor, EQ, codec
coloration and loudness drift all live there) and then each frame's mean over bands (broadband loudness
changes: a host track's dynamics, noise bursts). What is left is how the spectrum *changes* in time and
frequency; along a true alignment the target's changes follow the source's even when noise halves their
size, while unrelated audio gives no correlation. The score is the Pearson correlation of the two
residuals (target mapped through the alignment, frequencies scaled by the variant's pitch) over the best
``CORR_WINDOW_S`` of the overlap. On the calibration half the best candidate of an unrelated pair reaches
r ~ 0.19, copies in noise 0.44 and more, and excerpts at SNR -3..3 dB whose alignment is among the
candidates 0.24 and more: it is an absolute, not a relative, measure, so it needs no null offsets.

The signature keeps the band energies quantised to bytes (``BandEnergies``): ~90 KB per minute.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d

from audio_match.engine.landmarks import ABS_FLOOR, F_MAX_HZ, F_MIN_HZ, FRAMES_PER_S, N_FFT, SAMPLE_RATE

#: Log-spaced bands between F_MIN_HZ and F_MAX_HZ (~10 per octave: a 7 % pitch change moves one band).
N_BANDS = 48
#: Spectrogram frames averaged into one band frame (62.5 -> 31.25 frames/s: envelopes change slower).
DECIMATE = 2
BAND_FPS = FRAMES_PER_S / DECIMATE
#: Power added to every band (the engine's per-bin silence floor): near-silence is flat, not noise.
FLOOR_POWER = ABS_FLOOR**2
#: Byte quantisation of natural-log band power: LOG_LO + q * LOG_STEP (~0.31 dB steps, 18 ln units).
LOG_LO = float(np.log(FLOOR_POWER))
LOG_STEP = 1.0 / 14.0
#: Running mean removed from each band (s): longer than a note, shorter than a noise or level change.
MEAN_WINDOW_S = 3.0
#: The correlation of the best stretch this long counts (s); overlaps shorter than MIN_OVERLAP_S score 0
#: (a correlation over a handful of frames means nothing).
CORR_WINDOW_S = 5.0
MIN_OVERLAP_S = 2.5
_BANDS_PER_OCTAVE = N_BANDS / float(np.log2(F_MAX_HZ / F_MIN_HZ))


def _band_matrix() -> np.ndarray:
    """(bins, bands) 0/1 matrix summing FFT-bin power into bands; a band narrower than a bin takes the
    nearest bin."""
    edges = np.geomspace(F_MIN_HZ, F_MAX_HZ, N_BANDS + 1)
    freqs = np.arange(N_FFT // 2 + 1) * SAMPLE_RATE / N_FFT
    m = np.zeros((freqs.size, N_BANDS), dtype=np.float32)
    for b in range(N_BANDS):
        inside = (freqs >= edges[b]) & (freqs < edges[b + 1])
        if inside.any():
            m[inside, b] = 1.0
        else:
            m[int(np.argmin(np.abs(freqs - np.sqrt(edges[b] * edges[b + 1])))), b] = 1.0
    return m


_BAND_MATRIX = _band_matrix()
#: Spectrogram frames per block in ``band_energies``.
_BLOCK = 1024


@dataclass(frozen=True)
class BandEnergies:
    """Quantised log band power of one recording, (band frames, N_BANDS) uint8, at BAND_FPS."""

    q: np.ndarray

    @classmethod
    def empty(cls) -> BandEnergies:
        return cls(np.zeros((0, N_BANDS), np.uint8))

    @classmethod
    def concat(cls, parts: list[tuple[BandEnergies, float]]) -> BandEnergies:
        """Band energies of consecutive chunks placed at their start times (s); gaps stay at the floor."""
        placed = [(p.q, int(round(start * BAND_FPS))) for p, start in parts if p.q.shape[0]]
        if not placed:
            return cls.empty()
        out = np.zeros((max(s + q.shape[0] for q, s in placed), N_BANDS), np.uint8)
        for q, s in sorted(placed, key=lambda qs: qs[1]):
            out[s : s + q.shape[0]] = q
        return cls(out)

    def log_power(self) -> np.ndarray:
        return LOG_LO + self.q.astype(np.float32) * np.float32(LOG_STEP)


def band_energies(logmag: np.ndarray) -> BandEnergies:
    """Quantised log power in N_BANDS bands of a natural-log magnitude spectrogram (frames, bins)."""
    n = logmag.shape[0] // DECIMATE * DECIMATE
    if n == 0:
        return BandEnergies.empty()
    summed = np.empty((n, N_BANDS), np.float32)
    for start in range(0, n, _BLOCK):  # in blocks that stay in cache; same result as one pass
        part = np.multiply(logmag[start : min(n, start + _BLOCK)], np.float32(2.0), dtype=np.float32)
        np.exp(part, out=part)
        np.matmul(part, _BAND_MATRIX, out=summed[start : start + part.shape[0]])
    power = summed.reshape(-1, DECIMATE, N_BANDS).mean(axis=1)
    q = np.rint((np.log(power + FLOOR_POWER) - LOG_LO) / LOG_STEP)
    return BandEnergies(np.clip(q, 0, 255).astype(np.uint8))


def residual(bands: BandEnergies) -> np.ndarray:
    """Log band power minus each band's running mean and then each frame's mean over bands (float32)."""
    e = bands.log_power()
    if e.shape[0] == 0:
        return e
    size = int(MEAN_WINDOW_S * BAND_FPS) | 1
    x = e - uniform_filter1d(e, size=size, axis=0, mode="nearest")
    return x - x.mean(axis=1, keepdims=True)


def correlation(
    src: np.ndarray, tgt: np.ndarray, slope: float, offset: float, pitch_scale: float, *, sustained: bool = False
) -> float:
    """Best CORR_WINDOW_S correlation of residuals along ``t_tgt = slope * t_src + offset``.

    ``offset`` is in spectrogram frames (FRAMES_PER_S), as everywhere else in the engine; a source band
    frame covers DECIMATE spectrogram frames, so it maps through its centre. ``sustained``: the best
    window scores the *lower* of its two halves' correlations, so an alignment must hold throughout it
    (a chance burst of agreement, one shared word or chord, lifts one half only).
    """
    tt = np.rint(mapped_band_frames(src.shape[0], slope, offset)).astype(np.int64)
    ok = np.nonzero((tt >= 0) & (tt < tgt.shape[0]))[0]
    if ok.size < MIN_OVERLAP_S * BAND_FPS:
        return 0.0
    s = src[ok]
    t = shift_bands(tgt[tt[ok]], pitch_scale)
    width = min(ok.size, int(CORR_WINDOW_S * BAND_FPS))
    xy, xx, yy = np.einsum("ij,ij->i", s, t), np.einsum("ij,ij->i", s, s), np.einsum("ij,ij->i", t, t)
    box = np.ones(width, dtype=np.float32)
    sxy, sxx, syy = (np.convolve(v, box, mode="valid") for v in (xy, xx, yy))
    r = pearson(sxy, sxx, syy, width)
    i = int(np.argmax(r))
    if not sustained:
        return float(max(0.0, r[i]))
    h = width // 2
    halves = [pearson(xy[a:b].sum(), xx[a:b].sum(), yy[a:b].sum(), b - a) for a, b in ((i, i + h), (i + h, i + width))]
    return float(max(0.0, min(halves)))


def mapped_band_frames(n: int, slope: float, offset: float) -> np.ndarray:
    """Where the source's band frames ``0..n-1`` land on the target's band-frame axis (fractional) under
    ``t_tgt = slope * t_src + offset`` in spectrogram frames: a band frame covers DECIMATE spectrogram
    frames, so it maps through its centre."""
    centre = 0.5 * (DECIMATE - 1)
    return (slope * (DECIMATE * np.arange(n, dtype=np.float64) + centre) + offset - centre) / DECIMATE


def pearson(sxy: np.ndarray, sxx: np.ndarray, syy: np.ndarray, width: int) -> np.ndarray:
    """Correlation from windowed sums; a floor on the variances keeps flat (silent, stationary)
    stretches from dividing by ~0."""
    floor = np.float32(1e-3 * width * N_BANDS)
    return sxy / np.sqrt((sxx + floor) * (syy + floor))


def shift_bands(t: np.ndarray, pitch_scale: float) -> np.ndarray:
    """Target rows resampled along bands so band ``b`` holds what the source's band ``b`` becomes under
    ``pitch_scale`` (linear interpolation; edge bands repeat)."""
    d = float(np.log2(pitch_scale)) * _BANDS_PER_OCTAVE
    if abs(d) < 1e-3:
        return t
    x = np.clip(np.arange(N_BANDS) + d, 0, N_BANDS - 1)
    i0 = np.floor(x).astype(np.int64)
    i1 = np.minimum(i0 + 1, N_BANDS - 1)
    a = (x - i0).astype(np.float32)
    return t[:, i0] * (1.0 - a) + t[:, i1] * a
