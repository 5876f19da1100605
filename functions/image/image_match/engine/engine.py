"""The image engine: decode -> content box -> global hash + ORB features; compare in two stages.

``fingerprint`` does all per-file work once (decode at 640 px long side, trim bars, hash the content
box, 2,000 ORB features), so ``compare`` is cheap and pure. ``compare`` always scores the global hash
(with dihedral variants); unless the hash alone is decisive (a near-duplicate) it verifies geometry
with local features in up to four stages, cheapest first, stopping once the evidence is strong
(:func:`_verify_staged`: direct, mirrored, inset, mirrored inset); the evidence is fused into one raw
score (:mod:`image_match.engine.fuse`) that the fitted calibration maps onto the public score.
Signatures keep the working grayscale image so that the mirrored and half-size stages can be computed
in ``compare`` only for the pairs that need them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from image_match.engine import fuse, global_hash, local_features, relation
from image_match.engine.decode import decode
from image_match.engine.normalise import Box, content_box
from medialayer.calibration import Calibration
from medialayer.caps import DEFAULT_CAPS, MediaCaps, MediaType
from medialayer.engine import Comparison

ENGINE_VERSION = "image-1.1"
WORKING_LONG_SIDE = 640
CALIBRATION_PATH = Path(__file__).resolve().parents[1] / "calibration.json"
HASH_DECISIVE_BITS = 16  # hash distance at or below this (of 256): near-duplicate, no geometry needed
GEOMETRY_STRONG = 0.9  # geometry_score at or above this after the direct stage: stop there
INSET_GATE = 0.5  # geometry_score below this after a stage: run the next (inset, then mirrored inset)


@dataclass
class ImageSignature:
    """Everything ``compare`` needs about one image; plain picklable data."""

    gray: np.ndarray
    box: Box
    hash: global_hash.GlobalHash
    features: local_features.Features
    width: int
    height: int
    scale: float
    fmt: str
    frames: int = 1
    notes: list[str] = field(default_factory=list)

    @property
    def content_area(self) -> float:
        return float(self.box.area)


class ImageEngine:
    """:class:`medialayer.engine.Engine` for still images."""

    media_type: MediaType = "image"
    version: str = ENGINE_VERSION

    def __init__(self, calibration_path: Path | None = None) -> None:
        self._calibration_path = calibration_path or CALIBRATION_PATH

    def fingerprint(self, path: Path, caps: MediaCaps | None = None) -> ImageSignature:
        """Decode ``path`` and compute its hash and local features (raises typed media errors)."""
        decoded = decode(Path(path), caps or DEFAULT_CAPS["image"], WORKING_LONG_SIDE)
        box = content_box(decoded.gray)
        content = np.ascontiguousarray(decoded.gray[box.y0 : box.y1, box.x0 : box.x1])
        return ImageSignature(
            gray=decoded.gray,
            box=box,
            hash=global_hash.compute(content),
            features=local_features.extract(decoded.gray, local_features.N_FEATURES_POOL),
            width=decoded.width,
            height=decoded.height,
            scale=decoded.scale,
            fmt=decoded.fmt,
            frames=decoded.frames,
            notes=decoded.notes,
        )

    def compare(self, source: ImageSignature, target: ImageSignature) -> Comparison:
        """Fused raw score of ``source`` vs ``target`` plus per-stage details (JSON-ready)."""
        distance, variant = global_hash.distance(source.hash, target.hash)
        quality = min(source.hash.quality, target.hash.quality)
        h_score = fuse.hash_score(distance, quality)
        details: dict[str, Any] = {
            "hash": {
                "distance": distance,
                "bits": global_hash.HASH_BITS,
                "variant": global_hash.DIHEDRAL_NAMES[variant],
                "quality": round(quality, 2),
                "score": round(h_score, 4),
            },
            "source": _describe(source),
            "target": _describe(target),
        }
        best, mirrored, g_score = local_features.Verification(), False, 0.0
        stages: list[str] = []
        if distance > HASH_DECISIVE_BITS or quality < fuse.MIN_HASH_QUALITY:
            best, mirrored, stages = _verify_staged(source, target)
            g_score = fuse.geometry_score(best)
            details["geometry"] = {
                "inliers": best.inliers,
                "matches": best.matches,
                "inlier_ratio": round(best.inlier_ratio, 4),
                "coverage_source": round(best.coverage_source, 4),
                "coverage_target": round(best.coverage_target, 4),
                "mirrored": mirrored,
                "stages": stages,
                "score": round(g_score, 4),
            }
        else:
            details["geometry"] = {"skipped": "global hash already decisive"}
        raw = fuse.fuse(h_score, g_score)
        details["stage"] = "none" if raw <= 0 else "hash" if h_score >= g_score else "geometry"
        if best.homography is not None and g_score >= h_score:
            details["relation"] = relation.describe(
                best,
                mirrored=mirrored,
                source_working_width=source.gray.shape[1],
                source_scale=source.scale,
                target_scale=target.scale,
                target_box=target.box,
                source_size=(source.width, source.height),
            )
        elif h_score > g_score:
            details["relation"] = _dihedral_relation(global_hash.DIHEDRAL_NAMES[variant], source, target)
        return Comparison(raw_score=float(raw), segments=[], details=details)

    def calibration(self) -> Calibration:
        """The fitted calibration (``calibration.json`` beside the package)."""
        return _load_calibration(str(self._calibration_path))


@lru_cache(maxsize=4)
def _load_calibration(path: str) -> Calibration:
    return Calibration.load(Path(path))


def _verify_staged(
    source: ImageSignature, target: ImageSignature
) -> tuple[local_features.Verification, bool, list[str]]:
    """Geometric verification, cheapest stage first, stopping as soon as the evidence is strong.

    1. ``direct``: the strongest 1,000 features of each image.
    2. ``mirror``: the same against the horizontally mirrored source (flips combined with crops etc.).
    3. ``inset``: each image at half size against the other's full 2,000-feature pool, for an image
       shown small inside the other (picture-in-picture, collages, thumbnails) or a crop blown up to
       full size (the half-size target then sits at the source's scale).
    4. ``inset_mirror``: the half-size target against the mirrored source pool (mirrored crops).
    Returns the best verification (homography in source -> target working pixels), whether it is
    mirrored, and the stages run.
    """
    lf = local_features
    n = lf.N_FEATURES
    src_area, tgt_area = source.content_area, target.content_area
    best = lf.verify(source.features.top(n), target.features.top(n), src_area, tgt_area)
    stages = ["direct"]
    if fuse.geometry_score(best) >= GEOMETRY_STRONG:
        return best, False, stages
    mirror = lf.verify(lf.mirrored(source.gray, source.features.top(n)), target.features.top(n), src_area, tgt_area)
    stages.append("mirror")
    mirrored = False
    if mirror.inliers > best.inliers:
        best, mirrored = mirror, True
    if fuse.geometry_score(best) >= INSET_GATE:
        return best, mirrored, stages
    stages.append("inset")
    small_target = lf.extract_small(target.gray)
    for candidate, is_mirror in (
        (lf.verify(lf.extract_small(source.gray), target.features, src_area, tgt_area), False),
        (lf.verify(small_target, source.features, tgt_area, src_area).inverted(), False),
    ):
        if candidate.inliers > best.inliers:
            best, mirrored = candidate, is_mirror
    if fuse.geometry_score(best) >= INSET_GATE:
        return best, mirrored, stages
    stages.append("inset_mirror")
    mirrored_pool = lf.mirrored(source.gray, source.features)
    candidate = lf.verify(small_target, mirrored_pool, tgt_area, src_area).inverted()
    if candidate.inliers > best.inliers:
        best, mirrored = candidate, True
    return best, mirrored, stages


def _dihedral_relation(name: str, source: ImageSignature, target: ImageSignature) -> dict[str, Any]:
    """The relation when the global hash decided: whole content, a dihedral turn, a uniform scale."""
    rotation, mirrored = global_hash.DIHEDRAL_RELATION[name]
    b = source.box
    s = source.scale
    scale = (target.box.area / target.scale**2) / max(1.0, b.area / s**2)
    return {
        "dihedral": name,
        "crop_box": [round(b.x0 / s), round(b.y0 / s), round(b.x1 / s), round(b.y1 / s)],
        "rotation_deg": float(rotation),
        "scale": round(scale**0.5, 4),
        "mirrored": mirrored,
    }


def _describe(sig: ImageSignature) -> dict[str, Any]:
    out: dict[str, Any] = {"format": sig.fmt, "width": sig.width, "height": sig.height}
    if sig.frames > 1:
        out["frames"] = sig.frames
        out["first_frame_only"] = True
    b = sig.box
    if b.area < sig.gray.shape[0] * sig.gray.shape[1]:
        s = sig.scale
        out["content_box"] = [round(b.x0 / s), round(b.y0 / s), round(b.x1 / s), round(b.y1 / s)]
    if sig.notes:
        out["notes"] = list(sig.notes)
    return out
