"""Per-frame descriptors that survive re-encoding, scaling, colour changes, small overlays, mild crops and
(through :func:`mirror_signs`) horizontal mirroring.

For each frame: cut the video's content box (bars removed) — and also zoomed windows of it at a 3 x 3
grid of positions, so a cropped copy is met by the matching window of the other video — resample to
``GRID`` x ``GRID`` by area averaging, standardise robustly (median/MAD: brightness/contrast invariance
that a bright overlay cannot skew; frames with almost no contrast are *flat* and get a zero descriptor,
so black or blank video never matches anything), weight by a centred Gaussian (overlays and crops live
at the edges), and keep the lowest ``KEEP`` x ``KEEP`` 2-D DCT coefficients except DC, L2-normalised.

Mirroring a frame horizontally multiplies the DCT coefficient of horizontal frequency ``u`` by
``(-1)**u``; the window is symmetric, so the mirrored frame's descriptor is ``descriptor * signs`` and
needs no second pass over the pixels.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.fft import dctn

GRID = 32
KEEP = 8
#: Zooms described for every frame (fraction of the content box kept on each side) ...
ZOOMS: tuple[float, ...] = (0.85, 0.72)
#: ... each at these positions of the crop window inside the box (0 = left/top, 1 = right/bottom).
POSITIONS: tuple[float, ...] = (0.0, 0.5, 1.0)
FULL = "full"
#: Frames whose robust spread is below this (grey levels) are flat.
FLAT_STD = 3.0
_WINDOW_SIGMA = 0.3


def view_name(zoom: float, fx: float, fy: float) -> str:
    """Key of one view of the frame, e.g. ``"z085_0.5_0.0"``."""
    return f"z{round(zoom * 100):03d}_{fx:g}_{fy:g}"


def views() -> dict[str, tuple[float, float, float]]:
    """Every described view: the full content box and each (zoom, x position, y position)."""
    out = {FULL: (1.0, 0.5, 0.5)}
    for z in ZOOMS:
        for fy in POSITIONS:
            for fx in POSITIONS:
                out[view_name(z, fx, fy)] = (z, fx, fy)
    return out


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


def _crop(frame: np.ndarray, box: tuple[int, int, int, int], view: tuple[float, float, float]) -> np.ndarray:
    zoom, fx, fy = view
    top, bottom, left, right = box
    h, w = bottom - top, right - left
    ch, cw = max(4, int(round(h * zoom))), max(4, int(round(w * zoom)))
    y0 = top + int(round((h - ch) * fy))
    x0 = left + int(round((w - cw) * fx))
    return frame[y0 : y0 + ch, x0 : x0 + cw]


@lru_cache(maxsize=256)
def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` matrix averaging each output cell's share of the input (area resampling)."""
    edges = np.arange(n_out + 1, dtype=np.float64) * (n_in / n_out)
    lo, hi = edges[:-1, None], edges[1:, None]
    cells = np.arange(n_in, dtype=np.float64)[None, :]
    overlap = np.clip(np.minimum(hi, cells + 1) - np.maximum(lo, cells), 0.0, None)
    return (overlap / overlap.sum(axis=1, keepdims=True)).astype(np.float32)


def area_resize(image: np.ndarray, size: int) -> np.ndarray:
    """Resample a 2-D image to ``size`` x ``size`` by area averaging, as float32.

    Equal to OpenCV's ``INTER_AREA`` when shrinking; written with two small matrix products so the video
    functions need no OpenCV (it would push them past Lambda's 250 MB package limit).
    """
    h, w = image.shape
    return _area_weights(h, size) @ image.astype(np.float32) @ _area_weights(w, size).T


def _descriptor(small: np.ndarray) -> np.ndarray | None:
    """Descriptor of one ``GRID`` x ``GRID`` float32 image, or None when it is flat.

    Median/MAD standardisation (clipped) keeps a bright overlay from rescaling the whole frame.
    """
    med = float(np.median(small))
    spread = 1.4826 * float(np.median(np.abs(small - med)))
    spread = max(spread, 0.5 * float(small.std()))
    if spread < FLAT_STD:
        return None
    norm = np.clip((small - med) / spread, -3.0, 3.0) * _WIN
    coeffs = dctn(norm, type=2, norm="ortho")[:KEEP, :KEEP][_MASK]
    length = float(np.linalg.norm(coeffs))
    return coeffs / length if length > 1e-6 else None


def describe(
    frames: np.ndarray, box: tuple[int, int, int, int], view: tuple[float, float, float] = (1.0, 0.5, 0.5)
) -> np.ndarray:
    """``(n, KEEP*KEEP-1)`` float32 unit-norm descriptors of one view of ``frames`` ((n, H, W) uint8)."""
    out = np.zeros((frames.shape[0], int(_MASK.sum())), dtype=np.float32)
    for k, frame in enumerate(frames):
        d = _descriptor(area_resize(_crop(frame, box, view), GRID))
        if d is not None:
            out[k] = d
    return out


def describe_all(frames: np.ndarray, box: tuple[int, int, int, int]) -> dict[str, np.ndarray]:
    """Descriptors of every view, as float16 (the signature's storage type)."""
    return {name: describe(frames, box, view).astype(np.float16) for name, view in views().items()}
