"""The per-pair null: the same search run against a decoy of the target, and the margin it leaves.

Every comparison picks the best of very many hypotheses (offsets x 51 speed / tempo / pitch variants x
up to ~10^5 correlation windows), and the best of many chance alignments is high — higher for smooth,
tonal or repetitive content (two melodies in one key and timbre, two beep sequences, one speaker's other
sentences; issue 14). A fixed threshold fitted on ordinary negatives cannot know that. So each pair
brings its own null (GUIDE §4, "The look-elsewhere effect"): the *decoy* is the target played backwards
(``reversed_signature``, built from the signature, no second decode) — same peaks, keys, band energies
and rhythm statistics, but any true alignment with the source is gone — and the engine runs its search
against it again, replaying exactly the hypothesis families the real search tried (the variants it
matched in full, the line alone when the line decided alone, otherwise every candidate and the
exhaustive correlation search along the same variants: ``candidates.best_verified(replay=...)``).

The pair's raw score is then the real evidence's margin over the decoy's (``margin``):
``log2(1 + real) - weight * log2(1 + decoy)``, and every segment's raw evidence is put on the same
scale with the same decoy. Measured on the calibration halves, every weight above 0 separates copies
from hard negatives worse than the plain evidence (``NULL_WEIGHT``), so the engine ships with the decoy
off and ``raw_score`` unchanged; the machinery stays for the next decoy design to be measured with.

A decoy can only lower the raw, so when the real evidence alone is already below the calibration's
clear-no-match knot the decoy is skipped (``skip_decoy``): the verdict and its confidence band are then
the same as with it (only the score inside [0, 0.2] differs).
"""

from __future__ import annotations

import numpy as np

from audio_match.engine import bandcorr
from audio_match.engine.landmarks import PeakPairs
from audio_match.engine.verify import DensePeaks

#: How much of the decoy's log evidence is taken off the real's (1: the plain log ratio). Measured 0, so
#: the decoy is off by default (``AudioEngine(null_weight=...)`` turns it on): on the calibration halves
#: (bench audio calibration half, seed 20261125: 240 positives, 218 negatives; null bench calibration
#: half, seed 20261125: 1,355 of its 4,195 pairs, every hard kind in full, 400 ``tts_voices`` and 250
#: ``unrelated``), the fraction of positives above every negative is 94.2 % at weight 0, 89.2 % at 0.25,
#: 72.9 % at 0.5 and 30.8 % at 1. The strongest negatives (one text read by two synthetic voices, raw
#: up to 7.9; one voice reading other texts, 6.7) are real partial similarity, not the best of many
#: chance alignments: their decoys stay low (median 0.0 and 1.8 bits). A copy's decoy instead holds the
#: source's own time-reversal symmetry (steady beats, loops: median 2.4-3.4 bits, up to 7), which the
#: margin takes off the positives. Blocks of 2 s in reverse order keep the copy's alignment inside each
#: block (a copy's decoy then sits ~2.3 bits under the real), which is worse.
NULL_WEIGHT = 0.0


def reversed_signature(sig):  # noqa: ANN001, ANN201 (engine.AudioSignature; imported there)
    """The signature of the target played backwards, from its own parts (see the module doc).

    Times are mirrored about ``2 * band_frames - 1`` spectrogram frames, which maps band frame ``u``
    (spectrogram frames ``2u, 2u + 1``) onto band frame ``band_frames - 1 - u``, so the reversed peaks,
    dense peaks and band rows stay on one timeline. A peak pair reverses into its far peak as the anchor:
    anchor time ``T - (t1 + dt)``, anchor frequency the partner's (``lf1 + dlf``), ``dlf`` negated, the
    same gap. Pairs are left in that (descending) order: the matcher never needs the target's sorted.
    """
    from audio_match.engine.engine import AudioSignature

    n_band = sig.bands.q.shape[0]
    mirror = 2 * n_band - 1 if n_band else max(int(sig.dense.n_frames) - 1, 0)
    p = sig.pairs
    pairs = PeakPairs(
        t1=(np.float32(mirror) - (p.t1 + p.dt)).astype(np.float32),
        lf1=(p.lf1 + p.dlf).astype(np.float32),
        dlf=(-p.dlf).astype(np.float32),
        dt=p.dt.astype(np.float32, copy=True),
    )
    t = mirror - sig.dense.t.astype(np.int64)
    inside = (t >= 0) & (t < max(int(sig.dense.n_frames), 1))
    dense = DensePeaks(t[inside].astype(np.int32), sig.dense.f[inside].copy(), sig.dense.n_frames)
    bands = bandcorr.BandEnergies(np.ascontiguousarray(sig.bands.q[::-1]))
    return AudioSignature(pairs=pairs, duration_s=sig.duration_s, n_peaks=sig.n_peaks, dense=dense, bands=bands)


def log_evidence(evidence: float) -> float:
    """``log2(1 + evidence)`` (evidence below 0 counts as 0)."""
    return float(np.log2(1.0 + max(0.0, float(evidence))))


def margin(real: float, decoy: float, weight: float = NULL_WEIGHT) -> float:
    """Raw score of evidence ``real`` when the decoy search found ``decoy`` (module doc)."""
    return log_evidence(real) - weight * log_evidence(decoy)


def skip_decoy(real: float, clear_raw: float | None, weight: float = NULL_WEIGHT) -> bool:
    """Whether the decoy search can be skipped without changing the verdict: the decoy is off
    (``weight`` 0), or the real evidence alone is below the clear-no-match knot ``clear_raw`` (None while
    uncalibrated: never) — a decoy only lowers the raw, so the pair stays a clear no-match."""
    return weight <= 0.0 or (clear_raw is not None and log_evidence(real) < clear_raw)
