"""Letterbox / pillarbox removal: find the content box of a whole video from its thumbnails.

A bar is a run of edge rows (or columns) that is uniform across the frame *and* constant over time, all
of about the same colour as the outermost line (black, white or any padding colour). Deciding per video
rather than per frame keeps dark scenes from being mistaken for bars. Blank videos (everything uniform)
keep the full frame.
"""

from __future__ import annotations

import numpy as np

#: A line is uniform when its spatial and temporal standard deviation are both below this (grey levels).
UNIFORM_STD = 6.0
#: ... and its mean is within this of the outermost line's mean.
SAME_COLOUR = 12.0
#: Never remove more than this fraction of the frame from one side.
MAX_SIDE_FRACTION = 0.4
#: Lines of margin removed beyond a detected bar (area-averaged scaling blends the bar edge).
EDGE_MARGIN = 1


def _bar_length(lines: np.ndarray) -> int:
    """How many leading lines of ``lines`` ((L, T, K): line, time, pixels along the line) are bar."""
    spatial = lines.astype(np.float32).std(axis=2).mean(axis=1)
    means = lines.astype(np.float32).mean(axis=2)
    temporal = means.std(axis=1)
    colour = means.mean(axis=1)
    limit = int(lines.shape[0] * MAX_SIDE_FRACTION)
    count = 0
    while (
        count < limit
        and spatial[count] < UNIFORM_STD
        and temporal[count] < UNIFORM_STD
        and abs(colour[count] - colour[0]) < SAME_COLOUR
    ):
        count += 1
    return count + EDGE_MARGIN if count else 0


def content_box(frames: np.ndarray, max_samples: int = 64) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` of the content (bottom/right exclusive) in thumbnail pixels.

    ``frames`` is ``(n, H, W)`` uint8. Up to ``max_samples`` evenly spaced frames are examined.
    """
    n, h, w = frames.shape
    if n == 0:
        return 0, h, 0, w
    idx = np.unique(np.linspace(0, n - 1, min(n, max_samples)).round().astype(int))
    f = frames[idx]
    rows = f.transpose(1, 0, 2)  # (H, T, W)
    cols = f.transpose(2, 0, 1)  # (W, T, H)
    top = _bar_length(rows)
    bottom = h - _bar_length(rows[::-1])
    left = _bar_length(cols)
    right = w - _bar_length(cols[::-1])
    if bottom - top < h * 0.2 or right - left < w * 0.2:
        return 0, h, 0, w
    return top, bottom, left, right
