"""Ours as a bench :class:`~bench.types.Matcher`: the API's own pipeline around a medium's engine.

Before the engine is calibrated — no calibration file, or one fitted on another engine version
(``python -m bench calibrate`` runs exactly then) — there is no verdict yet:
the matcher returns the raw score only, fingerprinting both files through the same ``EngineComparer``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.types import Alignment, Pair, Verdict
from medialayer.caps import DEFAULT_CAPS


def alignments(result: object) -> list[Alignment]:
    """Segments of a Comparison/MatchOutcome as bench Alignments (speed from the per-segment details)."""
    details = getattr(result, "details", {}) or {}
    speeds = [s.get("speed", 1.0) for s in details.get("segments", []) if isinstance(s, dict)]
    out = []
    for k, seg in enumerate(getattr(result, "segments", []) or []):
        speed = float(speeds[k]) if k < len(speeds) and speeds[k] else 1.0
        out.append(Alignment(seg.source_start, seg.source_end, seg.target_start, seg.target_end, speed))
    return out


class OursMatcher:
    """``name = "medialayer"``; ``Verdict.score`` is the raw score, ``extra["similarity_score"]`` the public one."""

    name = "medialayer"

    def __init__(self, engine: Any, calibration_path: Path) -> None:
        self.engine = engine
        self._calibration_path = calibration_path

    def available(self) -> bool:
        return True

    def _calibrated(self) -> bool:
        """A calibration fitted on this engine version exists (``bench calibrate`` runs when it does not)."""
        from medialayer.calibration import CalibrationMismatch

        if not self._calibration_path.exists():
            return False
        try:
            self.engine.calibration()
        except (FileNotFoundError, CalibrationMismatch):
            return False
        return True

    def run(self, pair: Pair) -> Verdict:
        from medialayer.pipeline import EngineComparer, compare_paths

        if not self._calibrated():
            caps = DEFAULT_CAPS[self.engine.media_type]
            comparison = EngineComparer(self.engine).compare_files(pair.source, pair.target, caps)
            return Verdict(score=comparison.raw_score, match=None, segments=alignments(comparison))
        outcome = compare_paths(self.engine, pair.source, pair.target, details=True)
        return Verdict(
            score=outcome.raw_score,
            match=outcome.match,
            segments=alignments(outcome),
            extra={"similarity_score": outcome.similarity_score},
        )
