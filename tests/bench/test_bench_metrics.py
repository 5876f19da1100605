"""Benchmark metrics on small hand-made cases with known answers."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench import metrics
from bench.report import summarize
from bench.types import Alignment, Pair, Verdict


def test_auc_known_value():
    # positives beat negatives in 5 of 6 (pos, neg) comparisons
    assert metrics.roc_auc([0.1, 0.2, 0.3], [0.25, 0.4]) == pytest.approx(5 / 6)


def test_auc_ties_count_half_and_missing_scores_rank_last():
    assert metrics.roc_auc([0.5], [0.5]) == pytest.approx(0.5)
    # a positive without a score (error) loses to every negative; the other positive wins
    assert metrics.roc_auc([0.1], [None, 0.2]) == pytest.approx(0.5)
    assert metrics.roc_auc([0.1], [float("nan"), 0.2]) == pytest.approx(0.5)
    assert metrics.roc_auc([], [0.3]) is None


def test_auc_perfect_and_inverted():
    assert metrics.roc_auc([0, 1, 2], [3, 4]) == 1.0
    assert metrics.roc_auc([3, 4], [0, 1, 2]) == 0.0


def test_tpr_at_fpr_uses_allowed_number_of_negatives():
    neg = [i / 100 for i in range(100)]  # 0.00 .. 0.99
    pos = [0.985, 0.995, 0.5, 1.5]
    # FPR <= 1 %: one negative (0.99) may pass -> threshold just above 0.98
    assert metrics.tpr_at_fpr(neg, pos, 0.01) == pytest.approx(0.75)
    # FPR <= 0.1 % with 100 negatives: none may pass -> strictly above 0.99
    assert metrics.tpr_at_fpr(neg, pos, 0.001) == pytest.approx(0.5)
    assert metrics.threshold_at_fpr(neg, 0.001) > 0.99
    assert metrics.tpr_at_fpr(neg, pos, 1.0) == 1.0
    assert metrics.tpr_at_fpr([], pos, 0.01) is None


def test_tpr_at_fpr_positive_tied_with_top_negative_does_not_count():
    assert metrics.tpr_at_fpr([0.2, 0.9], [0.9, 0.95], 0.001) == pytest.approx(0.5)


def test_roc_curve_endpoints_and_monotone():
    fpr, tpr = metrics.roc_curve([0.1, 0.3], [0.2, 0.4])
    assert (fpr[0], tpr[0]) == (0.0, 0.0) and (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert all(b >= a for a, b in zip(fpr, fpr[1:], strict=False))
    assert all(b >= a for a, b in zip(tpr, tpr[1:], strict=False))


def test_decision_rate():
    assert metrics.decision_rate([True, False, None, True]) == pytest.approx(0.5)
    assert metrics.decision_rate([None, None]) is None
    assert metrics.decision_rate([]) is None


def test_interval_iou():
    assert metrics.interval_iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert metrics.interval_iou((0, 1), (2, 3)) == 0.0
    assert metrics.interval_iou((2, 4), (2, 4)) == 1.0


def test_segment_score_offset_and_boundary():
    truth = Alignment(0, 10, 6, 16)
    sc = metrics.segment_score(Alignment(0, 10, 5, 15), truth)
    assert sc.iou_source == 1.0
    assert sc.iou_target == pytest.approx(9 / 11)
    assert sc.offset_error == pytest.approx(1.0)
    assert sc.boundary_error == pytest.approx(0.5)


def test_segment_score_with_speed_change():
    truth = Alignment(0, 10, 0, 5, speed=2.0)
    assert metrics.segment_score(Alignment(0, 10, 0, 5), truth).offset_error == pytest.approx(0.0)
    # a speed-1 guess starting right is off by 2.5 s in the middle of the overlap (s = 5)
    assert metrics.segment_score(Alignment(0, 10, 0, 10), truth).offset_error == pytest.approx(2.5)


def test_best_segment_choices():
    truth = Alignment(10, 20, 30, 40)
    assert metrics.best_segment(None, truth) is None  # cannot give segments -> "—"
    empty = metrics.best_segment([], truth)
    assert empty is not None and empty.iou_source == 0.0 and empty.offset_error is None
    best = metrics.best_segment([Alignment(0, 5, 0, 5), Alignment(11, 20, 31, 40)], truth)
    assert best is not None and best.iou_source == pytest.approx(0.9)
    assert best.offset_error == pytest.approx(0.0)


def _pair(i: int, family: str, positive: bool, truth: Alignment | None = None) -> Pair:
    return Pair(f"p{i}", "audio", "report", family, positive, Path("a"), Path("b"), f"o{i}", truth)


def test_summarize_hand_made():
    truth = Alignment(0, 10, 5, 15)
    pairs = [
        _pair(0, "jpeg", True),
        _pair(1, "jpeg", True),
        _pair(2, "excerpt", True, truth),
        _pair(3, "excerpt", True, truth),
        _pair(4, "negative", False),
        _pair(5, "hard_negative", False),
    ]
    verdicts = [
        Verdict(0.9, True, seconds=0.1, peak_rss_mb=100),
        Verdict(0.4, False, seconds=0.2, peak_rss_mb=120),
        Verdict(0.8, True, segments=[Alignment(0, 10, 6, 16)], seconds=0.3, peak_rss_mb=110),
        Verdict(None, None, segments=None, error="boom"),
        Verdict(0.1, False, seconds=0.1, peak_rss_mb=90),
        Verdict(0.5, True, seconds=0.1, peak_rss_mb=95),
    ]
    floors = [0.05, 0.05, 0.1, 0.1, 0.1, 0.1]
    s = summarize("medialayer", pairs, verdicts, floors)
    assert (s.n_pos, s.n_neg, s.errors) == (4, 2, 1)
    # pos scores [0.9, 0.4, 0.8, -inf] vs neg [0.1, 0.5]: wins 2+1+2+0 = 5 of 8
    assert s.auc == pytest.approx(5 / 8)
    assert s.tpr_fpr01 == pytest.approx(0.5)  # above 0.5: 0.9 and 0.8
    assert s.decision_tpr == pytest.approx(0.5)
    assert s.decision_fpr == pytest.approx(0.5)
    assert s.decision_fpr_upper95 == pytest.approx(0.95**0.5)  # 1 of 2: Beta(2, 1) 95th percentile = sqrt(0.95)
    assert s.family_tpr_decision == {"excerpt": 0.5, "jpeg": 0.5}
    assert s.family_tpr_fpr01 == {"excerpt": 0.5, "jpeg": 0.5}
    assert s.negative_family_fpr == {"hard_negative": 1.0, "negative": 0.0}
    assert s.n_aligned == 2 and s.n_with_segment == 1
    # errored pair had no segments: counted as IoU 0
    assert s.iou_source_mean == pytest.approx(0.5)
    assert s.iou_target_mean == pytest.approx((9 / 11) / 2)
    assert s.offset_error_median == pytest.approx(1.0)
    assert s.latency_p50_ms == pytest.approx(100.0)
    assert s.peak_rss_max_mb == 120
    # ratios seconds/floor: 2, 4, 3, 1, 1 -> median 2
    assert s.decode_ratio_median == pytest.approx(2.0)


def test_summarize_matcher_without_segments_or_decision_shows_none():
    truth = Alignment(0, 10, 5, 15)
    pairs = [_pair(0, "excerpt", True, truth), _pair(1, "negative", False)]
    verdicts = [Verdict(0.9, None, segments=None, seconds=0.1), Verdict(0.2, None, seconds=0.1)]
    s = summarize("peer", pairs, verdicts)
    assert s.n_with_segment is None and s.iou_source_mean is None and s.offset_error_median is None
    assert s.decision_tpr is None and s.family_tpr_decision == {"excerpt": None}
    assert s.auc == 1.0 and s.decode_ratio_median is None
    assert not math.isnan(s.latency_p95_ms or 0.0)


def test_rate_upper_bound():
    # zero events in n trials: one-sided 95 % bound is 1 - 0.05 ** (1 / n) (~ the rule of three, 3 / n)
    assert metrics.rate_upper_bound(0, 100) == pytest.approx(1 - 0.05 ** (1 / 100))
    assert metrics.rate_upper_bound(0, 1000) == pytest.approx(0.002991, abs=1e-5)
    assert metrics.rate_upper_bound(5, 5) == 1.0
    assert metrics.rate_upper_bound(0, 0) is None
    assert 0.1 < metrics.rate_upper_bound(10, 100) < 0.2
