"""Fixtures of the video engine tests: synthetic clips made with ffmpeg's lavfi sources, real clips."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.common import data_dir
from medialayer.ffmpeg import ffmpeg_exe


def run_ffmpeg_cli(*args: str) -> None:
    """Run the bundled ffmpeg (test fixtures only; the engine uses the safe runner)."""
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error", "-y", *args]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-500:]


MakeClip = Callable[..., Path]


@pytest.fixture
def make_clip(tmp_path: Path) -> MakeClip:
    """``make_clip(name, source="mandelbrot", seconds=8, vf=None, audio=False, size="320x240")``."""

    def make(
        name: str,
        source: str = "mandelbrot",
        seconds: float = 8.0,
        vf: str | None = None,
        audio: bool = False,
        size: str = "320x240",
        rate: int = 25,
    ) -> Path:
        out = tmp_path / f"{name}.mp4"
        sep = ":" if "=" in source else "="
        args = ["-f", "lavfi", "-i", f"{source}{sep}s={size}:r={rate}"]
        if audio:
            args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050"]
        args += ["-t", f"{seconds:g}"]
        if vf:
            args += ["-vf", vf]
        args += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
        args += ["-c:a", "aac"] if audio else ["-an"]
        run_ffmpeg_cli(*args, str(out))
        return out

    return make


@pytest.fixture(scope="session")
def video_data() -> Path:
    """The real clips folder (``<data>/video``); skips when the data folder is absent."""
    root = data_dir()
    if root is None or not (root / "video").is_dir():
        pytest.skip("real media folder not available")
    return root / "video"
