"""Alignment helpers: the maximum-run segmenter and the windowed evidence, against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from audio_match.engine.align import FrameSegment, Line, best_run, drop_shadowed, split_segments, window_evidence


def _brute_run(ts: np.ndarray, cost: float) -> float:
    best = -np.inf
    for i in range(ts.size):
        for j in range(i + 1, ts.size + 1):
            best = max(best, (j - i) - cost * (ts[j - 1] - ts[i]))
    return best


@pytest.mark.parametrize("seed", range(40))
def test_best_run_is_the_maximum_subarray(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ts = np.sort(rng.uniform(0, 100, int(rng.integers(1, 25))))
    cost = float(rng.uniform(0.05, 2.0))
    i, j, score = best_run(ts, cost)
    assert score == pytest.approx(_brute_run(ts, cost))
    assert score == pytest.approx((j - i) - cost * (ts[j - 1] - ts[i]))


def test_best_run_skips_sparse_chance_matches() -> None:
    dense = np.arange(100.0, 200.0, 0.5)  # a copy: 2 matches per unit time
    chance = np.array([10.0, 40.0, 260.0, 300.0])
    i, j, _ = best_run(np.sort(np.concatenate([dense, chance])), cost_per_frame=0.5)
    ts = np.sort(np.concatenate([dense, chance]))
    assert ts[i] == 100.0 and ts[j - 1] == dense[-1]


def test_window_evidence_is_densest_window() -> None:
    ts = np.array([0.0, 1.0, 2.0, 700.0, 701.0])
    w = np.array([1.0, 1.0, 1.0, 5.0, 5.0])
    assert window_evidence(ts, w, frames_per_s=62.5) == 10.0  # 10 s = 625 frames: the last two only
    assert window_evidence(np.zeros(0), np.zeros(0), 62.5) == 0.0


def _sparse_line(n: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray, Line]:
    """``n`` matches on the identity line, too few for a regular segment (MIN_SEGMENT_MATCHES)."""
    t_src = np.arange(n, dtype=np.float64) * 10.0 + 100.0
    return t_src, t_src + 5.0, np.ones(n, np.float32), Line(1.0, 0.0, np.arange(n))


def test_split_segments_drops_a_thin_line_by_default() -> None:
    t_src, t_end, w, line = _sparse_line()
    assert split_segments(t_src, t_end, w, line, 62.5) == []


def test_split_segments_keeps_the_best_run_of_the_scoring_line() -> None:
    t_src, t_end, w, line = _sparse_line()
    (seg,) = split_segments(t_src, t_end, w, line, 62.5, keep_best=True)
    assert seg.src_start == 100.0 and seg.src_end == 155.0
    assert seg.tgt_start == pytest.approx(100.0) and seg.matches == 6


def test_split_segments_keep_best_on_an_empty_line() -> None:
    t_src, t_end, w, _ = _sparse_line()
    assert split_segments(t_src, t_end, w, Line(1.0, 0.0, np.zeros(0, np.int64)), 62.5, keep_best=True) == []


def _seg(s0: float, s1: float, t0: float, t1: float, matches: int) -> FrameSegment:
    return FrameSegment(s0, s1, t0, t1, 1.0, t0 - s0, matches, float(matches))


def test_a_ghost_line_inside_the_true_segment_on_both_timelines_is_dropped() -> None:
    """Self-repeating music: a line a bar off covers what the true segment covers, on both sides."""
    true, ghost = _seg(0, 18000, 0, 18000, 900), _seg(8300, 17800, 8450, 17950, 120)
    assert drop_shadowed([ghost, true]) == [true]


def test_repeats_on_one_timeline_keep_both_segments() -> None:
    """A target that plays a part of the source twice (and the reverse) keeps both segments."""
    first, again = _seg(0, 1800, 0, 1800, 300), _seg(0, 1800, 1800, 3600, 250)
    assert drop_shadowed([again, first]) == [first, again]
    looped, once = _seg(0, 1800, 0, 1800, 300), _seg(1800, 3600, 0, 1800, 250)
    assert drop_shadowed([looped, once]) == [looped, once]
