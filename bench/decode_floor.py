"""The speed floor: how long ffmpeg itself takes just to decode a file (``ffmpeg -i f -f null -``).

No matcher that has to look at every frame/sample can be faster than decoding, so the benchmark reports
each matcher's per-pair time as a multiple of the decode-only time of that pair's two files, measured in
the same run on the same machine (so machine speed and load cancel out, to first order).

Method: wall-clock time of the whole ``ffmpeg`` process (including its start-up, a few ms), with
ffmpeg's default threading, best of ``repeats`` runs (the minimum is the least noisy estimate of the
floor on a shared machine). The ffmpeg binary is the one ``imageio_ffmpeg`` ships, so it is the same
everywhere the dev requirements are installed.
"""

from __future__ import annotations

import subprocess
import time
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with ``imageio_ffmpeg``."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_version() -> str:
    """First line of ``ffmpeg -version`` (for report provenance)."""
    out = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True, check=False)
    return (out.stdout.splitlines() or ["unknown"])[0]


def ffmpeg_decode_seconds(path: Path, repeats: int = 2) -> float:
    """Wall-clock seconds for ffmpeg to decode every stream of ``path`` to nothing (best of ``repeats``).

    Raises ``RuntimeError`` if ffmpeg cannot decode the file.
    """
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error", "-i", str(path), "-f", "null", "-"]
    best = float("inf")
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, check=False)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            tail = proc.stderr.decode(errors="replace")[-300:]
            raise RuntimeError(f"ffmpeg could not decode {path}: {tail}")
        best = min(best, elapsed)
    return best
