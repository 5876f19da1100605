"""Fuse the stages' evidence into one raw score (higher = more alike; calibrated later).

Two independent ways to be sure two images are copies:

* the global hash agrees (``hash_score``: 1 at Hamming distance 0, 0 at the 128 bits expected of
  unrelated images; discounted for near-uniform images whose bits are noise), or
* enough local features agree on one geometry (``geometry_score``: 0 up to the inlier count unrelated
  images reach by chance, then growing with every distinct inlier; inliers packed into a sliver of
  both images are discounted).

The raw score is the larger of the two, so either stage alone can establish a match and a failure of
one (a crop for the hash, a blank image for the features) does not drag the other down. The public
``similarity_score`` is this raw score mapped by the fitted calibration.
"""

from __future__ import annotations

import math

from image_match.engine.global_hash import HASH_BITS
from image_match.engine.local_features import Verification

CHANCE_INLIERS = 6.0
INLIER_SCALE = 8.0
MIN_COVERAGE = 0.005
MIN_HASH_QUALITY = 2.0  # mean 64x64 gradient below this: the hash of a near-blank image carries no signal


def hash_score(distance: int, quality: float) -> float:
    """Hash agreement in [0, 1]."""
    score = max(0.0, (HASH_BITS / 2 - distance) / (HASH_BITS / 2))
    return score * min(1.0, quality / MIN_HASH_QUALITY)


def geometry_score(v: Verification) -> float:
    """Geometric agreement in [0, 1): 0 up to chance level, then rising with each inlier beyond it.

    A homography needs 4 correspondences, so MAGSAC on unrelated images finds 4-5 "inliers" by
    chance (never more than 5 on the calibration half's 1,240 unrelated pairs); every distinct inlier
    beyond ``CHANCE_INLIERS`` is strong evidence. Inliers packed into a sliver (convex hull under
    ``MIN_COVERAGE`` of both images, e.g. one repeated logo or glyph) count half.
    """
    n = float(v.inliers)
    if v.coverage < MIN_COVERAGE:
        n *= 0.5
    return 1.0 - math.exp(-max(0.0, n - CHANCE_INLIERS) / INLIER_SCALE)


def fuse(h_score: float, g_score: float) -> float:
    """The raw score: the stronger of the two stages."""
    return max(h_score, g_score)
