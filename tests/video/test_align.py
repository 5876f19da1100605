"""Alignment on synthetic similarity matrices (pure numpy, no media)."""

from __future__ import annotations

import numpy as np
import pytest

from video_match.engine.align import find_segments


def _matrix(n: int, m: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.2, 0.35, size=(n, m)).astype(np.float32)


@pytest.mark.parametrize("slope", [0.5, 0.8, 1.0, 1.6, 2.0])
def test_line_of_any_allowed_slope_is_found(slope: float) -> None:
    s = _matrix(80, 120)
    i = np.arange(10, 50)
    j = np.rint(slope * i + 7).astype(int)
    ok = j < 120
    s[i[ok], j[ok]] = 0.95
    seg = find_segments(s)[0]
    assert seg.slope == pytest.approx(slope, rel=0.03)
    assert seg.i0 == pytest.approx(10, abs=1)
    assert seg.i1 == pytest.approx(i[ok][-1], abs=1)


def test_several_segments_are_found() -> None:
    s = _matrix(100, 100, seed=1)
    for i0, i1, b in ((5, 25, 40), (50, 80, -45)):
        i = np.arange(i0, i1)
        s[i, i + b] = 0.9
    segs = find_segments(s)
    spans = sorted((g.i0, g.i1) for g in segs[:2])
    assert spans[0] == pytest.approx((5, 24), abs=1)
    assert spans[1] == pytest.approx((50, 79), abs=1)


def test_noise_alone_gives_no_long_segment() -> None:
    s = _matrix(60, 60, seed=2)
    assert all(g.length < 6 for g in find_segments(s))
