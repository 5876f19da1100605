"""Synthetic videos as decoded thumbnails (no ffmpeg): slideshows of random "photographs" with one motion,
takes of a fixed-camera scene (static background, a moving object on a path), and copies of them.

Everything is built at the engine's decode rate and size (``DECODE_FPS`` frames/s, ``DECODE_SIZE``
square grey thumbnails) and turned into a :class:`VideoSignature` by the engine's own ``assemble``, so
the tests exercise the same descriptors and borders as a decoded file would.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter, zoom

from video_match.engine import VideoEngine
from video_match.engine.decode import DECODE_FPS, DECODE_SIZE
from video_match.engine.descriptors import area_resize
from video_match.engine.types import VideoChunkSignature, VideoInfo, VideoSignature

PHOTO_SIZE = 240


def photo(rng: np.random.Generator, size: int = PHOTO_SIZE) -> np.ndarray:
    """A random "photograph": smooth 1/f-like texture with a few large soft shapes, float 0-255."""
    img = np.zeros((size, size))
    for sigma, weight in ((size / 6, 1.0), (size / 20, 0.6), (size / 60, 0.3)):
        img += weight * gaussian_filter(rng.standard_normal((size, size)), sigma) * sigma
    yy, xx = np.mgrid[0:size, 0:size] / size
    for _ in range(3):
        cy, cx, r = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.08, 0.25)
        img += rng.choice([-1.0, 1.0]) * np.std(img) * 1.5 / (1 + ((yy - cy) ** 2 + (xx - cx) ** 2) / r**2)
    img = (img - img.min()) / max(np.ptp(img), 1e-9)
    return 30.0 + 200.0 * img


def _view(img: np.ndarray, scale: float, cx: float, cy: float) -> np.ndarray:
    """The square window of ``img`` of side ``size / scale`` centred at (cx, cy) (fractions), as a thumbnail."""
    size = img.shape[0]
    side = int(round(size / scale))
    x0 = int(round(np.clip(cx * size - side / 2, 0, size - side)))
    y0 = int(round(np.clip(cy * size - side / 2, 0, size - side)))
    return area_resize(img[y0 : y0 + side, x0 : x0 + side], DECODE_SIZE)


def slideshow(photos: list[np.ndarray], seconds: float, motion: str) -> np.ndarray:
    """Thumbnails ``(n, DECODE_SIZE, DECODE_SIZE)`` uint8 of a slideshow with hard cuts, each photo shown
    ``seconds`` with the same ``motion``: ``"in"`` / ``"out"`` (Ken Burns zoom 1 -> 1.3 / back),
    ``"lr"`` / ``"rl"`` (pan across at zoom 1.25), ``"static"``."""
    per = max(2, int(round(seconds * DECODE_FPS)))
    frames = []
    for img in photos:
        for k in range(per):
            t = k / (per - 1)
            if motion == "in":
                f = _view(img, 1.0 + 0.3 * t, 0.5, 0.5)
            elif motion == "out":
                f = _view(img, 1.3 - 0.3 * t, 0.5, 0.5)
            elif motion == "lr":
                f = _view(img, 1.25, 0.4 + 0.2 * t, 0.5)
            elif motion == "rl":
                f = _view(img, 1.25, 0.6 - 0.2 * t, 0.5)
            else:
                f = _view(img, 1.0, 0.5, 0.5)
            frames.append(f)
    return np.clip(np.rint(np.stack(frames)), 0, 255).astype(np.uint8)


def scene(rng: np.random.Generator) -> np.ndarray:
    """A fixed camera's view of a room: a textured background, float 0-255 at thumbnail size."""
    return zoom(photo(rng), DECODE_SIZE / PHOTO_SIZE, order=1)


def take(background: np.ndarray, path: np.ndarray, radius: float = 9.0, level: float = 235.0) -> np.ndarray:
    """Thumbnails of one take of a fixed camera: ``background`` with a bright round object at each
    ``(y, x)`` of ``path`` (pixels), plus a little sensor noise (seeded by the path)."""
    noise = np.random.default_rng(int(abs(path).sum() * 1000) % 2**32)
    yy, xx = np.mgrid[0 : background.shape[0], 0 : background.shape[1]]
    frames = []
    for y, x in path:
        blob = np.exp(-((((yy - y) ** 2 + (xx - x) ** 2) / (2 * radius**2)) ** 2))
        f = background * (1 - blob) + level * blob + noise.normal(0.0, 1.5, background.shape)
        frames.append(f)
    return np.clip(np.rint(np.stack(frames)), 0, 255).astype(np.uint8)


def walk(rng: np.random.Generator, n: int, size: int = DECODE_SIZE, step: float = 4.0) -> np.ndarray:
    """A smooth random path ``(n, 2)`` of an object wandering around the frame (pixels)."""
    pos = rng.uniform(0.25 * size, 0.75 * size, 2)
    heading = rng.uniform(0, 2 * np.pi)
    out = []
    for _ in range(n):
        heading += rng.normal(0.0, 0.35)
        pos = pos + step * np.array([np.sin(heading), np.cos(heading)])
        for d in range(2):  # bounce off the walls
            if not 0.12 * size <= pos[d] <= 0.88 * size:
                heading = -heading if d == 0 else np.pi - heading
                pos[d] = np.clip(pos[d], 0.12 * size, 0.88 * size)
        out.append(pos.copy())
    return np.array(out)


def reencoded(frames: np.ndarray, rng: np.random.Generator, blur: float = 0.6, noise: float = 3.0) -> np.ndarray:
    """A lossy copy: slight blur, a gamma/brightness change and noise."""
    f = gaussian_filter(frames.astype(np.float64), (0, blur, blur))
    f = 255.0 * (f / 255.0) ** 0.9 + 6.0 + rng.normal(0.0, noise, f.shape)
    return np.clip(np.rint(f), 0, 255).astype(np.uint8)


def signature(frames: np.ndarray, engine: VideoEngine | None = None) -> VideoSignature:
    """The engine's signature of decoded thumbnails (times on the decode grid, no soundtrack)."""
    engine = engine or VideoEngine(use_audio=False)
    n = frames.shape[0]
    times = np.arange(n) / DECODE_FPS
    info = VideoInfo(n / DECODE_FPS, True, False, DECODE_SIZE, DECODE_SIZE, 25.0)
    chunk = VideoChunkSignature(start_s=0.0, end_s=n / DECODE_FPS, times=times, frames=frames)
    return engine.assemble(info, [chunk], None)
