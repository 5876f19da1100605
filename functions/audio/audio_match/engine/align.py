"""From matched anchor pairs to aligned lines and segments.

Within the winning variant, matched pairs (t_src, t_tgt) of a true copy lie on a line
``t_tgt = slope * t_src + offset`` (slope = 1 / speed). The line is found by a Hough vote over a fine
slope grid around the variant's scale, then refined by least squares on the matches within a few
frames of it. Sparse matches (chance hits along the line) are dropped, the dense ones split into
segments at gaps longer than ``GAP_S`` (on the source timeline), and segments shorter than
``MIN_SEGMENT_S``, with fewer than ``MIN_SEGMENT_MATCHES`` matches or under ``MIN_MATCHES_PER_S`` are
dropped. Repeats and rearrangements show up as further lines:
the matches of each accepted line are removed and the vote repeated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Fine slope search around the variant's time scale: ±0.8 % in 0.05 % steps.
SLOPE_SPAN = 0.008
SLOPE_STEP = 0.0005
#: Hough offset bin (frames) and the inlier tolerance of the refined line (frames).
OFFSET_BIN = 3.0
INLIER_TOL = 2.5
GAP_S = 20.0
#: A match is "dense" with at least DENSE_MIN other line matches within ±DENSE_WINDOW_S.
DENSE_WINDOW_S = 1.0
DENSE_MIN = 2
MIN_SEGMENT_S = 1.0
MIN_SEGMENT_MATCHES = 8
MIN_MATCHES_PER_S = 1.0
#: The evidence window of ``window_count``.
EVIDENCE_WINDOW_S = 10.0
MAX_LINES = 6


@dataclass(frozen=True)
class Line:
    """An aligned line and the indices (into the matches given) of its inliers."""

    slope: float
    offset: float
    inliers: np.ndarray


@dataclass(frozen=True)
class FrameSegment:
    """A segment in frames on each timeline, with its match count."""

    src_start: float
    src_end: float
    tgt_start: float
    tgt_end: float
    slope: float
    offset: float
    matches: int
    evidence: float


def hough_line(t_src: np.ndarray, t_tgt: np.ndarray, scale: float) -> tuple[float, float, int]:
    """Best (slope, offset, votes) over slopes ``scale * (1 ± SLOPE_SPAN)`` and OFFSET_BIN offset bins."""
    if t_src.size == 0:
        return scale, 0.0, 0
    rel = np.arange(-SLOPE_SPAN, SLOPE_SPAN + 1e-12, SLOPE_STEP)
    slopes = scale * (1.0 + rel)
    centre = float(np.mean(t_src))
    # Offsets measured at the matches' mean source time, so slope and offset are decorrelated.
    off = t_tgt[None, :] - slopes[:, None] * (t_src[None, :] - centre)
    b = np.floor(off / OFFSET_BIN).astype(np.int64)
    lo = int(b.min())
    width = int(b.max()) - lo + 2
    flat = (np.arange(slopes.size)[:, None] * width + (b - lo)).ravel()
    votes = np.bincount(flat, minlength=slopes.size * width).reshape(slopes.size, width)
    votes = votes[:, :-1] + votes[:, 1:]  # overlapping windows of two bins
    si, oi = np.unravel_index(int(np.argmax(votes)), votes.shape)
    slope = float(slopes[si])
    offset_c = (oi + lo + 1) * OFFSET_BIN
    return slope, float(offset_c - slope * centre), int(votes[si, oi])


def refine_line(t_src: np.ndarray, t_tgt: np.ndarray, slope: float, offset: float) -> Line:
    """Least-squares refit on matches near the line (twice, tightening), returning the inliers."""
    tol = OFFSET_BIN * 2.0
    idx = np.zeros(0, np.int64)
    for tol_now in (tol, INLIER_TOL):
        resid = t_tgt - (slope * t_src + offset)
        idx = np.nonzero(np.abs(resid) <= tol_now)[0]
        if idx.size >= 8 and np.ptp(t_src[idx]) > 30:
            a, b = np.polyfit(t_src[idx], t_tgt[idx], 1)
            if abs(a / slope - 1.0) < 2 * SLOPE_SPAN:
                slope, offset = float(a), float(b)
    resid = t_tgt - (slope * t_src + offset)
    idx = np.nonzero(np.abs(resid) <= INLIER_TOL)[0]
    return Line(slope=slope, offset=offset, inliers=idx)


def dense_mask(ts: np.ndarray, frames_per_s: float) -> np.ndarray:
    """True for sorted times with at least DENSE_MIN others within ±DENSE_WINDOW_S: a real copy packs
    many consistent matches into each second; chance matches on a line are sparse."""
    w = DENSE_WINDOW_S * frames_per_s
    count = np.searchsorted(ts, ts + w, side="right") - np.searchsorted(ts, ts - w, side="left") - 1
    return count >= DENSE_MIN


def window_evidence(ts: np.ndarray, weights: np.ndarray, frames_per_s: float) -> float:
    """Largest sum of ``weights`` over sorted times ``ts`` within any EVIDENCE_WINDOW_S window.

    The densest stretch, not the whole line: chance matches spread thinly along a line however long
    the files are, while a copy — even a 5 s excerpt — packs its matches together.
    """
    if ts.size == 0:
        return 0.0
    hi = np.searchsorted(ts, ts + EVIDENCE_WINDOW_S * frames_per_s, side="right")
    cum = np.concatenate([[0.0], np.cumsum(weights, dtype=np.float64)])
    return float(np.max(cum[hi] - cum[: ts.size]))


def split_segments(
    t_src: np.ndarray, t_end: np.ndarray, weights: np.ndarray, line: Line, frames_per_s: float
) -> list[FrameSegment]:
    """Segments of one line: keep dense matches, split at source gaps > GAP_S, drop short/thin ones."""
    if line.inliers.size == 0:
        return []
    order = np.argsort(t_src[line.inliers], kind="stable")
    idx = line.inliers[order]
    idx = idx[dense_mask(t_src[idx], frames_per_s)]
    if idx.size == 0:
        return []
    ts = t_src[idx]
    cuts = np.nonzero(np.diff(ts) > GAP_S * frames_per_s)[0] + 1
    segments: list[FrameSegment] = []
    for piece in np.split(idx, cuts):
        if piece.size < MIN_SEGMENT_MATCHES:
            continue
        start = float(t_src[piece].min())
        end = float(t_end[piece].max())
        length_s = (end - start) / frames_per_s
        if length_s < MIN_SEGMENT_S or piece.size < MIN_MATCHES_PER_S * length_s:
            continue
        segments.append(
            FrameSegment(
                src_start=start,
                src_end=end,
                tgt_start=line.slope * start + line.offset,
                tgt_end=line.slope * end + line.offset,
                slope=line.slope,
                offset=line.offset,
                matches=int(piece.size),
                evidence=window_evidence(t_src[piece], weights[piece], frames_per_s),
            )
        )
    return segments
