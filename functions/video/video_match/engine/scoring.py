"""From two signatures to a :class:`Comparison`: visual segments in seconds, audio evidence, raw score.

Visual evidence of a segment grows with its mean frame similarity and (saturating) with its length:
``mean_similarity * (1 - exp(-frames / LENGTH_SCALE))``. The visual raw score is the best segment's.
The audio evidence is the audio engine's own calibrated score in [0, 1]. The fused raw score is the
larger of the two, so either soundtrack or picture alone can carry a match; the video calibration is
fitted on this fused score, so its ``match`` threshold accounts for both kinds of negatives.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from medialayer.engine import Comparison, MatchedSegment
from video_match.engine import fuse
from video_match.engine.align import LineSegment, find_segments
from video_match.engine.similarity import Variant, rank_variants
from video_match.engine.types import VideoSignature

LENGTH_SCALE = 6.0
VARIANTS_ALIGNED = 2


def segment_evidence(seg: LineSegment) -> float:
    """Visual evidence in [0, 1) of one aligned run."""
    return max(0.0, seg.mean) * (1.0 - float(np.exp(-seg.length / LENGTH_SCALE)))


def _seconds(seg: LineSegment, source: VideoSignature, target: VideoSignature) -> MatchedSegment:
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
        score=float(np.clip(seg.mean, 0.0, 1.0)),
    )


def visual_alignment(
    source: VideoSignature, target: VideoSignature
) -> tuple[Variant | None, list[LineSegment], dict[str, Any]]:
    """Best variant and its segments (strongest first)."""
    best: tuple[float, Variant | None, list[LineSegment]] = (-1.0, None, [])
    tried: dict[str, Any] = {}
    for variant, s, stat in rank_variants(source, target, keep=VARIANTS_ALIGNED):
        segs = find_segments(s)
        ev = segment_evidence(segs[0]) if segs else 0.0
        tried[variant.name] = {"rank_statistic": round(stat, 4), "evidence": round(ev, 4)}
        if ev > best[0]:
            best = (ev, variant, segs)
    return best[1], best[2], tried


def compare_signatures(source: VideoSignature, target: VideoSignature) -> Comparison:
    """Visual alignment fused with the soundtrack comparison."""
    variant, segs, tried = visual_alignment(source, target)
    visual = segment_evidence(segs[0]) if segs else 0.0
    segments = [_seconds(s, source, target) for s in segs]
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
                "speed": round(1.0 / s.slope, 4),
                "visual_similarity": round(s.mean, 4),
                "frames": s.length,
                "audio_overlap_s": _audio_overlap(seg, audio),
            }
            for s, seg in zip(segs, segments, strict=False)
        ],
    }
    if segs:
        details["speed"] = round(1.0 / segs[0].slope, 4)
    return Comparison(raw_score=float(raw), segments=segments, details=details)


def _audio_overlap(seg: MatchedSegment, audio: fuse.AudioEvidence | None) -> float | None:
    """Seconds of this segment's source span that the audio engine also aligned (None: no audio)."""
    if audio is None:
        return None
    return round(
        sum(fuse.overlap_s(seg.source_start, seg.source_end, a.source_start, a.source_end) for a in audio.segments),
        3,
    )
