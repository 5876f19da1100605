"""Probe and decode videos through the safe ffmpeg runner, cheaply: one pass, low rate, tiny frames.

``decode_range`` asks ffmpeg for greyscale thumbnails (``DECODE_SIZE`` square, area-averaged) sampled on
an absolute time grid of ``1/fps`` seconds: ``-copyts`` keeps the file's own timestamps, ``-ss`` before
``-i`` seeks, and the ``fps`` filter's ``start_time`` anchors its grid on the first grid point of the range,
so a range decode returns exactly the frames a whole-file decode returns for the same grid times. Audio,
subtitle and data streams are dropped (``-an -sn -dn``); the H.264/HEVC loop filter is skipped
(``-skip_loop_filter all``), which speeds decoding and changes nothing visible at thumbnail size.

Frames are square (aspect ratio is not kept): descriptors are computed on the content box resampled to a
fixed grid anyway, and a uniform scale is irrelevant to them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from medialayer.caps import MediaCaps
from medialayer.errors import DurationTooLong, UnsupportedMedia
from medialayer.ffmpeg import VIDEO_DEMUXERS, probe, run_ffmpeg
from video_match.engine.types import VideoInfo

#: Frames per second sampled from the video.
DECODE_FPS = 2.0
#: Side of the square greyscale thumbnail ffmpeg scales every sampled frame to.
DECODE_SIZE = 96
#: ffmpeg decoding threads per file (the pipeline decodes the two files of a pair side by side).
DECODE_THREADS = 2


def probe_video(path: Path, caps: MediaCaps) -> VideoInfo:
    """Read the header; refuse early what has no video stream or already claims to be too long."""
    head = probe(path, demuxers=VIDEO_DEMUXERS)
    if head.video_streams == 0:
        raise UnsupportedMedia("the file has no video stream")
    duration = head.duration_s
    if caps.max_duration_s is not None and duration is not None and duration > caps.max_duration_s:
        raise DurationTooLong(f"the video is longer than {caps.max_duration_s:g} s")
    return VideoInfo(
        duration_s=float(duration) if duration is not None else 0.0,
        has_video=True,
        has_audio=head.audio_streams > 0,
        width=head.width,
        height=head.height,
        fps=head.fps,
    )


def grid_start(start_s: float, fps: float = DECODE_FPS) -> float:
    """The first sampling-grid time at or after ``start_s``."""
    return math.ceil(round(start_s * fps, 6)) / fps


def decode_range(
    path: Path,
    start_s: float,
    end_s: float,
    *,
    fps: float = DECODE_FPS,
    size: int = DECODE_SIZE,
    threads: int = DECODE_THREADS,
) -> tuple[np.ndarray, np.ndarray]:
    """Thumbnails of the grid times in ``[start_s, end_s)``: ``(times (n,), frames (n, size, size) uint8)``.

    Raises :class:`UnsupportedMedia` when ffmpeg cannot decode the file.
    """
    t0 = grid_start(max(0.0, start_s), fps)
    if end_s <= t0:
        return np.zeros(0, dtype=np.float64), np.zeros((0, size, size), dtype=np.uint8)
    span = end_s - t0
    # Read one grid step past the end: the fps filter emits the frame of a grid time only once it has
    # seen the input beyond it; the extra frames are dropped below by their grid time.
    read = span + 1.0 / fps
    frame_bytes = size * size
    max_frames = int(math.ceil(read * fps)) + 2
    run = run_ffmpeg(
        path,
        [
            "-an",
            "-sn",
            "-dn",
            "-vf",
            f"fps=fps={fps:g}:start_time={t0:.6f},scale={size}:{size}:flags=area",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
            "pipe:1",
        ],
        demuxers=VIDEO_DEMUXERS,
        input_args=["-copyts", "-skip_loop_filter", "all", "-ss", f"{t0:.6f}", "-t", f"{read:.6f}"],
        timeout_s=30.0 + read,
        max_output_bytes=max_frames * frame_bytes,
        threads=threads,
    )
    data = run.stdout
    n = len(data) // frame_bytes
    frames = np.frombuffer(data[: n * frame_bytes], dtype=np.uint8).reshape(n, size, size)
    times = t0 + np.arange(n, dtype=np.float64) / fps
    keep = times < end_s - 1e-9
    return times[keep], np.ascontiguousarray(frames[keep])


def decode_whole(path: Path, info: VideoInfo, caps: MediaCaps) -> tuple[np.ndarray, np.ndarray]:
    """Decode the whole file, enforcing the duration cap on the frames actually decoded.

    Headers can lie (or be missing): decoding runs one grid step past the cap, and if a frame exists
    beyond the cap the video is refused.
    """
    limit = caps.max_duration_s
    end = (limit + 1.5 / DECODE_FPS) if limit is not None else max(info.duration_s, 0.0) + 1.0
    if limit is None and info.duration_s <= 0:
        end = 3600.0
    times, frames = decode_range(path, 0.0, end)
    check_decoded_duration(times, caps)
    return times, frames


def check_decoded_duration(times: np.ndarray, caps: MediaCaps) -> None:
    """Refuse a decode whose last frame lies beyond the duration cap, or which gave no frame at all."""
    if times.size == 0:
        raise UnsupportedMedia("the video has no decodable frames")
    if caps.max_duration_s is not None and float(times[-1]) > caps.max_duration_s + 1e-6:
        raise DurationTooLong(f"the video is longer than {caps.max_duration_s:g} s")
