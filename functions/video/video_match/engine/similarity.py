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


def _views(source: VideoSignature, target: VideoSignature, variant: Variant) -> tuple[np.ndarray, np.ndarray]:
    a = source.descriptors[variant.source_view].astype(np.float32)
    b = target.descriptors[variant.target_view].astype(np.float32)
    if variant.mirrored:
        b = b * target.mirror_signs[None, :]
    return a, b


def variant_views(source: VideoSignature, target: VideoSignature, variant: Variant) -> tuple[np.ndarray, np.ndarray]:
    """The source and target descriptors ``(n, d)``, ``(m, d)`` float32 a variant compares (target
    mirrored when the variant says so)."""
    return _views(source, target, variant)


def matrix(source: VideoSignature, target: VideoSignature, variant: Variant) -> np.ndarray:
    """Cosine similarity ``(n_source, n_target)`` float32 of one variant (0 where a frame is flat)."""
    a, b = _views(source, target, variant)
    return a @ b.T


def _top_mean(best: np.ndarray) -> float:
    """Mean of the top quarter (at least 3) of per-frame best similarities."""
    k = min(best.size, max(3, best.size // 4))
    return float(np.mean(np.sort(best)[-k:]))


def rank_variants(
    source: VideoSignature, target: VideoSignature, keep: int = 2
) -> list[tuple[Variant, np.ndarray, float]]:
    """The ``keep`` best variants as ``(variant, matrix, statistic)``, best first.

    All matrices are computed in four stacked matrix products (every source view against the full
    target, the full source against every target view, each plain and mirrored).
    """
    names = [name for name in views() if name != FULL]
    signs = target.mirror_signs.astype(np.float32)
    src = {k: source.descriptors[k].astype(np.float32) for k in [FULL, *names]}
    tgt = {k: target.descriptors[k].astype(np.float32) for k in [FULL, *names]}
    n, m = src[FULL].shape[0], tgt[FULL].shape[0]
    if n == 0 or m == 0:
        return []
    ranked: list[tuple[Variant, np.ndarray, float]] = []
    for mirrored in (False, True):
        t_full = tgt[FULL] * signs if mirrored else tgt[FULL]
        src_stack = np.concatenate([src[FULL], *(src[k] for k in names)])  # ((1 + V) n, d)
        by_source = (src_stack @ t_full.T).reshape(1 + len(names), n, m)
        tgt_stack = np.concatenate([tgt[k] for k in names])  # (V m, d)
        if mirrored:
            tgt_stack = tgt_stack * signs
        by_target = (src[FULL] @ tgt_stack.T).reshape(n, len(names), m).transpose(1, 0, 2)
        mats = [((FULL, FULL), by_source[0])]
        mats += [((k, FULL), by_source[1 + v]) for v, k in enumerate(names)]
        mats += [((FULL, k), by_target[v]) for v, k in enumerate(names)]
        for (sv, tv), mat in mats:
            stat = max(_top_mean(mat.max(axis=1)), _top_mean(mat.max(axis=0)))
            ranked.append((Variant(sv, tv, mirrored), mat, stat))
    ranked.sort(key=lambda r: -r[2])
    return [(v, np.ascontiguousarray(mat), stat) for v, mat, stat in ranked[:keep]]
