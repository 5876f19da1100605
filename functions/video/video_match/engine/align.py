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
    best: list[tuple[float, float, float]] = []
    for a in slopes:
        bins = np.rint(jj - a * ii).astype(np.int64) + offset
        votes = np.bincount(bins, weights=w, minlength=width)
        smooth = votes[:-1] + votes[1:]
        top = int(np.argmax(smooth))
        best.append((float(smooth[top]), float(a), float(top - offset) + 0.5))
    best.sort(key=lambda r: -r[0])
    chosen: list[tuple[float, float]] = []
    for _, a, b in best:
        if all(abs(np.log(a / a2)) > 0.03 or abs(b - b2) > 3 for a2, b2 in chosen):
            chosen.append((a, b))
        if len(chosen) >= MAX_CANDIDATES:
            break
    return chosen


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
    best, best_lo, best_hi = -np.inf, 0, -1
    run, run_lo = 0.0, 0
    for k, v in enumerate(x):
        if run <= 0:
            run, run_lo = 0.0, k
        run += float(v)
        if run > best:
            best, best_lo, best_hi = run, run_lo, k
    return best_lo, best_hi, best


def scan_line(
    s: np.ndarray, a: float, b: float, nudge: bool = True, level: float = LINE_THRESHOLD
) -> LineSegment | None:
    """The best run along the line: with small slope and intercept nudges and the better of the two
    nearest target frames while searching (``nudge``), else exactly on the line, interpolated."""
    best: tuple[float, LineSegment] | None = None
    for da in (-0.004, 0.0, 0.004) if nudge else (0.0,):
        for db in (-0.75, -0.25, 0.25, 0.75) if nudge else (0.0,):
            aa, bb = a * np.exp(da), b + db
            i, v = _values_along(s, aa, bb, interpolate=not nudge)
            if i.size < MIN_FRAMES:
                continue
            excess = v - level
            gaps = np.diff(i) != 1
            if gaps.any():  # masked rows break a run
                excess = excess.copy()
                excess[1:][gaps] = -1.0
            lo, hi, total = _kadane(excess)
            if hi < lo:
                continue
            seg = LineSegment(int(i[lo]), int(i[hi]), float(aa), float(bb), v[lo : hi + 1].copy())
            if best is None or total > best[0]:
                best = (total, seg)
    return None if best is None else best[1]


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


def refine(s: np.ndarray, seg: LineSegment) -> LineSegment:
    """Fit the line to the mutual best matches near a candidate (least squares, one outlier pass), then
    re-cut its ends at ``LINE_THRESHOLD`` along the fitted line, read with linear interpolation."""
    ii, jj = _mutual_points(s, seg)
    a, b = seg.slope, seg.intercept
    if ii.size >= 4 and np.ptp(ii) >= 3:
        for _ in range(2):
            a, b = np.polyfit(ii, jj, 1)
            keep = np.abs(jj - (a * ii + b)) <= 1.5
            if keep.sum() < 4 or keep.all():
                break
            ii, jj = ii[keep], jj[keep]
        a = float(np.clip(a, MIN_SLOPE, MAX_SLOPE))
        b = float(np.median(jj - a * ii))
    cut = scan_line(s, float(a), float(b), nudge=False)
    return cut if cut is not None and cut.length >= MIN_FRAMES else seg


def find_segments(s: np.ndarray) -> list[LineSegment]:
    """Up to ``MAX_SEGMENTS`` aligned runs, strongest first."""
    s = s.copy()
    found: list[LineSegment] = []
    for _ in range(MAX_SEGMENTS):
        cands = [seg for a, b in candidate_lines(s) if (seg := scan_line(s, a, b)) is not None]
        cands = [refine(s, c) for c in cands if c.length >= MIN_FRAMES and c.evidence > 0]
        if not cands:
            break
        seg = max(cands, key=lambda c: c.evidence)
        found.append(seg)
        j0 = int(np.floor(seg.slope * seg.i0 + seg.intercept))
        j1 = int(np.ceil(seg.slope * seg.i1 + seg.intercept))
        s[seg.i0 : seg.i1 + 1, :] = -1.0
        s[:, max(0, j0) : j1 + 1] = -1.0
    return found
