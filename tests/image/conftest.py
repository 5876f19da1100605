"""Fixtures of the image engine tests: an engine, synthetic photos-like images, the real-media folder."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from bench.common import data_dir
from image_match.engine import ImageEngine


@pytest.fixture(scope="session")
def engine() -> ImageEngine:
    return ImageEngine()


def synthetic_image(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A textured RGB image (multi-scale noise plus random shapes): plenty of corners and structure."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = np.zeros((h, w, 3), np.float32)
    for scale in (4, 16, 64):
        small = rng.random((max(2, h // scale), max(2, w // scale), 3)).astype(np.float32)
        base += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) * (scale / 84.0)
    img = np.clip(base * 255.0, 0, 255).astype(np.uint8)
    for _ in range(40):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(10, 90)), y + int(rng.integers(10, 90))), colour, -1)
        else:
            cv2.circle(img, (x, y), int(rng.integers(5, 40)), colour, -1)
    return Image.fromarray(img)


@pytest.fixture(scope="session")
def real_images() -> Path:
    """``shared/data/images`` (skips the test when the data folder is absent)."""
    folder = data_dir()
    if folder is None or not (folder / "images").is_dir():
        pytest.skip("real media folder (../shared/data) not available")
    return folder / "images"
