"""Exhaustive search of alignments by band-envelope correlation: every offset, along one or two slopes.

The landmark search (``matching``) needs peak *pairs* to survive with exact keys; a short excerpt buried
in other material and noise (5 s at SNR 3 dB through a 32 kb/s MP3) can leave it fewer true matches than
an unrelated song collects by chance, so the right offset never reaches the candidates. The band
residuals (``bandcorr.residual``) still correlate along it, and they are small enough to try *every*
offset: the source is cut into ``BLOCK_S`` blocks, each block's frame-by-frame dot products with every
target frame come from one matrix product, summed along the diagonals; two consecutive blocks make a
``2 * BLOCK_S`` window whose Pearson correlation is known at every target offset. A 300 s vs 300 s pair
costs ~50 ms on one core (residuals decimated to ``SEARCH_FPS``).

Taking the best of ~10^5 windows raises what unrelated audio reaches (calibration half: r ~ 0.27 against
~0.19 at the landmark search's own few candidates), so a candidate found only here is scored by the
weaker half of its best window (``bandcorr.correlation(sustained=True)``) above its own floor
(``candidates.SEARCH_CORR_FLOOR``). Speed, tempo and pitch changes are left to the
landmark search for whole files; for a short excerpt the search also runs along the variant the
landmark search ranked first (its hash matches may be too few to give the offset, but enough to say
the speed), so an excerpt played 3 % fast in noise is searched at that speed.
"""

from __future__ import annotations

import numpy as np

from audio_match.engine.bandcorr import BAND_FPS, DECIMATE, N_BANDS, pearson, shift_bands

#: Band frames averaged per search frame (31.25 -> 15.6 frames/s).
SEARCH_DECIMATE = 2
SEARCH_FPS = BAND_FPS / SEARCH_DECIMATE
#: Source block length (s); a window is two consecutive blocks.
BLOCK_S = 2.5
#: Offsets returned, at least this far apart (s): a repeated chorus can outscore the true place of a
#: noisy excerpt by a little, and the candidates' full-rate scoring decides.
TOP_OFFSETS = 3
SEPARATION_S = 1.0


def _decimate(x: np.ndarray) -> np.ndarray:
    n = x.shape[0] // SEARCH_DECIMATE * SEARCH_DECIMATE
    return x[:n].reshape(-1, SEARCH_DECIMATE, x.shape[1]).mean(axis=1)


def window_correlations(src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
    """Best window correlation at every offset ``target frame - source frame`` (search frames).

    Returns an array indexed by ``offset + n_source_frames`` (0 where no window fits).
    """
    s, t = _decimate(src), _decimate(tgt)
    ns, nt = s.shape[0], t.shape[0]
    block = int(round(BLOCK_S * SEARCH_FPS))
    n_blocks = ns // block
    best = np.zeros(ns + nt, np.float32)
    if n_blocks < 2 or nt < 2 * block:
        return best
    t_pad = np.concatenate([t, np.zeros((block, N_BANDS), np.float32)])
    # q[k, j]: sum over block k's frames u of s[u] . t[j + u - k * block] (target j meets the block start)
    q = np.zeros((n_blocks, nt), np.float32)
    for k in range(n_blocks):
        m = s[k * block : (k + 1) * block] @ t_pad.T
        acc = q[k]
        for i in range(block):
            acc += m[i, i : i + nt]
    sxx_block = np.einsum("ij,ij->i", s[: n_blocks * block], s[: n_blocks * block]).reshape(n_blocks, block).sum(1)
    cum_t = np.concatenate([[0.0], np.cumsum(np.einsum("ij,ij->i", t_pad, t_pad), dtype=np.float64)])
    width = 2 * block
    j = np.arange(nt - width + 1)
    syy = (cum_t[j + width] - cum_t[j]).astype(np.float32)
    sxy = q[:-1, : j.size] + q[1:, block : block + j.size]
    sxx = (sxx_block[:-1] + sxx_block[1:])[:, None]
    r = pearson(sxy, sxx, syy[None, :], width)
    for k in range(n_blocks - 1):  # window k meets target j at offset j - k * block
        row = best[ns - k * block : ns - k * block + j.size]
        np.maximum(row, r[k], out=row)
    return best


def best_offsets(src: np.ndarray, tgt: np.ndarray, time_scale: float = 1.0, pitch_scale: float = 1.0) -> list[float]:
    """The TOP_OFFSETS best offsets, in spectrogram frames (as ``Candidate.offset``), of two
    ``bandcorr.residual`` arrays along lines of slope ``time_scale``, the target's bands mapped through
    ``pitch_scale`` (a speed, tempo or pitch variant; 1, 1: unchanged speed)."""
    if time_scale != 1.0:
        src = _stretch(src, time_scale)
    if pitch_scale != 1.0:
        tgt = shift_bands(tgt, pitch_scale)
    best = window_correlations(src, tgt)
    ns = src.shape[0] // SEARCH_DECIMATE
    sep = int(round(SEPARATION_S * SEARCH_FPS))
    out = []
    for _ in range(TOP_OFFSETS):
        i = int(np.argmax(best))
        if best[i] <= 0:
            break
        out.append(float((i - ns) * SEARCH_DECIMATE * DECIMATE))
        best[max(0, i - sep) : i + sep + 1] = 0.0
    return out


def _stretch(x: np.ndarray, time_scale: float) -> np.ndarray:
    """Rows resampled in time (linear interpolation) so frame ``u`` holds what was at ``u / time_scale``."""
    n = int(round(x.shape[0] * time_scale))
    pos = np.minimum(np.arange(n) / time_scale, x.shape[0] - 1)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, x.shape[0] - 1)
    a = (pos - i0).astype(np.float32)[:, None]
    return x[i0] * (1.0 - a) + x[i1] * a
