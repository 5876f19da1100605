"""From two signatures to a :class:`Comparison`: visual segments in seconds, audio evidence, raw score.

**The visual search** (:func:`visual_alignment`): the best-ranked variants
(:func:`~video_match.engine.similarity.rank_variants`) are aligned (:func:`~video_match.engine.align.find_segments`),
each candidate line read for its evidence (:mod:`.evidence`): similarity, residual similarity and motion
agreement ``M``.

**The per-pair null** (:mod:`.null`): the *same* search — the same variants, every slope and offset,
the same candidate scoring — runs on decoys of the target: its frames reversed, its blocks reversed,
its 2 s blocks shuffled. A decoy's similarity matrix is the real one with its columns permuted, so
this costs alignments, not descriptors. ``M_null`` is the most motion agreement any line of any decoy
reaches: what this search finds by chance on this pair's own content (higher for smooth, slow or
repetitive footage, the look-elsewhere effect of GUIDE §4).

**Visual evidence** of a segment, in [0, 1):
``level * (1 - exp(-max(0, M - M_null) / MOTION_SCALE))`` with
``level = clip(ABSOLUTE_WEIGHT * similarity + (1 - ABSOLUTE_WEIGHT) * residual, 0, 1)``: how alike the
frames are, discounted unless they change together beyond chance. The visual raw score is the best
segment's. The audio evidence is the audio engine's own calibrated score in [0, 1]. The fused raw score
is the larger of the two, so either soundtrack or picture alone can carry a match; the video
calibration is fitted on this fused score, so its ``match`` threshold accounts for both kinds of
negatives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medialayer.engine import Comparison, MatchedSegment
from video_match.engine import fuse
from video_match.engine.align import LineSegment, find_segments
from video_match.engine.evidence import LineEvidence, line_evidence
from video_match.engine.null import block_frames, decoy_orders
from video_match.engine.similarity import Variant, rank_variants, variant_views
from video_match.engine.types import VideoSignature

#: Weight of the plain similarity against the residual similarity in a line's level (kept from engine
#: 2, where it was chosen on the calibration half).
ABSOLUTE_WEIGHT = 0.7
#: Motion agreement beyond the null that takes the evidence to 63 % of its level: one 2 s block of
#: agreeing change is worth at most ``MOTION_BLOCK_CAP`` = 0.6 (45 % of the level), three such blocks
#: 83 %, five (a 10 s clip) 95 %. Set by design; 1 and 2 put the same share of calibration-half
#: positives above every calibration-half negative (97 %, the sweep in :mod:`.evidence`).
MOTION_SCALE = 1.0
#: Variants aligned (the best ranked).
VARIANTS_ALIGNED = 2
#: Block shuffles among the decoys (besides time and block reversal). One: the null is already the most
#: agreement over every line each decoy search reads.
DECOY_SHUFFLES = 1


def level(ev: LineEvidence) -> float:
    """How alike the aligned frames are, in [0, 1]."""
    return float(np.clip(ABSOLUTE_WEIGHT * ev.similarity + (1.0 - ABSOLUTE_WEIGHT) * ev.residual, 0.0, 1.0))


def evidence(ev: LineEvidence, null_motion: float) -> float:
    """Visual evidence in [0, 1) of a line whose motion agreement is measured against ``null_motion``."""
    return level(ev) * (1.0 - float(np.exp(-max(0.0, ev.motion - null_motion) / MOTION_SCALE)))


@dataclass
class VisualResult:
    """What the visual search found: the best variant's segments (strongest first), the null, details."""

    variant: Variant | None = None
    segments: list[tuple[LineEvidence, float]] = field(default_factory=list)
    null_motion: float = 0.0
    tried: dict[str, Any] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return self.segments[0][1] if self.segments else 0.0


def search(
    s: np.ndarray, a: np.ndarray, b: np.ndarray, block: int = 4
) -> tuple[list[LineEvidence], list[LineEvidence]]:
    """One alignment of one variant (real or decoy): the lines found, read for evidence, and every
    candidate line that was read. Candidates are chosen by their evidence before any null (the decoys
    must be searched exactly like the real pair)."""
    cache: dict[tuple[int, int, float, float], LineEvidence] = {}

    def read(seg: LineSegment) -> LineEvidence:
        key = (seg.i0, seg.i1, seg.slope, seg.intercept)
        if key not in cache:
            cache[key] = line_evidence(a, b, seg, block)
        return cache[key]

    segs = find_segments(s, score=lambda seg: evidence(read(seg), 0.0))
    return [read(g) for g in segs], list(cache.values())


#: Decoy cells that pair a source frame with a target frame within this many frames of a line the real
#: search found are blanked (:func:`_mask_alignment`).
MASK_BAND = 2


def _mask_alignment(so: np.ndarray, lines: list[LineEvidence], order: np.ndarray) -> np.ndarray:
    """The decoy matrix ``so`` (= ``s[:, order]``) with every cell within ``MASK_BAND`` target frames of
    a real line blanked: a decoy must not contain the alignment it is the null of. A decoy block is a
    true piece of the target, so without this a copy's decoys keep a block's worth of true agreement
    (~1 of ~3 on a 10 s copy) and the copy's margin shrinks; an unrelated pair loses only the cells of
    its own chance line, a few of the decoys' many."""
    if not lines:
        return so
    so = so.copy()
    tj = order[None, :].astype(np.float64)
    for ev in lines:
        g = ev.line
        i = np.arange(g.i0, g.i1 + 1)
        near = np.abs(tj - (g.slope * i + g.intercept)[:, None]) <= MASK_BAND
        rows = so[g.i0 : g.i1 + 1]
        rows[near] = -1.0
    return so


def _null_motion(views: list, orders: list[np.ndarray], block: int) -> float:
    """The most motion agreement of any line any decoy search read (not only the lines it kept), over
    the aligned variants and the decoys."""
    null = 0.0
    for s, a, b, lines in views:
        for order in orders:
            so = _mask_alignment(s[:, order], lines, order)
            _, read = search(np.ascontiguousarray(so), a, b[order], block)
            null = max([null, *(ev.motion for ev in read)])
    return null


def visual_alignment(source: VideoSignature, target: VideoSignature) -> VisualResult:
    """The real search and the decoy search of every aligned variant; segments scored against the null."""
    ranked = rank_variants(source, target, keep=VARIANTS_ALIGNED)
    orders = decoy_orders(target.n_frames, target.fps, shuffles=DECOY_SHUFFLES)
    block = block_frames(source.fps)
    found: list[tuple[Variant, float, list[LineEvidence]]] = []
    null_motion = 0.0
    views = []
    for variant, s, stat in ranked:
        a, b = variant_views(source, target, variant)
        lines = search(s, a, b, block)[0]
        found.append((variant, stat, lines))
        views.append((s, a, b, lines))
    # Evidence is at most its value against a null of 0: with none to discount, the decoys cannot
    # change anything and are skipped (most unrelated pairs: no line's changes agree at all).
    if max((evidence(ev, 0.0) for _, _, lines in found for ev in lines), default=0.0) > 0.0:
        null_motion = _null_motion(views, orders, block)
    result = VisualResult(null_motion=null_motion)
    best = -1.0
    for variant, stat, lines in found:
        scored = sorted(((ev, evidence(ev, null_motion)) for ev in lines), key=lambda x: -x[1])
        top = scored[0][1] if scored else 0.0
        result.tried[variant.name] = {"rank_statistic": round(stat, 4), "evidence": round(top, 4)}
        if top > best:
            best, result.variant, result.segments = top, variant, scored
    return result


def _seconds(seg: LineSegment, source: VideoSignature, target: VideoSignature, evidence: float) -> MatchedSegment:
    """The run in seconds on both timelines; its ``score`` is its raw ``evidence`` (calibrated by the
    shared verdict, :mod:`medialayer.verdict`)."""
    half = 0.5 / source.fps
    ts, tt = source.times, target.times
    j0 = seg.slope * seg.i0 + seg.intercept
    j1 = seg.slope * seg.i1 + seg.intercept
    grid = np.arange(tt.size, dtype=np.float64)
    t0 = float(np.interp(j0, grid, tt))
    t1 = float(np.interp(j1, grid, tt))
    return MatchedSegment(
        source_start=max(0.0, float(ts[seg.i0]) - half),
        source_end=min(source.duration_s, float(ts[seg.i1]) + half),
        target_start=max(0.0, t0 - seg.slope * half),
        target_end=min(target.duration_s, t1 + seg.slope * half),
        score=float(evidence),
    )


def compare_signatures(source: VideoSignature, target: VideoSignature) -> Comparison:
    """Visual alignment (against its per-pair null) fused with the soundtrack comparison."""
    vis = visual_alignment(source, target)
    visual = vis.score
    segments = [_seconds(ev.line, source, target, score) for ev, score in vis.segments if score > 0.0]
    audio = fuse.compare_audio(source.audio, target.audio)
    audio_score = audio.score if audio is not None else None
    raw = max(visual, audio_score if audio_score is not None else 0.0)
    carried_by_audio = audio is not None and audio.score > visual
    if carried_by_audio:
        segments = list(audio.segments) + segments
    variant = vis.variant
    details: dict[str, Any] = {
        "visual_score": round(visual, 4),
        "audio_score": None if audio_score is None else round(audio_score, 4),
        "variant": variant.name if variant else None,
        "mirrored": bool(variant.mirrored) if variant else False,
        "variants": vis.tried,
        "null_motion": round(vis.null_motion, 4),
        "segments": [
            {
                "speed": round(1.0 / ev.line.slope, 4),
                "visual_similarity": round(ev.similarity, 4),
                "residual_similarity": round(ev.residual, 4),
                "motion_agreement": round(ev.motion, 4),
                "visual_evidence": round(score, 4),
                "frames": ev.line.length,
                "audio_overlap_s": _audio_overlap(_seconds(ev.line, source, target, score), audio),
            }
            for ev, score in vis.segments
        ],
    }
    if vis.segments:
        details["speed"] = round(1.0 / vis.segments[0][0].line.slope, 4)
    conclusive = not (carried_by_audio and audio is not None and not audio.conclusive)
    return Comparison(raw_score=float(raw), segments=segments, details=details, conclusive=conclusive)


def _audio_overlap(seg: MatchedSegment, audio: fuse.AudioEvidence | None) -> float | None:
    """Seconds of this segment's source span that the audio engine also aligned (None: no audio)."""
    if audio is None:
        return None
    return round(
        sum(fuse.overlap_s(seg.source_start, seg.source_end, a.source_start, a.source_end) for a in audio.segments),
        3,
    )
