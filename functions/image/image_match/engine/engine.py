"""The image engine: decode -> content box -> global hash; ORB features only when the hash cannot decide.

``fingerprint`` decodes at 640 px long side, trims bars and hashes the content box. ``compare`` scores
the global hash (with dihedral variants); unless the hash alone is decisive (a near-duplicate: the
common re-upload case, answered without any local features) it extracts ORB features of both images
(once per signature, both images at the same time) and verifies geometry in up to five stages,
cheapest first, stopping once the evidence is strong (:func:`_verify_staged`: direct, mirrored, inset,
and for pairs with unexplained descriptor agreement zoom and mirrored zoom);
the evidence is fused into one raw score (:mod:`image_match.engine.fuse`: the decisive hash or geometry
score, or below both floors a graded chance-level term) that the fitted calibration maps onto the
public score. Signatures keep the working grayscale image so that the features, the
mirrored and the half-size stage can be computed in ``compare`` only for the pairs that need them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from image_match.engine import fuse, global_hash, local_features, relation
from image_match.engine.decode import decode
from image_match.engine.normalise import Box, content_box
from medialayer.calibration import Calibration, load_calibration
from medialayer.caps import DEFAULT_CAPS, MediaCaps, MediaType
from medialayer.engine import Comparison

ENGINE_VERSION = "image-1.4"
WORKING_LONG_SIDE = 640
CALIBRATION_PATH = Path(__file__).resolve().parents[1] / "calibration.json"
HASH_DECISIVE_BITS = 16  # hash distance at or below this (of 256): near-duplicate, no geometry needed
GEOMETRY_STRONG = 0.9  # geometry_score at or above this after the direct stage: stop there
INSET_GATE = 0.5  # geometry_score below this after a stage: run the next
#: Descriptor matches (ratio-test survivors) the direct or mirrored stage must reach before the zoom
#: stages run: a cost knob, the 90th percentile of the calibration half's unrelated pairs (so about
#: one unrelated pair in ten pays for the zoom stages; their maximum was 41).
ZOOM_GATE_MATCHES = 14


@dataclass
class ImageSignature:
    """Everything ``compare`` needs about one image; plain picklable data."""

    gray: np.ndarray
    box: Box
    hash: global_hash.GlobalHash
    width: int
    height: int
    scale: float
    fmt: str
    frames: int = 1
    notes: list[str] = field(default_factory=list)
    features: local_features.Features | None = None  # ORB pool, filled by ``with_features`` when needed

    @property
    def content_area(self) -> float:
        return float(self.box.area)

    def with_features(self) -> ImageSignature:
        """This signature with its ORB feature pool extracted (once; later calls are free)."""
        if self.features is None:
            self.features = local_features.extract(self.gray, local_features.N_FEATURES_POOL)
        return self


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
        best, mirrored, g_score, most_matches = local_features.Verification(), False, 0.0, 0
        stages: list[str] = []
        if distance > HASH_DECISIVE_BITS or quality < fuse.MIN_HASH_QUALITY:
            _extract_features(source, target)
            best, mirrored, stages, most_matches = _verify_staged(source, target)
            g_score = fuse.geometry_score(best)
            details["geometry"] = {
                "inliers": best.inliers,
                "matches": best.matches,
                "most_matches": most_matches,
                "inlier_ratio": round(best.inlier_ratio, 4),
                "coverage_source": round(best.coverage_source, 4),
                "coverage_target": round(best.coverage_target, 4),
                "mirrored": mirrored,
                "stages": stages,
                "score": round(g_score, 4),
            }
        else:
            details["geometry"] = {"skipped": "global hash already decisive"}
        sub_floor = fuse.sub_floor_score(distance, quality, most_matches, best)
        raw = fuse.fuse(h_score, g_score, sub_floor)
        details["stage"] = "none" if raw <= 0 else "hash" if h_score >= g_score else "geometry"
        if raw <= 0:
            details["sub_floor_score"] = round(sub_floor, 6)
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
        return load_calibration(Path(self._calibration_path), ENGINE_VERSION)


def _extract_features(source: ImageSignature, target: ImageSignature) -> None:
    """Extract whichever feature pools are missing; two at once run in two threads (OpenCV drops the
    GIL), as the two fingerprints do, so a pair on a multi-core host waits for one extraction."""
    missing = [sig for sig in (source, target) if sig.features is None]
    if len(missing) == 2:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(ImageSignature.with_features, missing))
    elif missing:
        missing[0].with_features()


def _verify_staged(
    source: ImageSignature, target: ImageSignature
) -> tuple[local_features.Verification, bool, list[str], int]:
    """Geometric verification, cheapest stage first, stopping as soon as the evidence is strong.

    1. ``direct``: ``N_FEATURES`` strong features of each image, spread over it (``Features.spread``).
    2. ``mirror``: the same against the horizontally mirrored source (flips combined with crops etc.).
    3. ``inset``: the source at half size against the target's full feature pool, for a source shown
       small inside the target (picture-in-picture, collages, thumbnails), whose fine-scale corners do
       not exist there.
    4. ``zoom`` and ``zoom_mirror``: the target at half size against the source's (mirrored) pool, for
       a crop blown up to full size, where repetitive texture (facades, foliage) defeats the direct
       stage. Only when the first two stages found at least ``ZOOM_GATE_MATCHES`` descriptor matches
       but no geometry: most unrelated pairs stop after three stages.
    Returns the best verification (homography in source -> target working pixels), whether it is
    mirrored, the stages run and the most ratio-test matches any of them found (sub-floor evidence).
    """
    lf = local_features
    n = lf.N_FEATURES
    src_feats, tgt_feats = source.with_features().features, target.with_features().features
    assert src_feats is not None and tgt_feats is not None
    src_area, tgt_area = source.content_area, target.content_area
    src_top, tgt_top = src_feats.spread(n), tgt_feats.spread(n)
    best = lf.verify(src_top, tgt_top, src_area, tgt_area)
    stages = ["direct"]
    if fuse.geometry_score(best) >= GEOMETRY_STRONG:
        return best, False, stages, best.matches
    mirror = lf.verify(lf.mirrored(source.gray, src_top), tgt_top, src_area, tgt_area)
    stages.append("mirror")
    most_matches = max(best.matches, mirror.matches)
    mirrored = False
    if mirror.inliers > best.inliers:
        best, mirrored = mirror, True
    if fuse.geometry_score(best) >= INSET_GATE:
        return best, mirrored, stages, most_matches
    stages.append("inset")
    inset = lf.verify(lf.extract_small(source.gray), tgt_feats, src_area, tgt_area)
    if inset.inliers > best.inliers:
        best, mirrored = inset, False
    if fuse.geometry_score(best) >= INSET_GATE or most_matches < ZOOM_GATE_MATCHES:
        return best, mirrored, stages, max(most_matches, inset.matches)
    stages.append("zoom")
    small_target = lf.extract_small(target.gray)
    zoom = lf.verify(small_target, src_feats, tgt_area, src_area).inverted()
    if zoom.inliers > best.inliers:
        best, mirrored = zoom, False
    most_matches = max(most_matches, inset.matches, zoom.matches)
    if fuse.geometry_score(best) >= INSET_GATE:
        return best, mirrored, stages, most_matches
    stages.append("zoom_mirror")
    zoom_mirror = lf.verify(small_target, lf.mirrored(source.gray, src_feats), tgt_area, src_area).inverted()
    if zoom_mirror.inliers > best.inliers:
        best, mirrored = zoom_mirror, True
    return best, mirrored, stages, max(most_matches, zoom_mirror.matches)


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
