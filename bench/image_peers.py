"""The image matchers compared in one benchmark run: ours first, then the peers (GUIDE §5).

* ``medialayer`` - ours, through :func:`medialayer.pipeline.compare_paths` (the API's own path:
  sniff, caps, fingerprint both, compare, calibrate). ``score`` is the raw fused score,
  ``extra["similarity_score"]`` the calibrated one, ``match`` the calibrated verdict (``None`` until a
  calibration has been fitted, so the calibration run itself can score pairs).
* ``phash`` - imagehash's 64-bit DCT pHash; match at Hamming <= 10: N. Krawetz, "Looks Like It"
  (hackerfactor.com, 2011) reads distances above 10 as different images, the threshold most
  imagehash users adopt.
* ``pdq`` - Meta's PDQ (pdqhash wheels of the reference C++), match at Hamming <= 31 of 256, the
  threshold of the PDQ hashing paper (ThreatExchange ``hashing.pdf``, §"PDQ").
* ``pdq_dihedral`` - PDQ with the minimum distance over the 8 dihedral variants of the source (the
  reference implementation's ``--dihedral`` mode), same threshold.
* ``orb_ransac`` - a plain verifier: OpenCV ORB (1,000 features) on the decoded images, Lowe ratio
  0.75, RANSAC homography (5 px); match at >= 15 inliers. No mirror, no border handling.

Scores are higher-is-more-alike (hash distances negated).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from bench.ours import OursMatcher
from bench.types import Matcher, Pair, Verdict

PHASH_THRESHOLD = 10
PDQ_THRESHOLD = 31
ORB_MIN_INLIERS = 15


def _rgb(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


class PHash:
    """imagehash pHash (64 bits)."""

    name = "phash"

    def __init__(self) -> None:
        import imagehash

        self._imagehash = imagehash

    def available(self) -> bool:
        return True

    def run(self, pair: Pair) -> Verdict:
        a = self._imagehash.phash(_rgb(pair.source))
        b = self._imagehash.phash(_rgb(pair.target))
        d = int(a - b)
        return Verdict(score=-float(d), match=d <= PHASH_THRESHOLD, extra={"distance": float(d)})


class Pdq:
    """PDQ (256 bits), optionally with the source's 8 dihedral variants."""

    def __init__(self, dihedral: bool) -> None:
        import pdqhash

        self._pdq = pdqhash
        self.dihedral = dihedral
        self.name = "pdq_dihedral" if dihedral else "pdq"

    def available(self) -> bool:
        return True

    def run(self, pair: Pair) -> Verdict:
        src = np.asarray(_rgb(pair.source))
        tgt = np.asarray(_rgb(pair.target))
        target_hash, _ = self._pdq.compute(tgt)
        if self.dihedral:
            variants, _ = self._pdq.compute_dihedral(src)
            d = min(int(np.count_nonzero(v != target_hash)) for v in variants)
        else:
            source_hash, _ = self._pdq.compute(src)
            d = int(np.count_nonzero(source_hash != target_hash))
        return Verdict(score=-float(d), match=d <= PDQ_THRESHOLD, extra={"distance": float(d)})


class OrbRansac:
    """Plain ORB + ratio test + RANSAC homography; the inlier count is the score."""

    name = "orb_ransac"

    def __init__(self) -> None:
        self._orb = cv2.ORB_create(nfeatures=1000)
        self._bf = cv2.BFMatcher(cv2.NORM_HAMMING)

    def available(self) -> bool:
        return True

    def _features(self, path: Path) -> tuple[list, np.ndarray | None]:
        gray = np.asarray(_rgb(path).convert("L"))
        return self._orb.detectAndCompute(gray, None)

    def run(self, pair: Pair) -> Verdict:
        ka, da = self._features(pair.source)
        kb, db = self._features(pair.target)
        inliers = 0
        if da is not None and db is not None and len(da) >= 2 and len(db) >= 2:
            knn = self._bf.knnMatch(da, db, k=2)
            good = [p[0] for p in knn if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
            if len(good) >= 4:
                src = np.float32([ka[m.queryIdx].pt for m in good])
                dst = np.float32([kb[m.trainIdx].pt for m in good])
                _, mask = cv2.findHomography(src, dst, cv2.RANSAC, 5.0)
                inliers = int(mask.sum()) if mask is not None else 0
        return Verdict(score=float(inliers), match=inliers >= ORB_MIN_INLIERS, extra={"inliers": float(inliers)})


def matchers() -> list[Matcher]:
    """Ours first, then the peers, each built fresh (the runner builds one per worker process)."""
    from image_match.engine import ImageEngine
    from image_match.engine.engine import CALIBRATION_PATH

    return [OursMatcher(ImageEngine(), CALIBRATION_PATH), PHash(), Pdq(dihedral=False), Pdq(dihedral=True), OrbRansac()]
