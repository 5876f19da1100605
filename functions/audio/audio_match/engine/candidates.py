"""Candidate alignments for dense verification, and what a verified candidate does to the segments.

The landmark search (:mod:`matching`, :mod:`align`) ranks alignments by hash matches; in heavy noise or
on sparse material the true one may rank a few places down. ``propose`` lists what is worth checking
(the best line, the top variants' offset peaks, the identity's best offset peaks), ``best_verified``
scores them all by spectro-temporal correlation (:func:`bandcorr.correlation`, the score) and dense peak
verification (:func:`verify.verify`, which locates the agreeing stretch) and keeps the best correlated
one, and the engine then either confirms its
landmark line (``is_on_line``; the segment is widened to the verified stretch, ``extend_to_stretch``)
or, when another candidate verifies better, reports that candidate's stretch (``verified_segment``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from audio_match.engine import align, bandcorr
from audio_match.engine.matching import Variant, VariantMatches, match_weights
from audio_match.engine.verify import DensePeaks, PeakMap, Verification, verify

#: Verified candidates: offset peaks of this many top variants, and this many of the identity's
#: offset peaks, at least CANDIDATE_SEPARATION frames apart.
VERIFY_VARIANTS = 3
IDENTITY_CANDIDATES = 8
CANDIDATE_SEPARATION = 6


@dataclass(frozen=True)
class Candidate:
    """An alignment to verify: ``t_tgt = slope * t_src + offset`` (frames) under ``variant``."""

    variant: Variant
    slope: float
    offset: float


def top_offsets(vm: VariantMatches, k: int, weights: np.ndarray | None = None) -> list[float]:
    """The ``k`` strongest offset peaks (3-frame windows, key-weighted) of one variant's matches."""
    if vm.t_src.size == 0:
        return []
    weights = match_weights(vm.keys) if weights is None else weights
    off = vm.t_tgt.astype(np.float64) - vm.variant.time_scale * vm.t_src
    b = np.rint(off).astype(np.int64)
    lo = int(b.min())
    hist = np.bincount(b - lo, weights=weights)
    score = np.convolve(hist, np.ones(3), mode="same")
    out = []
    for _ in range(k):
        i = int(np.argmax(score))
        if score[i] <= 0:
            break
        out.append(float(i + lo))
        score[max(0, i - CANDIDATE_SEPARATION) : i + CANDIDATE_SEPARATION + 1] = 0.0
    return out


def propose(results: list[VariantMatches], line: align.Line | None, weights: np.ndarray) -> list[Candidate]:
    """What to verify: the best line, the top variants' offset peaks, and the identity's best peaks
    (a copy in heavy noise often ranks a few places down in the identity's offset histogram).
    ``weights`` are the match weights of ``results[0]``."""
    best = results[0]
    out = [Candidate(best.variant, line.slope, line.offset)] if line is not None else []
    out += [Candidate(r.variant, r.variant.time_scale, r.peak_offset) for r in results[:VERIFY_VARIANTS]]
    identity = next((r for r in results if r.variant == Variant("speed", 1.0)), None)
    if identity is not None:
        known = weights if identity is best else None  # the best variant's weights are already known
        out += [Candidate(identity.variant, 1.0, o) for o in top_offsets(identity, IDENTITY_CANDIDATES, known)]
    return out


@dataclass(frozen=True)
class Scored:
    """A candidate with its band-envelope correlation (the score) and its dense peak verification."""

    candidate: Candidate
    correlation: float
    verification: Verification


def best_verified(
    source: DensePeaks,
    target: DensePeaks,
    bands: tuple[np.ndarray, np.ndarray],
    results: list[VariantMatches],
    line: align.Line | None,
    weights: np.ndarray,
) -> Scored:
    """The proposed candidate whose band residuals (``bands``: source's and target's
    :func:`bandcorr.residual`) correlate best, with its dense verification (``weights``: the match
    weights of ``results[0]``, reused). Ties (no correlation anywhere) go to the best dense z."""
    tmap = PeakMap(target)
    src_res, tgt_res = bands
    scored = [
        Scored(
            c,
            bandcorr.correlation(src_res, tgt_res, c.slope, c.offset, c.variant.pitch_scale),
            verify(source, tmap, c.slope, c.offset, c.variant.pitch_scale),
        )
        for c in propose(results, line, weights)
    ]
    return max(scored, key=lambda s: (s.correlation, s.verification.z))


def verified_segment(
    cand: Candidate, ver: Verification, first: float, last: float, evidence: float
) -> align.FrameSegment:
    """The segment of a candidate that only dense verification found: where its agreement is best."""
    hits = int(np.count_nonzero((ver.t_src >= first) & (ver.t_src <= last) & (ver.excess > 0)))
    return align.FrameSegment(
        src_start=first,
        src_end=last,
        tgt_start=cand.slope * first + ver.offset,
        tgt_end=cand.slope * last + ver.offset,
        slope=cand.slope,
        offset=ver.offset,
        matches=hits,
        evidence=evidence,
    )


def extend_to_stretch(segments: list[align.FrameSegment], first: float, last: float) -> list[align.FrameSegment]:
    """Widen the landmark segment that overlaps the verified stretch most to cover that stretch.

    Landmark matches thin out in noise (a copy at SNR 0 dB can leave gaps of several seconds that split
    or shorten its segment); the dense agreement along the same line keeps going, so its stretch shows
    the copy's extent. Segments are only ever widened, along their own line.
    """
    if not segments or last <= first:
        return segments

    def overlap(fs: align.FrameSegment) -> float:
        return min(fs.src_end, last) - max(fs.src_start, first)

    i = max(range(len(segments)), key=lambda k: overlap(segments[k]))
    fs = segments[i]
    if overlap(fs) <= 0:
        return segments
    s0, s1 = min(fs.src_start, first), max(fs.src_end, last)
    wide = replace(fs, src_start=s0, src_end=s1, tgt_start=fs.slope * s0 + fs.offset, tgt_end=fs.slope * s1 + fs.offset)
    return [wide if k == i else seg for k, seg in enumerate(segments)]


def is_on_line(cand: Candidate, offset: float, line: align.Line, t_mid: float) -> bool:
    """Whether a verified candidate is the same alignment as the landmark line (near ``t_mid``)."""
    return abs(cand.slope * t_mid + offset - (line.slope * t_mid + line.offset)) <= 2 * align.OFFSET_BIN
