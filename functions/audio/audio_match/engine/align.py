"""From matched anchor pairs to aligned lines and segments.

Within the winning variant, matched pairs (t_src, t_tgt) of a true copy lie on a line
``t_tgt = slope * t_src + offset`` (slope = 1 / speed). The line is found by a Hough vote over a fine
slope grid around the variant's scale, then refined by least squares on the matches within a few
frames of it. Segments are the runs of the line's matches that stay denser than
``RUN_COST_PER_S`` (a maximum-subarray search, so the gap tolerance adapts to the evidence on both
sides); runs shorter than ``MIN_SEGMENT_S``, with fewer than ``MIN_SEGMENT_MATCHES`` matches or under
``MIN_MATCHES_PER_S`` are dropped. Repeats and rearrangements show up as further lines:
the matches of each accepted line are removed and the vote repeated.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

#: Fine slope search around the variant's time scale: ±0.8 % in 0.05 % steps.
SLOPE_SPAN = 0.008
SLOPE_STEP = 0.0005
#: Hough offset bin (frames) and the inlier tolerance of the refined line (frames).
OFFSET_BIN = 3.0
INLIER_TOL = 2.5
#: At most this many matches vote in one Hough search (an even subset of them).
HOUGH_MAX_VOTERS = 30000
#: A segment continues while its matched anchors outnumber this many per second of the source (see
#: best_run); chance anchors on a line are ~50x sparser, a copy's several times denser even at SNR 0 dB.
RUN_COST_PER_S = 2.0
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

    @classmethod
    def along(
        cls, slope: float, offset: float, start: float, end: float, matches: int, evidence: float
    ) -> FrameSegment:
        """The segment of the line ``t_tgt = slope * t_src + offset`` over source frames ``start``..``end``."""
        return cls(start, end, slope * start + offset, slope * end + offset, slope, offset, matches, evidence)

    def scaled(self, factor: float) -> FrameSegment:
        """The same segment with its evidence multiplied by ``factor``."""
        return replace(self, evidence=self.evidence * factor)


def hough_line(t_src: np.ndarray, t_tgt: np.ndarray, scale: float) -> tuple[float, float, int]:
    """Best (slope, offset, votes) over slopes ``scale * (1 ± SLOPE_SPAN)`` and OFFSET_BIN offset bins."""
    if t_src.size == 0:
        return scale, 0.0, 0
    if t_src.size > HOUGH_MAX_VOTERS:
        # An even subset votes: a line with enough matches to matter keeps its peak, and the vote
        # (slopes x matches) stays cheap on long files; ``refine_line`` then fits on all the matches.
        every = -(-t_src.size // HOUGH_MAX_VOTERS)
        t_src, t_tgt = t_src[::every], t_tgt[::every]
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


def best_run(ts: np.ndarray, cost_per_frame: float) -> tuple[int, int, float]:
    """The stretch ``ts[i:j]`` (sorted times) maximising ``(j - i) - cost_per_frame * (ts[j-1] - ts[i])``.

    Kadane's maximum subarray over gains ``1 - cost * gap``: a stretch keeps going while its matches
    outnumber ``cost`` per frame of time, so a copy's gaps (a quiet bar, a noisy second) are bridged,
    while chance matches on the line, far sparser, are left out. Returns (i, j, score).
    """
    if ts.size == 0:
        return 0, 0, 0.0
    gains = np.ones(ts.size)
    gains[1:] -= cost_per_frame * np.diff(ts)
    # score(i, j) = sum(gains[i + 1 : j]) + 1 (a run does not pay for the gap before its first match)
    #             = prefix[j] - (prefix[i + 1] - 1): best end j minus the running minimum of the start term.
    prefix = np.concatenate([[0.0], np.cumsum(gains)])
    start_term = prefix[1:] - 1.0
    scores = prefix[1:] - np.minimum.accumulate(start_term)
    j = int(np.argmax(scores))
    return int(_running_argmin(start_term)[j]), j + 1, float(scores[j])


def _running_argmin(x: np.ndarray) -> np.ndarray:
    """Index of the running minimum of ``x`` (first occurrence)."""
    run_min = np.minimum.accumulate(x)
    is_new = np.concatenate([[True], x[1:] < run_min[:-1]])
    idx = np.where(is_new, np.arange(x.size), 0)
    return np.maximum.accumulate(idx)


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
    t_src: np.ndarray,
    t_end: np.ndarray,
    weights: np.ndarray,
    line: Line,
    frames_per_s: float,
    *,
    keep_best: bool = False,
) -> list[FrameSegment]:
    """Segments of one line: the best run of its matches (``best_run``), then further runs left and
    right of it while they still hold MIN_SEGMENT_MATCHES; short or thin runs are dropped.

    With ``keep_best`` (the line that carries the score) the result is never empty while the line has
    matches: if every run was dropped, the best (densest) run is returned anyway, so a pair whose
    evidence says "match" always gets a segment."""
    if line.inliers.size == 0:
        return []
    order = np.argsort(t_src[line.inliers], kind="stable")
    idx = line.inliers[order]
    # One vote per source anchor: the pairs of one anchor match together, by chance as well as truly.
    anchors = np.unique(t_src[idx])
    cost = RUN_COST_PER_S / frames_per_s
    segments: list[FrameSegment] = []
    pending = [(0, anchors.size)]
    while pending:
        lo, hi = pending.pop()
        if hi - lo < MIN_SEGMENT_MATCHES:
            continue
        i, j, score = best_run(anchors[lo:hi], cost)
        if score < MIN_SEGMENT_MATCHES:
            continue
        pending.extend([(lo, lo + i), (lo + j, hi)])
        seg = _frame_segment(t_src, t_end, weights, line, idx, anchors[lo + i], anchors[lo + j - 1], frames_per_s)
        length_s = (seg.src_end - seg.src_start) / frames_per_s
        if length_s < MIN_SEGMENT_S or (j - i) < MIN_MATCHES_PER_S * length_s:
            continue
        segments.append(seg)
    if not segments and keep_best:
        i, j, _ = best_run(anchors, cost)
        if j > i:
            segments.append(_frame_segment(t_src, t_end, weights, line, idx, anchors[i], anchors[j - 1], frames_per_s))
    return sorted(segments, key=lambda s: s.src_start)


def _frame_segment(
    t_src: np.ndarray,
    t_end: np.ndarray,
    weights: np.ndarray,
    line: Line,
    idx: np.ndarray,
    first: float,
    last: float,
    frames_per_s: float,
) -> FrameSegment:
    """The segment of ``line`` spanning source anchors ``first``..``last`` (inliers ``idx``, sorted)."""
    piece = idx[(t_src[idx] >= first) & (t_src[idx] <= last)]
    start = float(first)
    end = float(t_end[piece].max())
    evidence = window_evidence(t_src[piece], weights[piece], frames_per_s)
    return FrameSegment.along(line.slope, line.offset, start, end, int(piece.size), evidence)


def drop_shadowed(segments: list[FrameSegment]) -> list[FrameSegment]:
    """Segments, most matches first, without those lying mostly inside a stronger one on *both* timelines.

    Music that repeats itself matches a copy at a few lags besides the true one (a bar or a chorus
    apart); those ghost lines cover stretches the true segment already covers on both sides. A target
    that repeats a part of the source (same source span, another target span), or a source that holds
    the target twice (the other way round), keeps both segments.
    """
    kept: list[FrameSegment] = []
    for fs in sorted(segments, key=lambda s: -s.matches):
        if not any(
            _mostly_inside(fs.src_start, fs.src_end, k.src_start, k.src_end)
            and _mostly_inside(fs.tgt_start, fs.tgt_end, k.tgt_start, k.tgt_end)
            for k in kept
        ):
            kept.append(fs)
    return kept


def _mostly_inside(a0: float, a1: float, b0: float, b1: float) -> bool:
    """Whether at least half of span ``a0..a1`` lies inside ``b0..b1``."""
    return min(a1, b1) - max(a0, b0) >= 0.5 * (a1 - a0)
