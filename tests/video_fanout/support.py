"""Helpers for the video fan-out tests: synthetic clips made with the bundled ffmpeg."""

from __future__ import annotations

import subprocess
from pathlib import Path

from medialayer.ffmpeg import ffmpeg_exe


def make_clip(path: Path, seconds: float, *, audio: bool = True, size: str = "160x120") -> Path:
    """An H.264 (+AAC) MP4 of ffmpeg's ``testsrc2`` pattern (and a sine tone)."""
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    cmd += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=15:duration={seconds}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest", str(path)]
    subprocess.run(cmd, check=True, timeout=60)
    return path


def staged_files(root: Path) -> list[Path]:
    """Every file left under a local staging root."""
    return sorted(p for p in root.rglob("*") if p.is_file())


def make_excerpt(source: Path, path: Path, start_s: float, seconds: float) -> Path:
    """Re-encode ``seconds`` of ``source`` from ``start_s`` (a copy of a stretch, new timeline)."""
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    cmd += ["-ss", f"{start_s}", "-t", f"{seconds}", "-i", str(source)]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "28", "-pix_fmt", "yuv420p", "-an", str(path)]
    subprocess.run(cmd, check=True, timeout=60)
    return path
