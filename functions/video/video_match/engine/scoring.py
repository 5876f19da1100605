"""From two signatures to a :class:`Comparison`: visual segments in seconds, audio evidence, raw score.

Visual evidence of a segment grows with its frame similarity and (saturating) with its length:
``(ABSOLUTE_WEIGHT * mean_similarity + (1 - ABSOLUTE_WEIGHT) * residual_similarity) *
(1 - exp(-frames / LENGTH_SCALE))``, where the residual similarity
(:func:`~video_match.engine.similarity.residual_similarity`) is that of the frames' departures from
their segment mean: it is what tells a static-camera copy from a chance line through a static video
(the weight was chosen on the calibration half). The visual raw score is the best segment's.
The audio evidence is the audio engine's own calibrated score in [0, 1]. The fused raw score is the
larger of the two, so either soundtrack or picture alone can carry a match; the video calibration is
fitted on this fused score, so its ``match`` threshold accounts for both kinds of negatives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from medialayer.engine import Comparison, MatchedSegment
from video_match.engine import fuse
from video_match.engine.align import LineSegment, find_segments
from video_match.engine.similarity import Variant, rank_variants, residual_similarity
from video_match.engine.types import VideoSignature

LENGTH_SCALE = 6.0
ABSOLUTE_WEIGHT = 0.7
VARIANTS_ALIGNED = 2


@dataclass(frozen=True)
class ScoredSegment:
    """An aligned run with its residual similarity and visual evidence."""

    line: LineSegment
    residual: float

    @property
    def evidence(self) -> float:
        """Visual evidence in [0, 1) of the run."""
        level = ABSOLUTE_WEIGHT * self.line.mean + (1.0 - ABSOLUTE_WEIGHT) * self.residual
        return max(0.0, level) * (1.0 - float(np.exp(-self.line.length / LENGTH_SCALE)))


def _scored(source: VideoSignature, target: VideoSignature, variant: Variant, seg: LineSegment) -> ScoredSegment:
    res = residual_similarity(source, target, variant, seg.i0, seg.i1, seg.slope, seg.intercept)
    return ScoredSegment(seg, res)


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


def visual_alignment(
    source: VideoSignature, target: VideoSignature
) -> tuple[Variant | None, list[ScoredSegment], dict[str, Any]]:
    """Best variant and its segments (strongest first)."""
    best: tuple[float, Variant | None, list[ScoredSegment]] = (-1.0, None, [])
    tried: dict[str, Any] = {}
    for variant, s, stat in rank_variants(source, target, keep=VARIANTS_ALIGNED):
        segs = sorted((_scored(source, target, variant, g) for g in find_segments(s)), key=lambda g: -g.evidence)
        ev = segs[0].evidence if segs else 0.0
        tried[variant.name] = {"rank_statistic": round(stat, 4), "evidence": round(ev, 4)}
        if ev > best[0]:
            best = (ev, variant, segs)
    return best[1], best[2], tried


def compare_signatures(source: VideoSignature, target: VideoSignature) -> Comparison:
    """Visual alignment fused with the soundtrack comparison."""
    variant, segs, tried = visual_alignment(source, target)
    visual = segs[0].evidence if segs else 0.0
    segments = [_seconds(s.line, source, target, s.evidence) for s in segs]
    audio = fuse.compare_audio(source.audio, target.audio)
    audio_score = audio.score if audio is not None else None
    raw = max(visual, audio_score if audio_score is not None else 0.0)
    if not segments and audio is not None and audio.score > visual:
        segments = list(audio.segments)
    details: dict[str, Any] = {
        "visual_score": round(visual, 4),
        "audio_score": None if audio_score is None else round(audio_score, 4),
        "variant": variant.name if variant else None,
        "mirrored": bool(variant.mirrored) if variant else False,
        "variants": tried,
        "segments": [
            {
                "speed": round(1.0 / s.line.slope, 4),
                "visual_similarity": round(s.line.mean, 4),
                "residual_similarity": round(s.residual, 4),
                "visual_evidence": round(s.evidence, 4),
                "frames": s.line.length,
                "audio_overlap_s": _audio_overlap(seg, audio),
            }
            for s, seg in zip(segs, segments, strict=False)
        ],
    }
    if segs:
        details["speed"] = round(1.0 / segs[0].line.slope, 4)
    return Comparison(raw_score=float(raw), segments=segments, details=details)


def _audio_overlap(seg: MatchedSegment, audio: fuse.AudioEvidence | None) -> float | None:
    """Seconds of this segment's source span that the audio engine also aligned (None: no audio)."""
    if audio is None:
        return None
    return round(
        sum(fuse.overlap_s(seg.source_start, seg.source_end, a.source_start, a.source_end) for a in audio.segments),
        3,
    )
