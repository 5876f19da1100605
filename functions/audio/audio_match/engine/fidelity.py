"""Level fidelity of an alignment: does the target keep the source's spectral *levels*?

Band-envelope correlation (``bandcorr``) and dense peaks (``verify``) ask whether the two spectra change
together and peak in the same places. Both also hold for audio that is not a copy but a second rendering
of the same material: one text read by two voices of one speech synthesizer (the same phoneme timing,
the same pitch contour, other formants), one melody played again with one timbre. On the null bench's
calibration half those pairs reach band correlations of 0.5-0.78 along a landmark line at speed ~1,
which is where copies in heavy noise (SNR 0-5 dB) sit too.

What a copy keeps and a re-rendering does not is the level of each time-frequency cell where the source
is loud, up to a gain per band (EQ, codec coloration, a telephone band) and a gain per frame (volume
changes, compression, a host track's dynamics). What a copy goes through *adds* energy (noise, a host
track mixed over it) rather than removing it, and a speed or pitch change moves cells, which the
alignment maps back. So: map the target's log band power through the alignment (time, pitch, a few
sub-frame nudges), take the source's louder half of frames in each band, remove a low quantile of the
difference per band and then per frame (the gains), and average how far the target falls *below* the
source (clipped at ``CLIP`` ln units so a dropout counts once) over the best ``WINDOW_S`` of the stretch
where the alignment holds. That is the *level deviation*, in natural-log power units.

Measured (``python -m bench.audio_fidelity --half calib``, seed 20261125, bench/results/
audio_fidelity-calib.md): copies of every edit family stay at or below 0.069 (excerpts 5 dB under a
host track + MP3 the highest, noise at SNR 0 dB 0.063, every other family under 0.055), while the hard
negatives the search aligned near the match line lie at 0.101 and more (other voices reading the same
text from 0.101, melodies of one timbre from 0.103, tones from 0.12). ``factor`` turns it into a weight
on the alignment's evidence: 1 up to ``COPY_DEVIATION``, falling to 0 at ``OTHER_DEVIATION`` (squared,
so the weight is already small where re-renderings start).

The limit: noise far above the bench's harshest family (SNR 0 dB) blurs the levels too. An 8 s excerpt
at SNR -6 dB measures 0.081 (weight 0.9), at -9 dB 0.099 (weight 0.13: no match any more), which is
where other voices reading the same text start (``tests/audio/test_verify.py``).
"""

from __future__ import annotations

import numpy as np

from audio_match.engine.bandcorr import BAND_FPS, DECIMATE, LOG_LO, BandEnergies, mapped_band_frames, shift_bands

#: A cell counts when the source's band is in its louder half over the stretch (``LOUD_QUANTILE``) and
#: above the silence floor by this much (ln power): the cells whose level a copy must keep.
LOUD_QUANTILE = 0.5
LOUD_ABOVE_FLOOR = 3.0
#: Deficits are clipped here (ln power, ~13 dB): a dropout or a masked cell counts once.
CLIP = 3.0
#: The gains per band and per frame are this quantile of the differences (``_window_deviation``): low,
#: because added noise raises most cells; 0.2 separated the calibration half's copies from its hard
#: negatives by a wider ratio (1.46) than 0.3 (1.22) or the median, and kept 5 s tonal excerpts at
#: SNR -3 dB (tests/audio/test_bandcorr.py) at copy level (0.08-0.09 against 0.15-0.18 at 0.3).
GAIN_QUANTILE = 0.2
#: The deviation is the lowest mean over any window this long (s) of the stretch; shorter stretches are
#: widened to it around their centre, so a short chance stretch is judged on its neighbourhood.
WINDOW_S = 5.0
#: Global nudges of the alignment tried (band frames of 32 ms; ``level_deviation``) ...
NUDGES = (-0.5, -0.25, 0.0, 0.25, 0.5)
#: ... and pitch factors around the alignment's (one step of the search's 1 % grid either way).
PITCH_STEPS = (1.0 / 1.01, 1.01)
#: A stretch longer than this (s) is measured on its middle part: a copy keeps its levels throughout, and
#: the cost stays bounded on 300 s files.
MAX_STRETCH_S = 60.0
#: Windows with fewer loud cells than this are not scored (a near-silent stretch says nothing).
MIN_CELLS = 100
#: Below 2.5 s of overlap (``bandcorr.MIN_OVERLAP_S``) no deviation is measured: ``inf``.
MIN_OVERLAP_S = 2.5
#: The weight is 1 up to COPY_DEVIATION and 0 from OTHER_DEVIATION (ln power units). COPY_DEVIATION is
#: above the largest deviation of any calibration-half copy (0.069), OTHER_DEVIATION just above the
#: smallest of the hard negatives the search aligned near the match line (0.101, weight 0.09 there):
#: ``python -m bench.audio_fidelity --half calib``.
COPY_DEVIATION = 0.08
OTHER_DEVIATION = 0.11


def level_deviation(
    src: BandEnergies,
    tgt: BandEnergies,
    slope: float,
    offset: float,
    pitch_scale: float,
    first: float,
    last: float,
) -> float:
    """Level deviation of the alignment ``t_tgt = slope * t_src + offset`` (spectrogram frames, as in
    ``bandcorr.correlation``) with frequencies ``* pitch_scale``, over source frames ``first``..``last``
    (widened to WINDOW_S); ``inf`` when the overlap is too short or too quiet to measure.

    The alignment is known to a spectrogram frame (16 ms) and speech changes level within one, so the
    target is read between its band frames (linear interpolation) at a few global sub-frame nudges
    (``NUDGES``) and the lowest deviation counts: a nudge moves the whole alignment, which realigns a
    copy but cannot put another voice's formants where the source's were.
    """
    es, et = src.log_power(), tgt.log_power()
    if es.shape[0] == 0 or et.shape[0] < 2:
        return float("inf")
    u = np.arange(es.shape[0], dtype=np.float64)
    x = mapped_band_frames(es.shape[0], slope, offset)
    lo, hi = _widened(first / DECIMATE, last / DECIMATE, WINDOW_S * BAND_FPS)
    lo, hi = _capped(lo, hi, MAX_STRETCH_S * BAND_FPS)
    span = max(abs(n) for n in NUDGES)
    ok = np.nonzero((x - span >= 0) & (x + span <= et.shape[0] - 1) & (u >= lo) & (u <= hi))[0]
    if ok.size < MIN_OVERLAP_S * BAND_FPS:
        return float("inf")
    s = es[ok]
    loud = (s >= np.quantile(s, LOUD_QUANTILE, axis=0, keepdims=True)) & (s > LOG_LO + LOUD_ABOVE_FLOOR)
    if int(loud.sum()) < MIN_CELLS:
        return float("inf")
    # The best time nudge at the alignment's pitch, then the pitch grid's neighbours at that nudge: the
    # search's pitch is one of a 1 % grid and may sit a step off (a copy in noise picks 0.99 or 1.01).
    by_nudge = {n: _window_deviation(s, _read(et, x[ok] + n, pitch_scale), loud) for n in NUDGES}
    nudge = min(by_nudge, key=lambda n: by_nudge[n])
    best = by_nudge[nudge]
    for step in PITCH_STEPS:
        best = min(best, _window_deviation(s, _read(et, x[ok] + nudge, pitch_scale * step), loud))
    return best


def _read(et: np.ndarray, x: np.ndarray, pitch_scale: float) -> np.ndarray:
    """Target log band power at fractional band frames ``x`` (inside ``0..len-1``), pitch-mapped."""
    i0 = np.minimum(np.floor(x).astype(np.int64), et.shape[0] - 2)
    a = (x - i0)[:, None].astype(np.float32)
    return shift_bands(et[i0] * (1.0 - a) + et[i0 + 1] * a, pitch_scale)


def _window_deviation(s: np.ndarray, t: np.ndarray, loud: np.ndarray) -> float:
    """Lowest mean clipped *deficit* over loud cells in any WINDOW_S, after removing a gain per band (EQ,
    codec coloration, a telephone band) and then per frame (volume, compression, ducking), each the
    GAIN_QUANTILE of the differences; ``inf`` when no window has MIN_CELLS loud cells.

    One-sided because what a copy goes through adds energy (noise, a host track mixed over it, codec
    noise) or scales it (the gains), so a copy's cells sit at or above the source's level; another
    rendering also has cells well *below* it (formants elsewhere, notes missing). The gains are a low
    quantile, not the median, for the same reason: where added material dominates, the difference
    says nothing about the gain.
    """
    d = t - s
    d = d - _masked_quantile(d, loud, GAIN_QUANTILE, axis=0)[None, :]
    d = d - _masked_quantile(d, loud, GAIN_QUANTILE, axis=1)[:, None]
    a = np.where(loud, np.minimum(np.maximum(-d, 0.0), CLIP), 0.0).sum(axis=1)
    n = loud.sum(axis=1).astype(np.float64)
    width = min(s.shape[0], int(WINDOW_S * BAND_FPS))
    box = np.ones(width)
    sa, sn = np.convolve(a, box, mode="valid"), np.convolve(n, box, mode="valid")
    scored = sn >= MIN_CELLS
    if not scored.any():
        return float("inf")
    return float(np.min(sa[scored] / sn[scored]))


def factor(deviation: float) -> float:
    """Weight on an alignment's evidence: 1 up to COPY_DEVIATION, ``((OTHER - dev) / (OTHER - COPY))^2``
    between, 0 from OTHER_DEVIATION. An unmeasurable deviation (``inf``: the source's stretch is too quiet
    or short, e.g. a distant howl) weighs nothing off: there is no sign of another rendering, only no
    proof of a copy, which :func:`is_conclusive` says."""
    if not np.isfinite(deviation):
        return 1.0
    x = (OTHER_DEVIATION - float(deviation)) / (OTHER_DEVIATION - COPY_DEVIATION)
    return float(min(1.0, max(0.0, x)) ** 2)


def is_conclusive(deviation: float) -> bool:
    """Whether the levels were measured and are those of a copy (at most COPY_DEVIATION): otherwise the
    evidence may still make a match, never a ``high`` one (``medialayer.engine.Comparison.conclusive``)."""
    return bool(np.isfinite(deviation) and deviation <= COPY_DEVIATION)


def _capped(lo: float, hi: float, width: float) -> tuple[float, float]:
    """The middle ``width`` of ``lo..hi`` when it is longer."""
    if hi - lo <= width:
        return lo, hi
    mid = 0.5 * (lo + hi)
    return mid - 0.5 * width, mid + 0.5 * width


def _widened(lo: float, hi: float, width: float) -> tuple[float, float]:
    """``lo..hi`` widened symmetrically to at least ``width``."""
    if hi - lo >= width:
        return lo, hi
    mid = 0.5 * (lo + hi)
    return mid - 0.5 * width, mid + 0.5 * width


def _masked_quantile(d: np.ndarray, mask: np.ndarray, q: float, axis: int) -> np.ndarray:
    """The ``q`` quantile (nearest rank) of ``d`` over ``axis`` where ``mask`` holds (0 where none does)."""
    m = np.sort(np.where(mask, d, np.inf), axis=axis)
    count = mask.sum(axis=axis)
    rank = np.maximum(0, np.rint(q * (count - 1)).astype(np.int64))
    picked = np.take_along_axis(m, np.expand_dims(rank, axis), axis=axis).squeeze(axis)
    return np.where(count > 0, picked, 0.0)
