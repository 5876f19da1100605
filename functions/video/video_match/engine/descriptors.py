"""Per-frame descriptors that survive re-encoding, scaling, colour changes, small overlays, mild crops and
(through :func:`mirror_signs`) horizontal mirroring.

For each frame: cut the video's content box (bars removed), optionally a centred zoom of it (so a
cropped copy can be met half-way), resample to ``GRID`` x ``GRID`` by area averaging, standardise
(brightness/contrast invariance; frames with almost no contrast are *flat* and get a zero descriptor, so
black or blank video never matches anything), weight by a centred Gaussian (overlays and crops live at
the edges), and keep the lowest ``KEEP`` x ``KEEP`` 2-D DCT coefficients except DC, L2-normalised.

Mirroring a frame horizontally multiplies the DCT coefficient of horizontal frequency ``u`` by
``(-1)**u``; the window is symmetric, so the mirrored frame's descriptor is ``descriptor * signs`` and
needs no second pass over the pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

GRID = 32
KEEP = 8
#: Centre zooms described for every frame (fraction of the content box kept on each side).
ZOOMS: tuple[float, ...] = (1.0, 0.8, 0.64)
#: Frames whose standard deviation is below this (grey levels) are flat.
FLAT_STD = 3.0
_WINDOW_SIGMA = 0.42


def zoom_name(zoom: float) -> str:
    """Variant key of a zoom, e.g. ``"z100"``."""
    return f"z{round(zoom * 100):03d}"


def _window(size: int) -> np.ndarray:
    x = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    g = np.exp(-0.5 * (x / _WINDOW_SIGMA) ** 2)
    return np.outer(g, g).astype(np.float32)


_WIN = _window(GRID)
_MASK = np.ones((KEEP, KEEP), dtype=bool)
_MASK[0, 0] = False


def mirror_signs() -> np.ndarray:
    """Elementwise factors turning a descriptor into that of the mirrored frame."""
    u = np.broadcast_to(np.arange(KEEP), (KEEP, KEEP))
    return np.where(u % 2 == 1, -1.0, 1.0).astype(np.float32)[_MASK]


def _crop(frame: np.ndarray, box: tuple[int, int, int, int], zoom: float) -> np.ndarray:
    top, bottom, left, right = box
    h, w = bottom - top, right - left
    ch, cw = max(4, int(round(h * zoom))), max(4, int(round(w * zoom)))
    y0, x0 = top + (h - ch) // 2, left + (w - cw) // 2
    return frame[y0 : y0 + ch, x0 : x0 + cw]


def describe(frames: np.ndarray, box: tuple[int, int, int, int], zoom: float = 1.0) -> np.ndarray:
    """``(n, KEEP*KEEP-1)`` float32 unit-norm descriptors of ``frames`` ((n, H, W) uint8)."""
    out = np.zeros((frames.shape[0], int(_MASK.sum())), dtype=np.float32)
    for k, frame in enumerate(frames):
        small = cv2.resize(_crop(frame, box, zoom), (GRID, GRID), interpolation=cv2.INTER_AREA)
        small = small.astype(np.float32)
        std = float(small.std())
        if std < FLAT_STD:
            continue
        norm = np.clip((small - small.mean()) / std, -3.0, 3.0) * _WIN
        coeffs = cv2.dct(norm)[:KEEP, :KEEP][_MASK]
        length = float(np.linalg.norm(coeffs))
        if length > 1e-6:
            out[k] = coeffs / length
    return out


def describe_all(frames: np.ndarray, box: tuple[int, int, int, int]) -> dict[str, np.ndarray]:
    """Descriptors of every zoom variant, as float16 (the signature's storage type)."""
    return {zoom_name(z): describe(frames, box, z).astype(np.float16) for z in ZOOMS}
