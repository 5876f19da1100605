"""The one safe way to run ffmpeg: on a local file only, with a container allow-list, bounded in time,
memory and output.

Never hand a URL to ffmpeg: an HLS or concat playlist disguised as media makes it fetch internal URLs.
Every call here passes ``-protocol_whitelist file`` and a ``-format_whitelist`` of the demuxers we accept
before ``-i``, reads no stdin, and runs under rlimits (address space, CPU seconds, open files, no core
dumps) with a wall-clock timeout. A crash, hang or refusal is an error for that request only.

The binary: ``MEDIALAYER_FFMPEG`` if set (the Lambda layer puts it at ``/opt/bin/ffmpeg``), else the
static build shipped in the ``imageio-ffmpeg`` wheel, so no system install is needed.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from medialayer.errors import InternalError, UnsupportedMedia

#: Demuxers accepted for audio inputs (and the audio of video containers).
AUDIO_DEMUXERS = ("wav", "flac", "ogg", "mp3", "aac", "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi")
#: Demuxers accepted for video inputs.
VIDEO_DEMUXERS = ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi", "mpegts", "flv")

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MEMORY_BYTES = 2 * 1024**3
_LAYER_BINARY = Path("/opt/bin/ffmpeg")


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary to run."""
    configured = os.environ.get("MEDIALAYER_FFMPEG", "")
    if configured:
        return configured
    if _LAYER_BINARY.is_file():
        return str(_LAYER_BINARY)
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - packaging error
        raise InternalError("media decoder is not available") from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


def _demuxer_list(demuxers: Sequence[str]) -> str:
    return ",".join(demuxers)


def _limited(cmd: list[str], memory_bytes: int, cpu_seconds: int) -> list[str]:
    """Wrap ``cmd`` so it runs under rlimits (address space, CPU seconds, no core, few files).

    The limits are set by ``/bin/sh`` just before ``exec``, not by a ``preexec_fn``: forking a threaded
    server and running Python in the child before exec is unsafe (it can deadlock on a lock held by
    another thread at fork time).
    """
    script = f'ulimit -v {memory_bytes // 1024} && ulimit -t {cpu_seconds} && ulimit -c 0 && ulimit -n 64 && exec "$@"'
    return ["/bin/sh", "-c", script, "ffmpeg-limited", *cmd]


@dataclass(frozen=True)
class FfmpegRun:
    stdout: bytes
    stderr: str


def run_ffmpeg(
    input_path: Path,
    output_args: Sequence[str],
    *,
    demuxers: Sequence[str],
    input_args: Sequence[str] = (),
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
    max_output_bytes: int | None = None,
    threads: int = 1,
) -> FfmpegRun:
    """Run ffmpeg on one local file; output goes to stdout (``pipe:1``) and is returned.

    ``output_args`` must end with the output (normally ``"pipe:1"``). Raises :class:`UnsupportedMedia` when
    ffmpeg refuses the file, crashes or runs out of time or memory.
    """
    cmd = [
        ffmpeg_exe(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-threads",
        str(threads),
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        _demuxer_list(demuxers),
        *input_args,
        "-i",
        f"file:{Path(input_path).resolve()}",
        *output_args,
    ]
    try:
        proc = subprocess.run(
            _limited(cmd, memory_bytes, int(timeout_s) + 1),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise UnsupportedMedia("the media took too long to decode") from exc
    stderr = proc.stderr.decode("utf-8", "replace")[-4000:]
    if proc.returncode != 0:
        raise UnsupportedMedia("the media could not be decoded")
    if max_output_bytes is not None and len(proc.stdout) > max_output_bytes:
        raise UnsupportedMedia("the media decodes to more data than allowed")
    return FfmpegRun(stdout=proc.stdout, stderr=stderr)


@dataclass(frozen=True)
class MediaProbe:
    """What the container header says. Headers can lie: decoders re-check the real length."""

    container: str
    duration_s: float | None
    audio_streams: int
    video_streams: int
    width: int | None
    height: int | None
    fps: float | None

    @property
    def streams(self) -> int:
        return self.audio_streams + self.video_streams


_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_INPUT = re.compile(r"Input #0, ([^,]+(?:,[^,\s]+)*), from")
_VIDEO = re.compile(r"Stream #0:\d+.*?: Video: .*?(\d{2,5})x(\d{2,5})")
_FPS = re.compile(r"(\d+(?:\.\d+)?) fps")


def probe(path: Path, *, demuxers: Sequence[str], timeout_s: float = 10.0) -> MediaProbe:
    """Read the container header with ``ffmpeg -i`` (no output; ffmpeg exits 1 by design)."""
    cmd = [
        ffmpeg_exe(),
        "-nostdin",
        "-hide_banner",
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        _demuxer_list(demuxers),
        "-i",
        f"file:{Path(path).resolve()}",
    ]
    try:
        proc = subprocess.run(
            _limited(cmd, DEFAULT_MEMORY_BYTES, int(timeout_s) + 1),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise UnsupportedMedia("the media header could not be read in time") from exc
    text = proc.stderr.decode("utf-8", "replace")
    head = _INPUT.search(text)
    if head is None:
        raise UnsupportedMedia("the media container is not supported or is damaged")
    duration = None
    m = _DURATION.search(text)
    if m:
        duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    lines = [ln for ln in text.splitlines() if ln.strip().startswith("Stream #0:")]
    video_lines = [ln for ln in lines if ": Video:" in ln]
    audio_lines = [ln for ln in lines if ": Audio:" in ln]
    width = height = None
    fps = None
    if video_lines:
        vm = _VIDEO.search(video_lines[0])
        if vm:
            width, height = int(vm.group(1)), int(vm.group(2))
        fm = _FPS.search(video_lines[0])
        if fm:
            fps = float(fm.group(1))
    return MediaProbe(
        container=head.group(1),
        duration_s=duration,
        audio_streams=len(audio_lines),
        video_streams=len(video_lines),
        width=width,
        height=height,
        fps=fps,
    )
