"""A tiny stand-in for the video engine with the same chunk API (picklable, for the process pool).

It reads real headers through the safe ffmpeg probe, but its "signatures" only record what was asked for
(time ranges, a digest of the file), so tests can check the plan and the plumbing exactly.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medialayer.calibration import Calibration
from medialayer.caps import MediaCaps
from medialayer.engine import Comparison, MatchedSegment
from medialayer.errors import DurationTooLong, UnsupportedMedia
from medialayer.ffmpeg import VIDEO_DEMUXERS, probe


@dataclass(frozen=True)
class FakeInfo:
    duration_s: float
    has_video: bool
    has_audio: bool


@dataclass(frozen=True)
class FakeChunk:
    start_s: float
    end_s: float
    digest: str


@dataclass
class FakeSignature:
    info: FakeInfo
    chunks: list[FakeChunk]
    audio: str | None
    meta: dict = field(default_factory=dict)


def _digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


@dataclass
class FakeEngine:
    """``fail_from_s``: any frame chunk starting at or after this raises ``UnsupportedMedia``;
    ``crash_audio``: the audio task raises a plain ``RuntimeError`` (an unexpected bug);
    ``sleep_s``: every frame chunk takes this long (a hung decoder)."""

    fail_from_s: float | None = None
    crash_audio: bool = False
    sleep_s: float = 0.0
    media_type: str = "video"

    def probe(self, path: Path, caps: MediaCaps) -> FakeInfo:
        head = probe(path, demuxers=VIDEO_DEMUXERS)
        if head.video_streams == 0:
            raise UnsupportedMedia("the file has no video stream")
        duration = head.duration_s or 0.0
        if caps.max_duration_s is not None and duration > caps.max_duration_s:
            raise DurationTooLong("too long")
        return FakeInfo(duration, head.video_streams > 0, head.audio_streams > 0)

    def fingerprint_range(self, path: Path, start_s: float, end_s: float) -> FakeChunk:
        if self.fail_from_s is not None and start_s >= self.fail_from_s:
            raise UnsupportedMedia("the media could not be decoded")
        time.sleep(self.sleep_s)
        return FakeChunk(start_s, end_s, _digest(path))

    def fingerprint_audio(self, path: Path, caps: MediaCaps) -> str | None:
        if self.crash_audio:
            raise RuntimeError("secret internal detail /var/task/x.py")
        return f"audio:{_digest(path)}"

    def assemble(self, info: FakeInfo, chunks: list[FakeChunk], audio: str | None) -> FakeSignature:
        return FakeSignature(info=info, chunks=list(chunks), audio=audio)

    def compare(self, source: FakeSignature, target: FakeSignature) -> Comparison:
        same = [c.digest for c in source.chunks] == [c.digest for c in target.chunks]
        return Comparison(
            raw_score=1.0 if same else 0.0,
            segments=[MatchedSegment(0.0, source.info.duration_s, 0.0, target.info.duration_s, 1.0)],
            details={
                "source_ranges": [(c.start_s, c.end_s) for c in source.chunks],
                "target_ranges": [(c.start_s, c.end_s) for c in target.chunks],
                "audio": [source.audio, target.audio],
                "numpy_value": np.float32(0.25),
            },
        )

    def fingerprint(self, path: Path, caps: MediaCaps) -> FakeSignature:
        raise NotImplementedError("the fan-out never calls fingerprint")

    def calibration(self) -> Calibration:
        raise NotImplementedError
