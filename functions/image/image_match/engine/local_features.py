"""Geometric verification with local features: ORB + ratio test + MAGSAC homography.

Global hashes fail on crops, rotations, overlays, picture-in-picture and perspective (GUIDE §4). Those
edits keep *local* structure: the same corners with the same neighbourhoods, related by one plane
projective map. ORB (FAST corners, rotated BRIEF) is rotation invariant and fast enough to run on both
images in a few milliseconds at 640 px; Lowe's ratio test keeps distinctive matches; USAC MAGSAC++
finds the homography and its inliers. The signature stores keypoints as arrays (cv2.KeyPoint is not
picklable). ORB is not mirror invariant, so the caller also verifies against the mirrored image.

What we measure, each robust in its own way:

* ``inliers`` - matches consistent with the homography, counted once per 4 px cell so that the same
  corner found at several pyramid levels is not counted twice;
* ``inlier_ratio`` - inliers over ratio-test survivors (unrelated images give a scattered few);
* ``coverage`` - area of the inliers' convex hull over the content area, the larger of the two images'
  (a crop covers all of the target; a picture-in-picture covers all of the source).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

N_FEATURES = 500  # per image for the direct and mirrored stages
N_FEATURES_POOL = 2000  # kept in the signature for the asymmetric (picture-in-picture) stage
N_FEATURES_SMALL = 500  # of the half-size image in the asymmetric stage
SMALL_SCALE = 0.5
RATIO = 0.8
REPROJ_PX = 4.0
MIN_MATCHES = 8
CELL_PX = 4.0
MAX_SCALE = 8.0
SPREAD_GRID = 4  # cells per side for ``Features.spread``
SPREAD_QUOTA = 2.0  # each cell gives at most this many times its fair share n / SPREAD_GRID**2
MAX_PERSPECTIVE = 2e-3  # |h31|, |h32| in working pixels: beyond this the "homography" is a degenerate fit


@dataclass
class Features:
    """ORB features as plain arrays, strongest first: positions ``pts`` (N, 2) float32 in working
    pixels, descriptors ``desc`` (N, 32) uint8 and, for re-describing the mirrored image, each
    keypoint's ``size``, ``angle`` (degrees) and pyramid ``octave``."""

    pts: np.ndarray
    desc: np.ndarray
    size: np.ndarray | None = None
    angle: np.ndarray | None = None
    octave: np.ndarray | None = None

    def spread(self, n: int) -> Features:
        """``n`` strong features spread over the image: at most ``SPREAD_QUOTA`` x their fair share from
        each cell of a ``SPREAD_GRID`` x ``SPREAD_GRID`` grid (strongest first within a cell), topped up
        with the strongest of the rest. Plain top-``n`` crowds into the most textured region (a facade's
        windows, foliage); when a crop cuts that region away, few of the survivors exist in the other
        image. Spread features keep a crop's share of them in proportion to its area."""
        count = len(self.pts)
        if count <= n:
            return self
        lo = self.pts.min(axis=0)
        span = np.maximum(self.pts.max(axis=0) - lo, 1e-6)
        cell = np.minimum(((self.pts - lo) / span * SPREAD_GRID).astype(np.int64), SPREAD_GRID - 1)
        cell_id = cell[:, 1] * SPREAD_GRID + cell[:, 0]
        by_cell = np.argsort(cell_id, kind="stable")  # stable: strength order kept within a cell
        sorted_ids = cell_id[by_cell]
        rank = np.empty(count, np.int64)
        rank[by_cell] = np.arange(count) - np.searchsorted(sorted_ids, sorted_ids, side="left")
        quota = int(np.ceil(SPREAD_QUOTA * n / SPREAD_GRID**2))
        within = np.flatnonzero(rank < quota)[:n]
        if within.size < n:
            rest = np.setdiff1d(np.arange(count), within, assume_unique=True)[: n - within.size]
            within = np.sort(np.concatenate([within, rest]))
        return self.take(within)

    def take(self, index: np.ndarray) -> Features:
        """The features at ``index`` (in that order)."""
        cut = [None if a is None else a[index] for a in (self.size, self.angle, self.octave)]
        return Features(self.pts[index], self.desc[index], *cut)


_EMPTY = Features(pts=np.zeros((0, 2), np.float32), desc=np.zeros((0, 32), np.uint8))


@dataclass
class Verification:
    """The best homography between two feature sets and how much evidence supports it."""

    inliers: int = 0
    matches: int = 0
    inlier_ratio: float = 0.0
    coverage_source: float = 0.0
    coverage_target: float = 0.0
    homography: np.ndarray | None = None  # maps source working pixels -> target working pixels
    source_points: np.ndarray | None = None  # the inlier correspondences, (K, 2) float32 each
    target_points: np.ndarray | None = None

    @property
    def coverage(self) -> float:
        return max(self.coverage_source, self.coverage_target)

    def inverted(self) -> Verification:
        """The same evidence seen from the other side (homography target -> source)."""
        h = None
        if self.homography is not None:
            h = np.linalg.inv(self.homography)
        return Verification(
            inliers=self.inliers,
            matches=self.matches,
            inlier_ratio=self.inlier_ratio,
            coverage_source=self.coverage_target,
            coverage_target=self.coverage_source,
            homography=h,
            source_points=self.target_points,
            target_points=self.source_points,
        )


def _orb(n: int) -> cv2.ORB:
    return cv2.ORB_create(nfeatures=n, scaleFactor=1.2, nlevels=8, edgeThreshold=15, fastThreshold=10, patchSize=31)


def extract(gray: np.ndarray, n: int = N_FEATURES) -> Features:
    """Up to ``n`` ORB keypoints and descriptors of a uint8 grayscale image, strongest first."""
    kps, desc = _orb(n).detectAndCompute(gray, None)
    return _to_features(kps, desc, sort=True)


def _to_features(kps: list[cv2.KeyPoint], desc: np.ndarray | None, sort: bool) -> Features:
    if desc is None or not kps:
        return _EMPTY
    count = len(kps)
    if sort:
        response = np.fromiter((kp.response for kp in kps), np.float64, count)
        order = np.argsort(-response, kind="stable")
        kps = [kps[i] for i in order]
        desc = desc[order]
    return Features(
        pts=np.ascontiguousarray(cv2.KeyPoint_convert(kps), dtype=np.float32).reshape(-1, 2),
        desc=np.ascontiguousarray(desc),
        size=np.fromiter((kp.size for kp in kps), np.float32, count),
        angle=np.fromiter((kp.angle for kp in kps), np.float32, count),
        octave=np.fromiter((kp.octave for kp in kps), np.int32, count),
    )


def mirrored(gray: np.ndarray, features: Features) -> Features:
    """Features of the horizontally mirrored image, at the mirrored keypoints (positions in mirrored
    pixels). Re-describing known keypoints skips detection: ~4x cheaper than a fresh extraction, and
    the descriptors agree with a fresh one's to ~11 of 256 bits."""
    if len(features.pts) == 0:
        return _EMPTY
    flipped = np.ascontiguousarray(gray[:, ::-1])
    width = gray.shape[1]
    kps = [
        cv2.KeyPoint(float(width - 1 - x), float(y), float(s), float((180.0 - a) % 360.0), 0.0, int(o))
        for (x, y), s, a, o in zip(features.pts, features.size, features.angle, features.octave, strict=True)
    ]
    kps, desc = _orb(len(kps)).compute(flipped, kps)
    return _to_features(kps, desc, sort=False)


def extract_small(gray: np.ndarray) -> Features:
    """Features of the image at ``SMALL_SCALE``, positions in full working pixels.

    When one image sits small inside the other (picture-in-picture, a thumbnail in a collage), its
    fine-scale corners do not exist in the container; features of a half-size copy live at the scale
    the container shows it at.
    """
    small = cv2.resize(gray, None, fx=SMALL_SCALE, fy=SMALL_SCALE, interpolation=cv2.INTER_AREA)
    feats = extract(small, N_FEATURES_SMALL)
    return Features(pts=feats.pts / SMALL_SCALE, desc=feats.desc)


def verify(source: Features, target: Features, source_area: float, target_area: float) -> Verification:
    """Match ``source`` to ``target`` and fit a homography; ``*_area`` are the content areas in px²."""
    if len(source.desc) < 2 or len(target.desc) < 2:
        return Verification()
    knn = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(source.desc, target.desc, k=2)
    good = [pair[0] for pair in knn if len(pair) == 2 and pair[0].distance < RATIO * pair[1].distance]
    if len(good) < MIN_MATCHES:
        return Verification(matches=len(good))
    src = source.pts[[m.queryIdx for m in good]]
    dst = target.pts[[m.trainIdx for m in good]]
    homography, mask = cv2.findHomography(src, dst, cv2.USAC_MAGSAC, REPROJ_PX, maxIters=2000, confidence=0.999)
    if homography is None or mask is None or not _plausible(homography):
        return Verification(matches=len(good))
    keep = mask.ravel().astype(bool)
    src_in, dst_in = src[keep], dst[keep]
    inliers = min(_distinct(src_in), _distinct(dst_in))
    return Verification(
        inliers=inliers,
        matches=len(good),
        inlier_ratio=inliers / len(good),
        coverage_source=_hull_fraction(src_in, source_area),
        coverage_target=_hull_fraction(dst_in, target_area),
        homography=homography,
        source_points=src_in,
        target_points=dst_in,
    )


def _plausible(h: np.ndarray) -> bool:
    """Reject degenerate fits: orientation-reversing, extreme scale or strong perspective."""
    if not np.all(np.isfinite(h)) or abs(h[2, 2]) < 1e-9:
        return False
    h = h / h[2, 2]
    det = float(np.linalg.det(h[:2, :2]))
    if det <= 0:
        return False
    scale = det**0.5
    if not (1.0 / MAX_SCALE <= scale <= MAX_SCALE):
        return False
    return abs(h[2, 0]) <= MAX_PERSPECTIVE and abs(h[2, 1]) <= MAX_PERSPECTIVE


def _distinct(pts: np.ndarray) -> int:
    if len(pts) == 0:
        return 0
    return len(np.unique(np.floor(pts / CELL_PX).astype(np.int32), axis=0))


def _hull_fraction(pts: np.ndarray, area: float) -> float:
    if len(pts) < 3 or area <= 0:
        return 0.0
    hull = cv2.convexHull(pts.astype(np.float32))
    return float(min(1.0, cv2.contourArea(hull) / area))
