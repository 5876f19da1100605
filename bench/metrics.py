"""The benchmark's numbers, as pure functions of scores, decisions and alignments.

Conventions (the same for every matcher, ours and peers):

* A higher score means "more alike"; a pair is called a match at threshold ``t`` when ``score >= t``.
* A verdict without a score (the matcher errored, or refused the file) ranks below every real score —
  a failure counts as "not found", never as a free pass. ``None`` *metrics* (a matcher that cannot give
  segments, a set with no negatives, ...) are shown as "—" in reports, never as 0.
* Curve metrics (AUC, TPR at FPR <= x) use the scores only; decision metrics use each verdict's own
  ``match`` (ours: the calibration-half threshold; peers: their published threshold).
* TPR at FPR <= x uses the best threshold on the given scores. With ``n`` negatives the smallest
  non-zero FPR is ``1/n``; below that, "FPR <= x" means "no negative at or above the threshold".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.types import Alignment

Score = float | None


def clean_scores(scores: Sequence[Score]) -> np.ndarray:
    """Scores as floats, with missing/NaN ones mapped to ``-inf`` (ranked below everything)."""
    return np.array([-math.inf if s is None or math.isnan(s) else float(s) for s in scores], dtype=float)


def roc_auc(neg: Sequence[Score], pos: Sequence[Score]) -> float | None:
    """Area under the ROC curve = P(random positive scores above random negative), ties counted half.

    ``None`` when either class is empty.
    """
    n, p = clean_scores(neg), clean_scores(pos)
    if n.size == 0 or p.size == 0:
        return None
    allv = np.concatenate([n, p])
    # Average ranks (ties get the mean rank) — the Mann-Whitney U statistic.
    order = np.argsort(allv, kind="mergesort")
    ranks = np.empty(allv.size, dtype=float)
    sorted_v = allv[order]
    i = 0
    while i < sorted_v.size:
        j = i
        while j + 1 < sorted_v.size and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    rank_pos = ranks[n.size :].sum()
    u = rank_pos - p.size * (p.size + 1) / 2.0
    return float(u / (p.size * n.size))


def threshold_at_fpr(neg: Sequence[Score], max_fpr: float) -> float | None:
    """The lowest threshold ``t`` (decision ``score >= t``) whose FPR on ``neg`` is <= ``max_fpr``.

    Returned as the smallest representable float strictly above the ``(k+1)``-th highest negative,
    where ``k = floor(max_fpr * n)`` negatives may score at or above it; ``-inf`` when every negative
    may pass. ``None`` when there are no negatives.
    """
    n = np.sort(clean_scores(neg))[::-1]
    if n.size == 0:
        return None
    k = int(math.floor(max_fpr * n.size + 1e-9))
    if k >= n.size:
        return -math.inf
    return float(np.nextafter(n[k], np.inf))


def tpr_at_fpr(neg: Sequence[Score], pos: Sequence[Score], max_fpr: float) -> float | None:
    """Best TPR over thresholds whose FPR on ``neg`` is <= ``max_fpr`` (``None`` if a class is empty)."""
    p = clean_scores(pos)
    t = threshold_at_fpr(neg, max_fpr)
    if t is None or p.size == 0:
        return None
    return float(np.mean(p >= t))


def roc_curve(neg: Sequence[Score], pos: Sequence[Score]) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, TPR) points of the ROC curve, from (0, 0) to (1, 1), for plotting."""
    n, p = clean_scores(neg), clean_scores(pos)
    if n.size == 0 or p.size == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    thresholds = np.unique(np.concatenate([n, p]))[::-1]
    fpr = [0.0] + [float(np.mean(n >= t)) for t in thresholds]
    tpr = [0.0] + [float(np.mean(p >= t)) for t in thresholds]
    return np.array(fpr + [1.0]), np.array(tpr + [1.0])


def decision_rate(decisions: Sequence[bool | None]) -> float | None:
    """Fraction of ``True`` decisions. ``None`` decisions (errors) count as "no match".

    ``None`` when the list is empty or no verdict carries a decision at all (the matcher has none).
    """
    if not decisions or all(d is None for d in decisions):
        return None
    return float(np.mean([bool(d) for d in decisions]))


def interval_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Intersection over union of two intervals ``(start, end)``; 0 when disjoint or degenerate."""
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    inter = max(0.0, hi - lo)
    union = max(a[1], b[1]) - min(a[0], b[0])
    if union <= 0:
        return 0.0
    return float(inter / union)


@dataclass(frozen=True)
class SegmentScore:
    """How one predicted segment fits the true alignment of one pair."""

    iou_source: float
    iou_target: float
    offset_error: float | None
    boundary_error: float


def _map_source_to_target(seg: Alignment, s: float) -> float:
    """Where source time ``s`` lands on the target timeline under ``seg``'s linear mapping."""
    dur = seg.source_end - seg.source_start
    if dur <= 0:
        return seg.target_start
    slope = (seg.target_end - seg.target_start) / dur
    return seg.target_start + (s - seg.source_start) * slope


def segment_score(pred: Alignment, truth: Alignment) -> SegmentScore:
    """IoU on each timeline, offset error and boundary error of ``pred`` against ``truth``.

    *Offset error*: take the middle of the stretch both agree is copied (truth's source interval clipped
    to the predicted one; truth's middle if they do not overlap), map it to the target timeline with the
    prediction and with the truth, and take the absolute difference in seconds. For speed 1 this is
    ``|(pred.target_start - pred.source_start) - (truth.target_start - truth.source_start)|``.
    *Boundary error*: mean absolute error of the four segment ends, in seconds.
    """
    iou_s = interval_iou((pred.source_start, pred.source_end), (truth.source_start, truth.source_end))
    iou_t = interval_iou((pred.target_start, pred.target_end), (truth.target_start, truth.target_end))
    lo = max(pred.source_start, truth.source_start)
    hi = min(pred.source_end, truth.source_end)
    mid = (lo + hi) / 2.0 if hi > lo else (truth.source_start + truth.source_end) / 2.0
    offset = abs(_map_source_to_target(pred, mid) - _map_source_to_target(truth, mid))
    boundary = float(
        np.mean(
            [
                abs(pred.source_start - truth.source_start),
                abs(pred.source_end - truth.source_end),
                abs(pred.target_start - truth.target_start),
                abs(pred.target_end - truth.target_end),
            ]
        )
    )
    return SegmentScore(iou_s, iou_t, float(offset), boundary)


def best_segment(preds: Sequence[Alignment] | None, truth: Alignment) -> SegmentScore | None:
    """Score of the predicted segment that best fits ``truth`` (highest mean IoU over both timelines).

    ``None`` when the matcher cannot give segments (``preds is None``). An empty list (it could, but
    found none) scores IoU 0 with no offset/boundary error to report.
    """
    if preds is None:
        return None
    if not preds:
        return SegmentScore(0.0, 0.0, None, math.nan)
    scored = [segment_score(p, truth) for p in preds]
    return max(scored, key=lambda s: (s.iou_source + s.iou_target, -(s.offset_error or 0.0)))


def median_or_none(values: Sequence[float | None]) -> float | None:
    """Median of the finite values, ``None`` when there are none."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.median(vals)) if vals else None


def percentile_or_none(values: Sequence[float | None], q: float) -> float | None:
    """``q``-th percentile (0-100, linear interpolation) of the finite values, ``None`` when empty."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.percentile(vals, q)) if vals else None


def rate_upper_bound(successes: int, trials: int, confidence: float = 0.95) -> float | None:
    """One-sided Clopper-Pearson upper confidence bound of a binomial rate (``None`` for no trials).

    Used for the ``match`` FPR: 0 false positives among 100 negatives still allows an FPR up to ~3 %.
    """
    if trials <= 0:
        return None
    if successes >= trials:
        return 1.0
    from scipy.stats import beta

    return float(beta.ppf(confidence, successes + 1, trials - successes))
