"""Find the content box of an image: trim uniform borders, letterbox and pillarbox bars.

Padding and letterboxing wreck global hashes (PDQ recall ~2 % on borders, GUIDE §4); removing the bars
before hashing restores them. A side is trimmed row by row while (almost) every pixel of the row is
within ``tol`` grey levels of that side's own border colour, so coloured frames and black bars both go,
and a row with any real content stops the scan. We never trim below ``min_keep`` of either dimension:
a nearly uniform image (sky, blank page) keeps its full frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    """A box in working-image pixels: rows ``y0:y1``, columns ``x0:x1``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)


def content_box(gray: np.ndarray, tol: int = 12, max_outliers: float = 0.02, min_keep: float = 0.25) -> Box:
    """The box left after removing uniform bars from each side of ``gray`` (uint8, H x W)."""
    h, w = gray.shape
    g = gray.astype(np.int16)
    top = _run(g, tol, max_outliers)
    bottom = _run(g[::-1], tol, max_outliers)
    left = _run(g.T, tol, max_outliers)
    right = _run(g.T[::-1], tol, max_outliers)
    y0, y1, x0, x1 = top, h - bottom, left, w - right
    if y1 - y0 < min_keep * h:
        y0, y1 = 0, h
    if x1 - x0 < min_keep * w:
        x0, x1 = 0, w
    return Box(x0=x0, y0=y0, x1=x1, y1=y1)


def _run(lines: np.ndarray, tol: int, max_outliers: float) -> int:
    """How many leading rows of ``lines`` are uniform in the first row's (median) colour.

    Scans in blocks of doubling size, so an image without bars (the first row already has content)
    costs one small block instead of a pass over the whole image.
    """
    colour = int(np.median(lines[0]))
    start, step, n = 0, 16, lines.shape[0]
    while start < n:
        frac = (np.abs(lines[start : start + step] - colour) > tol).mean(axis=1)
        bad = np.flatnonzero(frac > max_outliers)
        if bad.size:
            return start + int(bad[0])
        start, step = start + step, step * 2
    return n
