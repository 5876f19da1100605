"""Candidate alignments for verification, and what a verified candidate does to the score and segments.

The landmark search (:mod:`matching`, :mod:`align`) ranks alignments by hash matches; in heavy noise or
on sparse material the true one may rank a few places down, or not show at all. ``propose`` lists what
is worth checking: the best line, the top variants' offset peaks, the identity's best offset peaks, and
the best offsets of the exhaustive correlation search (``searched_candidates``, :mod:`corrsearch`).
``best_verified`` scores them by spectro-temporal correlation (:func:`bandcorr.correlation`; the
evidence it gives depends on how the candidate was found, ``correlation_evidence``), verifies each with
dense peaks (:func:`verify.verify`, which locates the agreeing stretch), and keeps the one with the most
evidence; a line whose landmarks already decide the score is verified alone. The engine then either
confirms its landmark line (``is_on_line``; the segment is widened to the verified stretch,
``extend_to_stretch``) or, when another candidate verifies better, reports that candidate's stretch
(``verified_segment``). The line's own correlation also scales its landmark evidence
(``gate_by_line_correlation``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audio_match.engine import align, bandcorr, corrsearch
from audio_match.engine.matching import Variant, VariantMatches, match_weights
from audio_match.engine.verify import DensePeaks, PeakMap, Verification, verify

#: Verified candidates: offset peaks of this many top variants, and this many of the identity's
#: offset peaks, at least CANDIDATE_SEPARATION frames apart.
VERIFY_VARIANTS = 3
IDENTITY_CANDIDATES = 8
IDENTITY = Variant("speed", 1.0)
CANDIDATE_SEPARATION = 6
#: A candidate's band-envelope correlation counts as evidence above a floor, CORR_GAIN units per unit
#: of r. Floors from the calibration half: at the landmark search's few candidates unrelated pairs reach
#: r ~ 0.19 (copies in noise 0.44 and more, excerpts at SNR -3..3 dB 0.24 and more; a slightly different
#: resampler moved one unrelated pair to 0.24, hence 0.22). A candidate only the exhaustive search
#: (``corrsearch``) found is the best of ~10^4-10^5 windows, so it must hold throughout its window: it
#: scores the lower of its window's two halves (``bandcorr.correlation(sustained=True)``), which over
#: every two distinct calibration-half originals and 300 pairs of disjoint pieces of one speaker's
#: recording reaches 0.233 at most at unchanged speed (noisy 5 s excerpts: 0.35 and more), hence 0.26;
#: searching along another variant as well (the landmarks' first) lifts that null's maximum to 0.266,
#: hence 0.30 for a candidate found there.
CORR_FLOOR = 0.22
SEARCH_CORR_FLOOR = 0.26
VARIANT_SEARCH_CORR_FLOOR = 0.30
CORR_GAIN = 300.0
#: Landmark evidence counts in full only when its own line's band envelopes correlate at least this
#: much, and in proportion below it: chance hash agreements between unrelated pieces (shared beats,
#: held notes) line up without the spectra moving together (calibration half: unrelated lines r <= 0.19,
#: true lines r >= 0.2 unless in noise that also leaves them few landmarks).
LINE_CORR_FULL = 0.2
#: The most evidence any candidate's correlation can give (r = 1 at the lowest floor): landmark evidence
#: above it already decides the score, so the other candidates and the exhaustive search are skipped.
MAX_CORRELATION_EVIDENCE = CORR_GAIN * (1.0 - CORR_FLOOR)
#: Offsets tried around a searched candidate (spectrogram frames): the search runs at a quarter of the
#: spectrogram's frame rate.
SEARCH_JITTER = (-4, -2, 0, 2, 4)


@dataclass(frozen=True)
class Candidate:
    """An alignment to verify: ``t_tgt = slope * t_src + offset`` (frames) under ``variant``."""

    variant: Variant
    slope: float
    offset: float
    #: Found by the exhaustive correlation search (``corrsearch``), not by the landmarks.
    searched: bool = False


def gate_by_line_correlation(r: float) -> float:
    """Factor on landmark evidence from the correlation of its own line: ``min(1, r / LINE_CORR_FULL)``."""
    return float(min(1.0, max(0.0, r) / LINE_CORR_FULL))


def correlation_evidence(r: float, c: Candidate) -> float:
    """Evidence of a candidate's correlation ``r``: ``CORR_GAIN * (r - floor)``, 0 below its floor (the
    floor depends on how the candidate was found: see CORR_FLOOR)."""
    if not c.searched:
        floor = CORR_FLOOR
    elif c.variant == IDENTITY:
        floor = SEARCH_CORR_FLOOR
    else:
        floor = VARIANT_SEARCH_CORR_FLOOR
    return CORR_GAIN * max(0.0, float(r) - floor)


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


def line_candidate(best: VariantMatches, line: align.Line) -> Candidate:
    """The landmark line itself, under the winning variant ``best``."""
    return Candidate(best.variant, line.slope, line.offset)


def propose(
    results: list[VariantMatches], line: align.Line | None, weights: np.ndarray, searched: list[Candidate]
) -> list[Candidate]:
    """What to verify: the best line, the top variants' offset peaks, the identity's best peaks (a copy
    in heavy noise often ranks a few places down in the identity's offset histogram), and the
    ``searched`` candidates (``searched_candidates``) the landmarks did not propose already.
    ``weights`` are the match weights of ``results[0]``."""
    out = [line_candidate(results[0], line)] if line is not None else []
    out += [Candidate(r.variant, r.variant.time_scale, r.peak_offset) for r in results[:VERIFY_VARIANTS]]
    identity = next((r for r in results if r.variant == IDENTITY), None)
    if identity is not None:
        known = weights if identity is results[0] else None  # the best variant's weights are already known
        out += [Candidate(identity.variant, 1.0, o) for o in top_offsets(identity, IDENTITY_CANDIDATES, known)]
    out += [c for c in searched if all(not _same(c, k) for k in out)]
    return out


def _same(a: Candidate, b: Candidate) -> bool:
    """Whether two candidates are one alignment (same variant, offsets within CANDIDATE_SEPARATION)."""
    return a.variant == b.variant and a.slope == b.slope and abs(a.offset - b.offset) <= CANDIDATE_SEPARATION


def searched_variants(results: list[VariantMatches]) -> tuple[Variant, ...]:
    """The variants the exhaustive search runs along: unchanged speed, and the variant the landmark search
    ranked first when that is another one."""
    if results and results[0].variant != IDENTITY:
        return (IDENTITY, results[0].variant)
    return (IDENTITY,)


def searched_candidates(src_res: np.ndarray, tgt_res: np.ndarray, variants: tuple[Variant, ...]) -> list[Candidate]:
    """The exhaustive search's best offsets along each of ``variants`` (``corrsearch``)."""
    return [
        Candidate(v, v.time_scale, o, searched=True)
        for v in variants
        for o in corrsearch.best_offsets(src_res, tgt_res, v.time_scale, v.pitch_scale)
    ]


@dataclass(frozen=True)
class Scored:
    """A candidate with its band-envelope correlation, the evidence that gives, and its dense peak
    verification."""

    candidate: Candidate
    correlation: float
    evidence: float
    verification: Verification


@dataclass(frozen=True)
class Verified:
    """The verified candidate with the most evidence, the landmark line's own correlation (0 when there is
    no line), and which hypothesis families were tried: whether the candidates beyond the line were
    (``all_candidates``; not when the line decided alone) and the exhaustive search's variants."""

    best: Scored
    line_correlation: float
    all_candidates: bool = False
    searched: tuple[Variant, ...] = ()


def best_verified(
    source: DensePeaks,
    target: DensePeaks,
    bands: tuple[np.ndarray, np.ndarray],
    results: list[VariantMatches],
    line: align.Line | None,
    weights: np.ndarray,
    landmark_evidence: float,
    replay: Verified | None = None,
) -> Verified:
    """The proposed candidate whose band residuals (``bands``: source's and target's
    :func:`bandcorr.residual`) give the most evidence, with its dense verification (``weights``: the
    match weights of ``results[0]``, reused), and the correlation along ``line`` itself. Ties (no
    evidence anywhere) go to the best correlation, then the best dense z.

    When the line's ``landmark_evidence`` (gated by its correlation) exceeds what any candidate could
    add (MAX_CORRELATION_EVIDENCE), only the line is verified: a clear copy needs no search.

    ``replay`` (the real pair's result, when this is its decoy search, :mod:`null`): try exactly the
    families it tried — the line alone when it decided alone, else every candidate, with the exhaustive
    search along the same variants.
    """
    tmap = PeakMap(target)
    src_res, tgt_res = bands

    def scored(c: Candidate) -> Scored:
        if c.searched:  # the search's offsets are coarse: refine on the full frame rate
            r, c = _refined(src_res, tgt_res, c)
        else:
            r = bandcorr.correlation(src_res, tgt_res, c.slope, c.offset, c.variant.pitch_scale)
        ver = verify(source, tmap, c.slope, c.offset, c.variant.pitch_scale)
        return Scored(c, r, correlation_evidence(r, c), ver)

    on_line = scored(line_candidate(results[0], line)) if line is not None else None
    line_r = on_line.correlation if on_line is not None else 0.0
    if replay is not None:
        line_alone = not replay.all_candidates
    else:
        line_alone = landmark_evidence * gate_by_line_correlation(line_r) >= MAX_CORRELATION_EVIDENCE
    if on_line is not None and line_alone:
        return Verified(on_line, line_r)
    variants = replay.searched if replay is not None else searched_variants(results)
    proposed = propose(results, line, weights, searched_candidates(src_res, tgt_res, variants))
    all_scored = [on_line] if on_line is not None else []
    all_scored += [scored(c) for c in proposed if on_line is None or c != on_line.candidate]
    best = max(all_scored, key=lambda s: (s.evidence, s.correlation, s.verification.z))
    return Verified(best, line_r, all_candidates=True, searched=variants)


def _refined(src_res: np.ndarray, tgt_res: np.ndarray, c: Candidate) -> tuple[float, Candidate]:
    """A searched candidate at its best full-rate offset within SEARCH_JITTER, with its (sustained)
    correlation."""
    tries = [
        (bandcorr.correlation(src_res, tgt_res, c.slope, c.offset + d, c.variant.pitch_scale, sustained=True), d)
        for d in SEARCH_JITTER
    ]
    r, d = max(tries)
    return r, Candidate(c.variant, c.slope, c.offset + d, searched=True)


def verified_segment(
    cand: Candidate, ver: Verification, first: float, last: float, evidence: float
) -> align.FrameSegment:
    """The segment of a candidate that only dense verification found: where its agreement is best."""
    hits = int(np.count_nonzero((ver.t_src >= first) & (ver.t_src <= last) & (ver.excess > 0)))
    return align.FrameSegment.along(cand.slope, ver.offset, first, last, hits, evidence)


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
    wide = align.FrameSegment.along(fs.slope, fs.offset, s0, s1, fs.matches, fs.evidence)
    return [wide if k == i else seg for k, seg in enumerate(segments)]


def is_on_line(cand: Candidate, offset: float, line: align.Line, t_mid: float) -> bool:
    """Whether a verified candidate is the same alignment as the landmark line (near ``t_mid``)."""
    return abs(cand.slope * t_mid + offset - (line.slope * t_mid + line.offset)) <= 2 * align.OFFSET_BIN
