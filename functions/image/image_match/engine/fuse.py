"""Fuse the stages' evidence into one raw score (higher = more alike; calibrated later).

Two independent ways to be sure two images are copies:

* the global hash agrees (``hash_score``: 1 at Hamming distance 0, falling to 0 at a quarter of the
  bits, ``HASH_NO_EVIDENCE``; discounted for near-uniform images whose bits are noise), or
* enough local features agree on one geometry (``geometry_score``: 0 up to ``CHANCE_INLIERS``, then
  growing with every distinct inlier; inliers packed into a sliver of both images are discounted).

The raw score is the larger of the two, so either stage alone can establish a match and a failure of
one (a crop for the hash, a blank image for the features) does not drag the other down. The public
``similarity_score`` is this raw score mapped by the fitted calibration.

Why each channel has a "no evidence" floor well above chance: the calibration puts ``match`` just above
the worst unrelated pair it saw. If either channel let chance-level values through (a hash distance of
~100 of 256, which unrelated photos reach with the best of 8 dihedral variants; 5-6 MAGSAC "inliers"),
that channel's noise would set the threshold and the other channel's genuine weak evidence would be
judged against it; worse, a slightly unluckier unrelated pair on new data would cross it. With both
floors above chance (the calibration half's 1,240 unrelated pairs reach neither: hash distance >= 98,
inliers <= 6), unrelated pairs score 0 and ``match`` needs real evidence on one channel.
"""

from __future__ import annotations

import math

from image_match.engine.local_features import Verification

HASH_NO_EVIDENCE = 64  # Hamming distance (of 256) at and beyond which the hash says nothing
CHANCE_INLIERS = 8.0
INLIER_SCALE = 8.0
MIN_COVERAGE = 0.005
MIN_HASH_QUALITY = 2.0  # mean 64x64 gradient below this: the hash of a near-blank image carries no signal


def hash_score(distance: int, quality: float) -> float:
    """Hash agreement in [0, 1]: 1 at distance 0, 0 from ``HASH_NO_EVIDENCE`` bits on."""
    score = max(0.0, (HASH_NO_EVIDENCE - distance) / HASH_NO_EVIDENCE)
    return score * min(1.0, quality / MIN_HASH_QUALITY)


def geometry_score(v: Verification) -> float:
    """Geometric agreement in [0, 1): 0 up to chance level, then rising with each inlier beyond it.

    A homography needs 4 correspondences, so MAGSAC on unrelated images finds 4-6 "inliers" by
    chance (never more than 5 on the calibration half's 1,240 unrelated pairs, in any of the five
    verification stages); every distinct inlier beyond ``CHANCE_INLIERS`` is strong evidence.
    Inliers packed into a sliver (convex hull under ``MIN_COVERAGE`` of both images, e.g. one
    repeated logo or glyph) count half.
    """
    n = float(v.inliers)
    if v.coverage < MIN_COVERAGE:
        n *= 0.5
    return 1.0 - math.exp(-max(0.0, n - CHANCE_INLIERS) / INLIER_SCALE)


def fuse(h_score: float, g_score: float) -> float:
    """The raw score: the stronger of the two stages."""
    return max(h_score, g_score)
