"""Small media generated on the fly, so core tests never need the real data folder."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


def data_dir() -> Path | None:
    """The real media folder (``../shared/data`` beside the repo, or ``MEDIALAYER_TEST_DATA``), if present."""
    env = os.environ.get("MEDIALAYER_TEST_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    return path if path.is_dir() else None


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (320, 240), quality: int = 90) -> bytes:
    """A textured random-ish photo-like JPEG."""
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack(
        [
            np.sin(x / (7 + seed % 5)) * 60 + np.cos(y / 11) * 60 + 128,
            np.sin((x + y) / 13) * 80 + 128,
            np.cos(x / 17 - y / 5) * 70 + 128,
        ],
        axis=-1,
    )
    base += rng.normal(0, 12, base.shape)
    for _ in range(12):
        cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.integers(5, 40)
        base[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.integers(0, 255, 3)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def png_bytes(seed: int = 0) -> bytes:
    img = Image.open(io.BytesIO(jpeg_bytes(seed)))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def wav_bytes(seconds: float = 2.0, sr: int = 22050, freq: float = 440.0) -> bytes:
    import soundfile as sf

    t = np.arange(int(seconds * sr)) / sr
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr, format="WAV")
    return buf.getvalue()


#: The documented envelope of a 200 answer without ``details`` (docs/api.md) — written out, not derived from
#: the model, so a change to the model that breaks the contract fails the tests.
ENVELOPE_FIELDS = frozenset(
    {"match", "confidence", "similarity_score", "processing_time_ms", "media_type", "matched_segments"}
)
