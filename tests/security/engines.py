"""Real engines with a stand-in calibration while the fitted ``calibration.json`` has not landed.

Module-level classes so the local video fan-out can pickle them into its ``spawn`` worker processes.
The security suites and the load test are about refusals, bounds and leaks, not scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.security.support import stand_in_calibration
from video_match.engine import VideoEngine


class VideoEngineForTests(VideoEngine):
    """The video engine (soundtrack step off unless asked) with a fallback calibration."""

    def __init__(self, use_audio: bool = False) -> None:
        super().__init__(use_audio=use_audio)

    def calibration(self) -> Any:
        try:
            return super().calibration()
        except Exception:
            return stand_in_calibration("video")


def rich_wav(seconds: float = 6.0, seed: int = 0, sr: int = 22050) -> bytes:
    """Music-like audio (random notes with harmonics and onsets) that the landmark engine can match;
    a pure tone has too little structure to match anything."""
    import io

    import soundfile as sf

    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n, dtype=np.float32)
    note = int(0.125 * sr)
    t = np.arange(note) / sr
    env = np.exp(-t * 12).astype(np.float32)
    for start in range(0, n - note, note):
        f = 110 * 2 ** (rng.integers(0, 36) / 12)
        tone = sum(np.sin(2 * np.pi * f * k * t) / k for k in (1, 2, 3))
        out[start : start + note] += (0.3 * env * tone).astype(np.float32)
    out += rng.normal(0, 0.01, n).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, out, sr, format="WAV")
    return buf.getvalue()
