"""Fixtures of the audio engine tests: an engine, a writer for test files, the real-media folder."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_match.engine import AudioEngine
from bench.common import data_dir
from medialayer.ffmpeg import ffmpeg_exe


@pytest.fixture(scope="session")
def engine() -> AudioEngine:
    return AudioEngine()


@pytest.fixture
def write_audio(tmp_path: Path) -> Callable[..., Path]:
    """``write_audio(name, samples, sr, fmt="wav"|"flac"|"ogg")`` -> path."""

    def write(name: str, samples: np.ndarray, sr: int, fmt: str = "wav") -> Path:
        path = tmp_path / f"{name}.{fmt}"
        kw = {"subtype": "VORBIS"} if fmt == "ogg" else {}
        sf.write(str(path), samples, sr, format=fmt.upper(), **kw)
        return path

    return write


def run_ffmpeg_cli(*args: str) -> None:
    """Run the bundled ffmpeg to make fixtures (the engine itself only uses the safe runner)."""
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error", "-y", *args]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-500:]


@pytest.fixture(scope="session")
def audio_dir() -> Path:
    root = data_dir()
    if root is None or not (root / "audio").is_dir():
        pytest.skip("real test media not available (../shared/data or MEDIALAYER_TEST_DATA)")
    return root / "audio"
