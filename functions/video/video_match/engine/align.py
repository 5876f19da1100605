"""Temporal alignment on a frame x frame similarity matrix: straight lines of any slope in [0.5, 2].

A copied stretch shows up as a line ``j = a * i + b`` of high similarity (``i`` source frame, ``j``
target frame; both sampled at the same rate, so ``a`` = target seconds per source second = 1 / speed of
the target relative to the source). The search has three stages:

1. **Hough voting** — every source frame votes with its best few target frames (and every target frame
   with its best source frames) whose similarity clears ``POINT_THRESHOLD``, weighted by the excess, for
   the intercept ``b = j - a * i`` at each slope of a fine log-spaced grid; the strongest, mutually
   distinct ``(a, b)`` cells are the candidate lines.
2. **Dense verification** — along each candidate (with small slope/intercept nudges) the similarity is
   read at every source frame (best of the two nearest target frames) and the maximum-sum run of
   ``similarity - LINE_THRESHOLD`` (Kadane) gives a first segment.
3. **Refinement** — the line is re-fitted to the mutual best frame matches near it (see
   :func:`refine`) and its run, read with linear interpolation, gives the boundaries.

Several segments are found greedily: after each, its rows and columns are blanked and the search runs
again. This is the VCSL "temporal network" idea reduced to its straight-line case, which is what speed
changes, excerpts and re-timed copies produce.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

POINT_THRESHOLD = 0.55
LINE_THRESHOLD = 0.45
TOP_K = 3
MIN_SLOPE, MAX_SLOPE = 0.5, 2.0
MAX_CANDIDATES = 6
MIN_FRAMES = 3
MAX_SEGMENTS = 4
BAND = 4


@dataclass(frozen=True)
class LineSegment:
    """Source frames ``i0..i1`` (inclusive) matched along ``j = slope * i + intercept``."""

    i0: int
    i1: int
    slope: float
    intercept: float
    values: np.ndarray

    @property
    def length(self) -> int:
        return self.i1 - self.i0 + 1

    @property
    def mean(self) -> float:
        return float(self.values.mean())

    @property
    def evidence(self) -> float:
        return float(np.sum(self.values - LINE_THRESHOLD))


def slope_grid(n: int, m: int) -> np.ndarray:
    """Log-spaced slopes fine enough that a line drifts < 1 frame over the longer video."""
    longest = max(n, m, 8)
    step = min(0.02, 1.0 / longest)
    count = int(np.ceil(np.log(MAX_SLOPE / MIN_SLOPE) / step)) + 1
    return np.exp(np.linspace(np.log(MIN_SLOPE), np.log(MAX_SLOPE), count))


def _points(s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, m = s.shape
    k_row = min(TOP_K, m)
    k_col = min(TOP_K, n)
    rj = np.argpartition(-s, k_row - 1, axis=1)[:, :k_row]
    ri = np.repeat(np.arange(n), k_row)
    ci = np.argpartition(-s, k_col - 1, axis=0)[:k_col, :]
    cj = np.tile(np.arange(m), k_col)
    ii = np.concatenate([ri, ci.ravel()])
    jj = np.concatenate([rj.ravel(), cj])
    w = s[ii, jj] - POINT_THRESHOLD
    keep = w > 0
    return ii[keep].astype(np.float64), jj[keep].astype(np.float64), w[keep].astype(np.float64)


def candidate_lines(s: np.ndarray) -> list[tuple[float, float]]:
    """The strongest distinct ``(slope, intercept)`` cells of the Hough vote."""
    n, m = s.shape
    ii, jj, w = _points(s)
    if w.size == 0:
        return []
    slopes = slope_grid(n, m)
    offset = int(np.ceil(MAX_SLOPE * n)) + 1
    width = offset + m + 2
    # One weighted bincount for every slope at once: row k of ``votes`` is the intercept histogram of
    # slope k (the same sums, point by point in the same order, as one bincount per slope).
    bins = np.rint(jj[None, :] - slopes[:, None] * ii[None, :]).astype(np.int64) + offset
    bins += (np.arange(slopes.size, dtype=np.int64) * width)[:, None]
    votes = np.bincount(
        bins.ravel(), weights=np.broadcast_to(w, bins.shape).ravel(), minlength=width * slopes.size
    ).reshape(slopes.size, width)
    smooth = votes[:, :-1] + votes[:, 1:]
    top = smooth.argmax(axis=1)
    peak = smooth[np.arange(slopes.size), top]
    best = [(float(slopes[k]), float(top[k] - offset) + 0.5) for k in np.argsort(-peak, kind="stable")]
    chosen: list[tuple[float, float]] = []
    for a, b in best:
        if all(abs(np.log(a / a2)) > 0.03 or abs(b - b2) > 3 for a2, b2 in chosen):
            chosen.append((a, b))
        if len(chosen) >= MAX_CANDIDATES:
            break
    return chosen


_NUDGE_SLOPES = (-0.004, 0.0, 0.004)
_NUDGE_OFFSETS = (-0.75, -0.25, 0.25, 0.75)
#: Excess written after the end of a short row when rows of several lines are scanned at once: below
#: any real excess (>= -1 - LINE_THRESHOLD), so no best run reaches into it.
_PAD = -10.0


def _values_along(s: np.ndarray, a: float, b: float, interpolate: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(source frame indices, similarity) where the line lies inside the target: the better of the two
    nearest target frames (search), or the linear interpolation between them (final fit)."""
    n, m = s.shape
    i = np.arange(n)
    j = a * i + b
    valid = (j > -0.5) & (j < m - 0.5)
    i = i[valid]
    j = np.clip(j[valid], 0, m - 1)
    lo = np.floor(j).astype(int)
    hi = np.minimum(lo + 1, m - 1)
    if interpolate:
        frac = j - lo
        return i, s[i, lo] * (1 - frac) + s[i, hi] * frac
    return i, np.maximum(s[i, lo], s[i, hi])


def _kadane(x: np.ndarray) -> tuple[int, int, float]:
    """Maximum-sum contiguous run ``x[lo..hi]`` as ``(lo, hi, total)``: the first run end reaching the
    maximum, started after the latest minimum of the prefix sums before it (Kadane's tie-breaking:
    a running sum that falls to <= 0 restarts)."""
    lo, hi, total = _kadane_rows(x[None, :])
    return int(lo[0]), int(hi[0]), float(total[0])


def _kadane_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_kadane` of every row of ``x`` at once (the same prefix sums, row by row)."""
    c = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=1, dtype=np.float64)], axis=1)
    low = np.minimum.accumulate(c[:, :-1], axis=1)
    run = c[:, 1:] - low
    hi = np.argmax(run, axis=1)
    rows = np.arange(x.shape[0])
    cols = np.arange(x.shape[1])[None, :]
    at_low = (c[:, :-1] == low[rows, hi][:, None]) & (cols <= hi[:, None])
    lo = x.shape[1] - 1 - np.argmax(at_low[:, ::-1], axis=1)
    return lo, hi, run[rows, hi]


def scan_line(
    s: np.ndarray, a: float, b: float, nudge: bool = True, level: float = LINE_THRESHOLD
) -> LineSegment | None:
    """The best run along the line: with small slope and intercept nudges and the better of the two
    nearest target frames while searching (``nudge``), else exactly on the line, interpolated.

    The nudged lines are read and scanned together (one row each); the first best of them wins, as
    when they were tried one after the other."""
    lines = [(a * np.exp(da), b + db) for da in _NUDGE_SLOPES for db in _NUDGE_OFFSETS] if nudge else [(a, b)]
    n, m = s.shape
    slopes = np.array([x[0] for x in lines])[:, None]
    offsets = np.array([x[1] for x in lines])[:, None]
    j_all = slopes * np.arange(n)[None, :] + offsets  # (lines, n), as _values_along computes each
    valid = (j_all > -0.5) & (j_all < m - 0.5)
    counts = valid.sum(axis=1)
    starts = np.argmax(valid, axis=1)  # each line's valid source frames are one run
    keep = np.flatnonzero(counts >= MIN_FRAMES)
    if keep.size == 0:
        return None
    width = int(counts[keep].max())
    idx = np.minimum(starts[keep, None] + np.arange(width)[None, :], n - 1)  # (kept, width) source frames
    j = np.clip(np.take_along_axis(j_all[keep], idx, axis=1), 0, m - 1)
    lo = np.floor(j).astype(int)
    hi = np.minimum(lo + 1, m - 1)
    if nudge:
        v = np.maximum(s[idx, lo], s[idx, hi])
    else:
        frac = j - lo
        v = s[idx, lo] * (1 - frac) + s[idx, hi] * frac
    excess = np.where(np.arange(width)[None, :] < counts[keep, None], v - level, _PAD)
    r_lo, r_hi, total = _kadane_rows(excess)
    k = int(np.argmax(total))
    first = int(idx[k, 0])
    return LineSegment(
        first + int(r_lo[k]),
        first + int(r_hi[k]),
        float(lines[keep[k]][0]),
        float(lines[keep[k]][1]),
        v[k, r_lo[k] : r_hi[k] + 1].copy(),
    )


def _best_runs(x: np.ndarray) -> np.ndarray:
    """Maximum-sum contiguous run of every row of ``x`` (vectorised Kadane via prefix sums)."""
    c = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=1)], axis=1)
    lowest = np.minimum.accumulate(c, axis=1)
    return np.max(c[:, 1:] - lowest[:, :-1], axis=1)


def _mutual_points(s: np.ndarray, seg: LineSegment) -> tuple[np.ndarray, np.ndarray]:
    """Mutual best matches within ``BAND`` target frames of the candidate line, above threshold.

    In a slowly changing shot whole neighbourhoods of the matrix are nearly as similar as the true
    diagonal, but a frame's best partner — and being its partner's best too — still sits on it.
    """
    n, m = s.shape
    i = np.arange(n)[:, None]
    j = np.arange(m)[None, :]
    near = np.abs(j - (seg.slope * i + seg.intercept)) <= BAND
    band = np.where(near, s, -2.0)
    row_best = band.argmax(axis=1)
    col_best = band.argmax(axis=0)
    rows = np.arange(n)
    ok = (col_best[row_best] == rows) & (band[rows, row_best] > LINE_THRESHOLD)
    return rows[ok].astype(np.float64), row_best[ok].astype(np.float64)


def _line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares ``y = a * x + b`` (what ``np.polyfit(x, y, 1)`` gives, without its overhead)."""
    xm, ym = float(x.mean()), float(y.mean())
    dx = x - xm
    a = float(np.dot(dx, y - ym) / np.dot(dx, dx))
    return a, ym - a * xm


def refine(s: np.ndarray, seg: LineSegment) -> LineSegment:
    """Fit the line to the mutual best matches near a candidate (least squares, one outlier pass), then
    re-cut its ends at ``LINE_THRESHOLD`` along the fitted line, read with linear interpolation."""
    ii, jj = _mutual_points(s, seg)
    a, b = seg.slope, seg.intercept
    if ii.size >= 4 and np.ptp(ii) >= 3:
        for _ in range(2):
            a, b = _line_fit(ii, jj)
            keep = np.abs(jj - (a * ii + b)) <= 1.5
            if keep.sum() < 4 or keep.all():
                break
            ii, jj = ii[keep], jj[keep]
        a = float(np.clip(a, MIN_SLOPE, MAX_SLOPE))
        b = float(np.median(jj - a * ii))
    cut = scan_line(s, float(a), float(b), nudge=False)
    return cut if cut is not None and cut.length >= MIN_FRAMES else seg


def find_segments(s: np.ndarray, score: Callable[[LineSegment], float] | None = None) -> list[LineSegment]:
    """Up to ``MAX_SEGMENTS`` aligned runs, in the order found.

    Each round takes the candidate with the highest ``score`` (default: its line evidence, the sum of
    ``similarity - LINE_THRESHOLD``), then blanks its rows and columns. The video engine scores by the
    line's full visual evidence (:mod:`.evidence`): in static footage a long line of any slope through
    the background has more summed similarity than the short true one, and would blank it.
    """
    key = score if score is not None else (lambda c: c.evidence)
    s = s.copy()
    found: list[LineSegment] = []
    for _ in range(MAX_SEGMENTS):
        cands = [seg for a, b in candidate_lines(s) if (seg := scan_line(s, a, b)) is not None]
        cands = [refine(s, c) for c in cands if c.length >= MIN_FRAMES and c.evidence > 0]
        if not cands:
            break
        seg = max(cands, key=key)
        found.append(seg)
        j0 = int(np.floor(seg.slope * seg.i0 + seg.intercept))
        j1 = int(np.ceil(seg.slope * seg.i1 + seg.intercept))
        s[seg.i0 : seg.i1 + 1, :] = -1.0
        s[:, max(0, j0) : j1 + 1] = -1.0
    return found
