"""A 256-bit DCT hash (PDQ-like) with its eight dihedral variants, for the easy cases.

The content box is reduced to 64 x 64 (area-averaged, which also low-passes), transformed with a 2-D DCT,
and the 16 x 16 lowest non-DC frequencies are thresholded at their median. Re-encodes, resizes, blur,
gamma and noise leave these signs alone, so the Hamming distance between hashes is a strong, cheap
signal. Flips, transposes and 90° rotations only permute and negate DCT coefficients
(a horizontal flip multiplies coefficient (u, v) by (-1)^v, a transpose swaps u and v), so the eight
dihedral variants cost one DCT. ``quality`` (mean gradient of the 64 x 64 image, 0..255 scale) marks
near-uniform images whose hash bits are noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

HASH_SIDE = 16
HASH_BITS = HASH_SIDE * HASH_SIDE
_SIGN = np.where(np.arange(1, HASH_SIDE + 1) % 2 == 1, -1.0, 1.0).astype(np.float32)
DIHEDRAL_NAMES = (
    "identity",
    "flip_h",
    "flip_v",
    "rotate180",
    "transpose",
    "rotate90",
    "rotate270",
    "transverse",
)

# each variant as (rotation in degrees clockwise on screen, mirrored first): the edit that turns the
# source into the target when that variant of the source hash matches
DIHEDRAL_RELATION: dict[str, tuple[int, bool]] = {
    "identity": (0, False),
    "flip_h": (0, True),
    "flip_v": (180, True),
    "rotate180": (180, False),
    "transpose": (-90, True),
    "rotate90": (90, False),
    "rotate270": (-90, False),
    "transverse": (90, True),
}


@dataclass
class GlobalHash:
    """``bits``: (8, 256) bool, row ``k`` is the hash of dihedral variant ``DIHEDRAL_NAMES[k]``."""

    bits: np.ndarray
    quality: float


def compute(gray: np.ndarray) -> GlobalHash:
    """Hash of a uint8 grayscale image (already cropped to its content box)."""
    small = cv2.resize(gray, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
    quality = float((np.abs(np.diff(small, axis=0)).mean() + np.abs(np.diff(small, axis=1)).mean()) / 2.0)
    coeffs = cv2.dct(small)[1 : HASH_SIDE + 1, 1 : HASH_SIDE + 1]
    sx = _SIGN[np.newaxis, :]  # horizontal frequency v along columns
    sy = _SIGN[:, np.newaxis]
    flip_h = coeffs * sx
    flip_v = coeffs * sy
    rot180 = coeffs * sx * sy
    variants = [
        coeffs,
        flip_h,
        flip_v,
        rot180,
        coeffs.T,
        flip_v.T,  # rotate 90° clockwise = transpose of the vertical flip
        flip_h.T,
        rot180.T,
    ]
    bits = np.stack([(v > np.median(v)).ravel() for v in variants])
    return GlobalHash(bits=bits, quality=quality)


def distance(source: GlobalHash, target: GlobalHash) -> tuple[int, int]:
    """(minimum Hamming distance over the source's dihedral variants, index of the best variant)."""
    d = np.count_nonzero(source.bits != target.bits[0], axis=1)
    k = int(np.argmin(d))
    return int(d[k]), k
