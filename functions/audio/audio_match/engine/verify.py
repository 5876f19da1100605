"""Verification of a candidate alignment: do the two spectrograms agree along it?

Landmark hashing (``landmarks`` / ``matching``) is a fast *search*: it needs both peaks of a pair to
survive, and keys to match exactly, so in heavy noise or on sparse, tonal material (a howl, whale song)
only a handful of its matches are left and a chance alignment between unrelated songs can collect as
many. Once the search has proposed an alignment (a variant and a line ``t_tgt = slope * t_src +
offset``), checking it is cheap and more sensitive: the source's most prominent spectral peaks (ranked
by how far they stand out in their own spectrum, not from their frequency row over time, so sustained
and gliding harmonics count too) are mapped through the alignment and looked up in the target's peak
map with a small time/frequency tolerance; one landmark surviving is enough, no pair is needed.

A hit rate means nothing on its own (a noisy target is full of peaks), so each source peak's chance of a
hit is measured on the same map at several *null* offsets, shifted by a few seconds from the candidate.
The score of a stretch is a z-score: (hits - chance hits) / sqrt(binomial variance), and the evidence of
a candidate is the best z over any ``EVIDENCE_WINDOW_S`` of the source. On the calibration half,
unrelated pairs reach z ~ 10 at the best of their candidates (peaks of one note are not independent
draws, and songs in one key share pitches), copies in noise 15-80, but short excerpts in heavy noise
and sparse tonal material only 6-9. So the z no longer scores: the band-envelope correlation
(``bandcorr``) ranks the candidates and gives the evidence; this verification locates the stretch where
the chosen alignment holds (``best_stretch``), which needs the per-peak agreement it records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d

from audio_match.engine.align import EVIDENCE_WINDOW_S
from audio_match.engine.landmarks import (
    ABS_FLOOR,
    F_MAX_HZ,
    F_MIN_HZ,
    FRAMES_PER_S,
    N_FFT,
    SAMPLE_RATE,
    frame_blocks,
    sliding_max,
    strongest_per_second,
)

#: Peaks kept per second (the most prominent in their spectrum). Fewer, stronger peaks verify better
#: than many weak ones: weak peaks are the first to drown in noise, and dense peaks of one sustained
#: harmonic are not independent draws (measured on calibration-half excerpts at SNR -3..3 dB).
DENSE_PEAKS_PER_S = 40
#: A peak is the maximum of (frames, bins) around it (~±70 ms, ±62 Hz) ...
DENSE_NEIGHBOURHOOD = (9, 9)
#: ... ranked by its height above the mean of this many bins around it (spectral prominence, ln units).
FREQ_CONTEXT_BINS = 17
#: and must stand out from that context by at least this much.
MIN_PROMINENCE = 0.5
#: Lookup tolerance: a mapped source peak hits when a target peak is within (frames, bins).
TOL_FRAMES, TOL_BINS = 1, 1
#: Null offsets (frames, ~2.5-8 s, not multiples of each other or of common beat periods).
NULL_SHIFTS = (-503, -311, -163, 157, 293, 487)
#: Offset jitter tried around the candidate (frames): the search's offsets are quantised.
OFFSET_JITTER = (-1, 0, 1)
_LO_BIN = int(np.floor(F_MIN_HZ * N_FFT / SAMPLE_RATE))
_HI_BIN = int(np.ceil(F_MAX_HZ * N_FFT / SAMPLE_RATE))


@dataclass(frozen=True)
class DensePeaks:
    """Dense spectral peaks of one recording: frame index (int32) and FFT bin (uint8)."""

    t: np.ndarray
    f: np.ndarray
    n_frames: int

    @classmethod
    def empty(cls) -> DensePeaks:
        return cls(np.zeros(0, np.int32), np.zeros(0, np.uint8), 0)

    @classmethod
    def concat(cls, parts: list[tuple[DensePeaks, int]]) -> DensePeaks:
        """Peaks of consecutive chunks, each shifted by its start frame."""
        if not parts:
            return cls.empty()
        t = np.concatenate([p.t + np.int32(start) for p, start in parts]).astype(np.int32)
        f = np.concatenate([p.f for p, _ in parts]).astype(np.uint8)
        return cls(t, f, max(start + p.n_frames for p, start in parts))


def dense_peaks(logmag: np.ndarray) -> DensePeaks:
    """The DENSE_PEAKS_PER_S most prominent local spectral maxima per second (above the silence floor)."""
    n_frames = logmag.shape[0]
    if n_frames < 3:
        return DensePeaks(np.zeros(0, np.int32), np.zeros(0, np.uint8), n_frames)
    halo = DENSE_NEIGHBOURHOOD[0] // 2 + 1
    found = [_block_dense_peaks(logmag, *block) for block in frame_blocks(n_frames, halo)]
    ti, fi, strength = (np.concatenate(parts) for parts in zip(*found, strict=True))
    if ti.size == 0:
        return DensePeaks(np.zeros(0, np.int32), np.zeros(0, np.uint8), n_frames)
    keep = np.sort(strongest_per_second(ti, strength, DENSE_PEAKS_PER_S))
    return DensePeaks(ti[keep].astype(np.int32), (fi[keep] + _LO_BIN).astype(np.uint8), n_frames)


def _block_dense_peaks(
    logmag: np.ndarray, first: int, last: int, start: int, stop: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense peaks of frames ``start:stop`` computed on frames ``first:last`` (``frame_blocks``):
    global frame, bin above _LO_BIN, prominence."""
    band = np.ascontiguousarray(logmag[first:last, _LO_BIN : _HI_BIN + 1])
    local_max = sliding_max(sliding_max(band, DENSE_NEIGHBOURHOOD[0], axis=0), DENSE_NEIGHBOURHOOD[1], axis=1)
    keep = slice(start - first, stop - first)
    band, local_max = band[keep], local_max[keep]
    prominence = band - uniform_filter1d(band, size=FREQ_CONTEXT_BINS, axis=1, mode="nearest")
    ok = (band == local_max) & (prominence > MIN_PROMINENCE) & (band > np.log(ABS_FLOOR))
    ti, fi = np.nonzero(ok)
    return ti + start, fi, prominence[ti, fi]


class PeakMap:
    """The target's dense peaks as a boolean (frame, bin) map dilated by the lookup tolerance."""

    def __init__(self, peaks: DensePeaks) -> None:
        n_bins = N_FFT // 2 + 1
        self.n_frames = max(int(peaks.n_frames), int(peaks.t.max()) + 1 if peaks.t.size else 0)
        grid = np.zeros((self.n_frames + 2 * TOL_FRAMES, n_bins + 2 * TOL_BINS), dtype=bool)
        for dt in range(2 * TOL_FRAMES + 1):
            for df in range(2 * TOL_BINS + 1):
                grid[peaks.t + dt, peaks.f.astype(np.int64) + df] = True
        self.grid = grid[TOL_FRAMES:-TOL_FRAMES, TOL_BINS:-TOL_BINS]
        self.n_bins = n_bins

    def lookup(self, t: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(inside the map, hit) for integer positions ``t``, ``f``."""
        inside = (t >= 0) & (t < self.n_frames) & (f >= 0) & (f < self.n_bins)
        hit = np.zeros(t.size, dtype=bool)
        hit[inside] = self.grid[t[inside], f[inside]]
        return inside, hit


@dataclass(frozen=True)
class Verification:
    """A verified candidate: its best-window z-score and the per-peak agreement along it.

    ``t_src`` (sorted source frames of the peaks that land inside the target) and ``excess`` (hit minus
    its chance) let ``align`` place segment ends where the agreement stops.
    """

    z: float
    offset: float
    t_src: np.ndarray
    excess: np.ndarray
    chance: np.ndarray


def verify(src: DensePeaks, target: PeakMap, slope: float, offset: float, pitch_scale: float) -> Verification:
    """Verify the alignment ``t_tgt = slope * t_src + offset`` (frames) with frequencies ``* pitch_scale``."""
    t = src.t.astype(np.float64)
    f = np.rint(src.f.astype(np.float64) * pitch_scale).astype(np.int64)
    mapped = slope * t + offset

    def at(shift: float) -> tuple[np.ndarray, np.ndarray]:
        return target.lookup(np.rint(mapped + shift).astype(np.int64), f)

    # The most hits; on a tie (within the tolerance) the smallest move.
    best_d = float(max(OFFSET_JITTER, key=lambda d: (int(np.count_nonzero(at(d)[1])), -abs(d))))
    inside, hit = at(best_d)
    nulls = [at(best_d + s) for s in NULL_SHIFTS]
    null_in = np.stack([i for i, _ in nulls])
    null_hit = np.stack([h for _, h in nulls])
    n_in = null_in.sum(axis=0)
    overall = float(null_hit.sum()) / max(1, int(null_in.sum()))
    chance = np.where(n_in > 0, null_hit.sum(axis=0) / np.maximum(n_in, 1), overall)
    sel = np.nonzero(inside)[0]
    ts = t[sel]
    excess = hit[sel].astype(np.float64) - chance[sel]
    return Verification(
        z=window_z(ts, excess, chance[sel]),
        offset=offset + best_d,
        t_src=ts,
        excess=excess,
        chance=chance[sel],
    )


def window_z(ts: np.ndarray, excess: np.ndarray, chance: np.ndarray) -> float:
    """Largest ``sum(excess) / sqrt(1 + sum(p (1 - p)))`` over any EVIDENCE_WINDOW_S of sorted ``ts``."""
    if ts.size == 0:
        return 0.0
    hi = np.searchsorted(ts, ts + EVIDENCE_WINDOW_S * FRAMES_PER_S, side="right")
    e = np.concatenate([[0.0], np.cumsum(excess)])
    v = np.concatenate([[0.0], np.cumsum(chance * (1.0 - chance))])
    z = (e[hi] - e[: ts.size]) / np.sqrt(1.0 + v[hi] - v[: ts.size])
    return float(max(0.0, z.max()))


def best_stretch(v: Verification) -> tuple[float, float, float]:
    """The source stretch (first, last frame) where the agreement along the candidate holds, and its
    excess over chance; (0, 0, 0) when there is none.

    A maximum-subarray of the per-peak excess minus half the mean excess of the best window: inside a
    copy the sum keeps rising (by half its rate), outside it falls by as much, so the ends stop where
    the agreement stops instead of wandering through chance (whose excess averages 0).
    """
    if v.t_src.size == 0:
        return 0.0, 0.0, 0.0
    hi = np.searchsorted(v.t_src, v.t_src + EVIDENCE_WINDOW_S * FRAMES_PER_S, side="right")
    cum = np.concatenate([[0.0], np.cumsum(v.excess)])
    sums = cum[hi] - cum[: v.t_src.size]
    i = int(np.argmax(sums))
    rate = max(0.0, float(sums[i])) / max(1, int(hi[i]) - i)
    prefix = np.concatenate([[0.0], np.cumsum(v.excess - 0.5 * rate)])
    run_min = np.minimum.accumulate(prefix[:-1])
    gain = prefix[1:] - run_min
    j = int(np.argmax(gain))
    first = int(np.nonzero(prefix[: j + 1] == run_min[j])[0][0])
    return float(v.t_src[first]), float(v.t_src[j]), float(cum[j + 1] - cum[first])
