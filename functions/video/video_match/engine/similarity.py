"""Frame x frame similarity matrices between two signatures, for every variant worth aligning.

A *variant* pairs a view of the source with a view of the target (one side always at full frame, so a
crop of either file is met by the matching zoomed window of the other) and says whether the target is mirrored. Aligning
every variant would cost time and give negatives more chances, so variants are first ranked by a cheap
statistic — the mean over source frames of the best cosine similarity in the target — and only the
best few are aligned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from video_match.engine.descriptors import FULL, views
from video_match.engine.types import VideoSignature


@dataclass(frozen=True)
class Variant:
    source_view: str
    target_view: str
    mirrored: bool

    @property
    def name(self) -> str:
        return f"{self.source_view}/{self.target_view}{'/mirror' if self.mirrored else ''}"


def variants() -> list[Variant]:
    """Every (source view, target view, mirrored) combination that keeps one side at full frame."""
    combos = [(FULL, FULL)]
    for name in views():
        if name != FULL:
            combos += [(name, FULL), (FULL, name)]
    return [Variant(s, t, m) for s, t in combos for m in (False, True)]


def matrix(source: VideoSignature, target: VideoSignature, variant: Variant) -> np.ndarray:
    """Cosine similarity ``(n_source, n_target)`` float32 of one variant (0 where a frame is flat)."""
    a = source.descriptors[variant.source_view].astype(np.float32)
    b = target.descriptors[variant.target_view].astype(np.float32)
    if variant.mirrored:
        b = b * target.mirror_signs[None, :]
    return a @ b.T


def _top_mean(best: np.ndarray) -> float:
    """Mean of the top quarter (at least 3) of per-frame best similarities."""
    k = min(best.size, max(3, best.size // 4))
    return float(np.mean(np.sort(best)[-k:]))


def rank_variants(
    source: VideoSignature, target: VideoSignature, keep: int = 2
) -> list[tuple[Variant, np.ndarray, float]]:
    """The ``keep`` best variants as ``(variant, matrix, statistic)``, best first."""
    ranked = []
    for variant in variants():
        s = matrix(source, target, variant)
        if s.size == 0:
            continue
        stat = max(_top_mean(s.max(axis=1)), _top_mean(s.max(axis=0)))
        ranked.append((variant, s, stat))
    ranked.sort(key=lambda r: -r[2])
    return ranked[:keep]
