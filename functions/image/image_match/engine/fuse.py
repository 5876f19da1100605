"""Fuse the stages' evidence into one raw score (higher = more alike; calibrated later).

Two independent ways to be sure two images are copies:

* the global hash agrees (``hash_score``: 1 at Hamming distance 0, falling to 0 at a quarter of the
  bits, ``HASH_NO_EVIDENCE``; discounted for near-uniform images whose bits are noise), or
* enough local features agree on one geometry (``geometry_score``: 0 up to ``CHANCE_INLIERS``, then
  growing with every distinct inlier; inliers packed into a sliver of both images are discounted).

Above the floors the raw score is the larger of the two, so either stage alone can establish a match
and a failure of one (a crop for the hash, a blank image for the features) does not drag the other
down. Below both floors (``sub_floor_score``) it is a graded value in ``[-SUB_FLOOR_SPAN, 0)`` built
from the chance-level evidence both stages still carry, so unrelated pairs and near misses are ranked
rather than tied. The public ``similarity_score`` is this raw score mapped by the fitted calibration.

Why each channel has a "no evidence" floor well above chance: the calibration puts ``match`` just above
the worst unrelated pair it saw. If either channel let chance-level values through *on its decisive
scale* (a hash distance of ~100 of 256, which unrelated photos reach with the best of 8 dihedral
variants; 5-6 MAGSAC "inliers"), that channel's noise would set the threshold and the other channel's
genuine weak evidence would be judged against it; worse, a slightly unluckier unrelated pair on new
data would cross it. With both floors above chance (the calibration half's 1,240 unrelated pairs reach
neither: hash distance >= 98, inliers <= 5), unrelated pairs stay in the sub-floor band and ``match``
needs real evidence on one channel. The sub-floor band is narrower than the weakest above-floor hash
step (one bit under ``HASH_NO_EVIDENCE``), and narrower than the calibration's margin above the worst
negative (2 % of the raw range), so however the negatives spread in it, ``match`` stays above the floor.
"""

from __future__ import annotations

import math

from image_match.engine.local_features import Verification

HASH_NO_EVIDENCE = 64  # Hamming distance (of 256) at and beyond which the hash says nothing
CHANCE_INLIERS = 8.0
INLIER_SCALE = 8.0
MIN_COVERAGE = 0.005
#: Where many ratio-test matches survive, chance inliers grow with them: on pages of text in one font
#: and layout, glyphs and words repeat, and MAGSAC finds a translation that a few percent of the
#: matches agree on. On the calibration half (seed 20261125; ``details.geometry`` of the
#: engine on ``bench.image_pairs`` and the null bench's ``text`` kind) such pairs reach 9-20 inliers
#: among 136-183 survivors, a share of at most 0.119, while no copy the geometry stage found (640
#: pairs) has a share below 0.153: the bar is between them.
CHANCE_INLIER_SHARE = 0.135
MIN_HASH_QUALITY = 2.0  # mean 64x64 gradient below this: the hash of a near-blank image carries no signal

#: Width of the sub-floor band ``[-SUB_FLOOR_SPAN, 0)``: the hash score of one bit under the floor
#: (``hash_score(HASH_NO_EVIDENCE - 1) = 1/64``), so all sub-floor evidence together is worth less
#: than the weakest above-floor evidence. It is also below the calibration fit's margin (2 % of the
#: raw range, ``medialayer.calibration.fit_calibration``), which keeps ``match`` above the floor.
SUB_FLOOR_SPAN = 1.0 / HASH_NO_EVIDENCE
#: Expected Hamming distance of one hash variant of an unrelated image: half the bits (the median
#: threshold makes each bit a fair coin). The best of the 8 dihedral variants of an unrelated pair sits
#: below it by chance: on the calibration half's 1,240 unrelated pairs (seed 20261125) the median is
#: 116, the 1st percentile 104, the minimum 98; the sub-floor hash term is graded from here to the floor.
HASH_CHANCE_BITS = 128
#: Ratio-test matches at which the sub-floor match term is 1/2: the median, over the calibration half's
#: 1,240 unrelated pairs (seed 20261125), of the most matches any verification stage found
#: (``details.geometry.most_matches`` of the engine on ``bench.image_pairs.build_pairs``; mean 11.5,
#: 90th percentile 18, maximum 56).
CHANCE_MATCHES = 11.0
#: Correspondences a homography fits exactly: MAGSAC "inliers" up to this are no evidence at all (on
#: the calibration half's unrelated pairs the best stage had 0 inliers 1,105 times, 3-4 inliers 128
#: times, 5 inliers 7 times).
MINIMAL_SAMPLE = 4


def hash_score(distance: int, quality: float) -> float:
    """Hash agreement in [0, 1]: 1 at distance 0, 0 from ``HASH_NO_EVIDENCE`` bits on."""
    score = max(0.0, (HASH_NO_EVIDENCE - distance) / HASH_NO_EVIDENCE)
    return score * _quality_factor(quality)


def chance_inliers(v: Verification) -> float:
    """Inliers a stage finds by chance: ``CHANCE_INLIERS``, or ``CHANCE_INLIER_SHARE`` of its ratio-test
    survivors when there are many (repetitive structure: glyphs of one font, windows of a facade)."""
    return max(CHANCE_INLIERS, CHANCE_INLIER_SHARE * v.matches)


def geometry_score(v: Verification) -> float:
    """Geometric agreement in [0, 1): 0 up to chance level, then rising with each inlier beyond it.

    A homography needs 4 correspondences, so MAGSAC on unrelated images finds 4-6 "inliers" by
    chance (never more than 5 on the calibration half's 1,240 unrelated pairs, in any of the five
    verification stages); every distinct inlier beyond :func:`chance_inliers` is strong evidence.
    Inliers packed into a sliver (convex hull under ``MIN_COVERAGE`` of both images, e.g. one
    repeated logo or glyph) count half.
    """
    return 1.0 - math.exp(-max(0.0, _effective_inliers(v) - chance_inliers(v)) / INLIER_SCALE)


def sub_floor_score(distance: int, quality: float, matches: int, best: Verification) -> float:
    """Graded chance-level evidence in ``[-SUB_FLOOR_SPAN, 0)``, for pairs below both floors.

    Three terms, each in [0, 1) and each non-decreasing in its input, weighted equally:

    * hash: how far the best dihedral variant's ``distance`` is below ``HASH_CHANCE_BITS``, as a share
      of the way down to ``HASH_NO_EVIDENCE`` (discounted for near-uniform images as ``hash_score``);
    * matches: the most ratio-test ``matches`` any verification stage found, ``m / (m + CHANCE_MATCHES)``;
    * inliers: the ``best`` stage's inliers beyond the ``MINIMAL_SAMPLE`` a homography fits exactly, as
      a share of the way up to :func:`chance_inliers` (halved in a sliver, as ``geometry_score``).

    The raw score is ``-SUB_FLOOR_SPAN * (1 - evidence / 3)``: -``SUB_FLOOR_SPAN`` with no evidence at
    all, approaching (never reaching) 0 — the floor, below every above-floor score.
    """
    span = HASH_CHANCE_BITS - HASH_NO_EVIDENCE
    hash_term = min(1.0, max(0.0, (HASH_CHANCE_BITS - distance) / span)) * _quality_factor(quality)
    m = max(0, matches)
    match_term = m / (m + CHANCE_MATCHES)
    chance = chance_inliers(best)
    inlier_term = min(1.0, max(0.0, (_effective_inliers(best) - MINIMAL_SAMPLE) / (chance - MINIMAL_SAMPLE)))
    evidence = hash_term + match_term + inlier_term
    # the match term is < 1, so evidence < 3 and the value stays strictly below the floor
    return -SUB_FLOOR_SPAN * (1.0 - evidence / 3.0)


def fuse(h_score: float, g_score: float, sub_floor: float) -> float:
    """The raw score: the stronger of the two stages, or the graded ``sub_floor`` (< 0) when neither
    reaches its floor."""
    decisive = max(h_score, g_score)
    return decisive if decisive > 0.0 else sub_floor


def _quality_factor(quality: float) -> float:
    return min(1.0, max(0.0, quality) / MIN_HASH_QUALITY)


def _effective_inliers(v: Verification) -> float:
    n = float(v.inliers)
    return n * 0.5 if v.coverage < MIN_COVERAGE else n
