"""Describe a verified geometric relation in the source's own terms: crop box, rotation, scale, mirror.

The verification's inliers map source *working* pixels (possibly of the mirrored source) to target
working pixels. A least-squares affine map fitted to all inliers describes the relation (a homography
fitted by RANSAC on a cluster of inliers extrapolates badly to the image corners; the affine fit is
steadier for crops, rotations and scale changes, and close enough for mild perspective). We map the
target's content box back into the source, undo the mirror and the working scale, and read rotation
and scale from the linear part. These are estimates for the opt-in ``details``; they do not feed the
score.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from image_match.engine.local_features import Verification
from image_match.engine.normalise import Box


def describe(
    verification: Verification,
    *,
    mirrored: bool,
    source_working_width: int,
    source_scale: float,
    target_scale: float,
    target_box: Box,
    source_size: tuple[int, int],
) -> dict[str, Any]:
    """JSON-ready relation: ``crop_box`` (x0, y0, x1, y1 in source pixels), ``rotation_deg``, ``scale``,
    ``mirrored``. ``scale`` is target pixels per source pixel in the originals; ``rotation_deg`` is
    clockwise as seen on screen (the y axis points down) and applies after the mirror."""
    h = _affine(verification)
    if h is None:
        return {}
    corners = np.array(
        [
            [target_box.x0, target_box.y0],
            [target_box.x1, target_box.y0],
            [target_box.x1, target_box.y1],
            [target_box.x0, target_box.y1],
        ],
        dtype=np.float64,
    ).reshape(-1, 1, 2)
    back = cv2.perspectiveTransform(corners, np.linalg.inv(h)).reshape(-1, 2)
    if mirrored:
        back[:, 0] = (source_working_width - 1) - back[:, 0]
    back /= source_scale
    width, height = source_size
    x0, y0 = np.clip(back.min(axis=0), 0, [width, height])
    x1, y1 = np.clip(back.max(axis=0), 0, [width, height])
    linear = h[:2, :2]
    rotation = math.degrees(math.atan2(linear[1, 0] - linear[0, 1], linear[0, 0] + linear[1, 1]))
    scale_working = math.sqrt(abs(float(np.linalg.det(linear))))
    return {
        "crop_box": [round(float(x0)), round(float(y0)), round(float(x1)), round(float(y1))],
        "crop_area_fraction": round(float((x1 - x0) * (y1 - y0)) / float(width * height), 4),
        "rotation_deg": round(rotation, 2),
        "scale": round(scale_working * source_scale / target_scale, 4),
        "mirrored": mirrored,
    }


def _affine(v: Verification) -> np.ndarray | None:
    """3 x 3 matrix of the least-squares affine fit to the inliers (falls back to the homography)."""
    src, dst = v.source_points, v.target_points
    if src is not None and dst is not None and len(src) >= 3:
        design = np.hstack([src.astype(np.float64), np.ones((len(src), 1))])
        coef, *_ = np.linalg.lstsq(design, dst.astype(np.float64), rcond=None)
        m = np.eye(3)
        m[:2, :] = coef.T
        if abs(np.linalg.det(m[:2, :2])) > 1e-9:
            return m
    if v.homography is None:
        return None
    return v.homography / v.homography[2, 2]
