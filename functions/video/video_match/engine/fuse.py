"""The soundtrack side: fingerprint and compare audio through the audio engine, when it is installed.

The audio engine (``audio_match.engine.AudioEngine``) is imported lazily so the video engine still works
(visual-only) where it is absent — or not calibrated yet: without its calibration its raw score has no
meaning on our scale, so no audio evidence is used (refit the video calibration once it exists).
Its raw score (and each of its segments' raw evidence) is mapped through *its own* calibration, loaded
by the shared :func:`medialayer.calibration.load_calibration`, to its public score in [0, 1]
(0.5 = its FPR <= 0.1 % match threshold): that is the audio evidence on the video's raw scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from medialayer.calibration import CalibrationMismatch
from medialayer.caps import MediaCaps
from medialayer.engine import MatchedSegment
from medialayer.errors import MediaLayerError, UnsupportedMedia


@lru_cache(maxsize=1)
def audio_engine() -> Any | None:
    """The audio engine instance, or ``None`` when the audio package is not available."""
    try:
        from audio_match.engine import AudioEngine
    except ImportError:
        return None
    return AudioEngine()


def fingerprint_audio(path: Path, caps: MediaCaps) -> Any | None:
    """The soundtrack signature, or ``None`` (no audio track, undecodable audio, or no audio engine)."""
    engine = audio_engine()
    if engine is None:
        return None
    try:
        return engine.fingerprint(path, caps)
    except UnsupportedMedia:
        return None


@dataclass
class AudioEvidence:
    """The audio engine's verdict on two soundtracks."""

    score: float
    raw_score: float
    segments: list[MatchedSegment] = field(default_factory=list)
    #: The audio engine's ``Comparison.conclusive``: False when the soundtracks' levels drifted more
    #: than any audio copy's did (``audio_match.engine.fidelity``): a video verdict resting on it is
    #: held below ``high`` as an audio one is.
    conclusive: bool = True


def compare_audio(source: Any | None, target: Any | None) -> AudioEvidence | None:
    """Compare two soundtrack signatures; ``None`` when either is missing."""
    if source is None or target is None:
        return None
    engine = audio_engine()
    if engine is None:
        return None
    try:
        calibration = engine.calibration()
    except (OSError, ValueError, MediaLayerError, CalibrationMismatch):  # audio not calibrated: no audio evidence
        return None
    comparison = engine.compare(source, target)
    score = float(calibration.score(comparison.raw_score))
    # On the video's raw scale, audio evidence is the audio engine's public score: its segments too.
    segments = [replace(s, score=float(calibration.score(s.score))) for s in comparison.segments]
    return AudioEvidence(
        score=score, raw_score=float(comparison.raw_score), segments=segments, conclusive=comparison.conclusive
    )


def overlap_s(a0: float, a1: float, b0: float, b1: float) -> float:
    """Length of the intersection of two intervals."""
    return max(0.0, min(a1, b1) - max(a0, b0))
