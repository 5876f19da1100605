"""The video engine: where, and how much, two videos show the same footage.

Pipeline (each step its own module):

* :mod:`.decode` — probe (caps checked on the header), then ffmpeg decodes 2 frames/s as 96 x 96 grey
  thumbnails in one pass, on an absolute time grid so any time range can be decoded on its own
  (the chunk API the Step Functions / process-pool fan-out uses);
* :mod:`.borders` — letterbox/pillarbox bars found once per video;
* :mod:`.descriptors` — centre-weighted low-frequency DCT descriptors of each frame at three centre
  zoomed windows (crops), with the mirror image available by a sign flip;
* :mod:`.similarity` — frame x frame cosine matrices for (view, view, mirror) variants, best ranked;
* :mod:`.align` — Hough-voted straight lines of slope 0.5-2 (speed changes), verified densely, several
  segments, boundaries from the maximum-sum run;
* :mod:`.evidence` — what a line shows: similarity, residual similarity and *motion agreement* (do the
  frames change together, moment by moment);
* :mod:`.null` — decoys of the target (time reversed, blocks reversed, 2 s blocks shuffled): the same
  search on them is the per-pair null of the visual channel (the look-elsewhere effect, GUIDE §4);
* :mod:`.fuse` — the soundtracks through the audio engine; either modality alone can carry a match;
* :mod:`.scoring` — the search, its null, the raw score of a comparison and the seconds of its segments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from medialayer.calibration import Calibration, load_calibration
from medialayer.caps import MediaCaps, MediaType
from medialayer.engine import Comparison
from medialayer.errors import InternalError, UnsupportedMedia
from video_match.engine import fuse
from video_match.engine.borders import content_box
from video_match.engine.decode import (
    DECODE_FPS,
    DECODE_SIZE,
    decode_range,
    decode_whole,
    probe_video,
)
from video_match.engine.descriptors import describe_all, mirror_signs
from video_match.engine.scoring import compare_signatures
from video_match.engine.types import VideoChunkSignature, VideoInfo, VideoSignature

ENGINE_VERSION = "video-dct-hough-3-null"
CALIBRATION_PATH = Path(__file__).resolve().parents[1] / "calibration.json"

__all__ = [
    "CALIBRATION_PATH",
    "ENGINE_VERSION",
    "VideoChunkSignature",
    "VideoEngine",
    "VideoInfo",
    "VideoSignature",
]


class VideoEngine:
    """Fingerprint and compare videos; see the module doc for the method."""

    media_type: MediaType = "video"
    version: str = ENGINE_VERSION

    def __init__(self, calibration_path: Path | None = None, use_audio: bool = True) -> None:
        self._calibration_path = Path(calibration_path) if calibration_path else CALIBRATION_PATH
        self._use_audio = use_audio

    # -- the chunk API -------------------------------------------------------------------------------
    def probe(self, path: Path, caps: MediaCaps) -> VideoInfo:
        """Header facts; raises ``DurationTooLong`` / ``UnsupportedMedia`` for media we refuse."""
        return probe_video(path, caps)

    def fingerprint_range(self, path: Path, start_s: float, end_s: float) -> VideoChunkSignature:
        """Thumbnails of the sampling-grid frames whose timestamps fall in ``[start_s, end_s)``.

        Exactly the frames a whole-file decode gives for those grid times (``-copyts`` + anchored
        ``fps`` grid). Callers plan ranges from :meth:`probe`, which has already refused headers over
        the duration cap; a header that understates the length only leaves the tail undecoded.
        """
        times, frames = decode_range(path, start_s, end_s)
        return VideoChunkSignature(start_s=float(start_s), end_s=float(end_s), times=times, frames=frames)

    def fingerprint_audio(self, path: Path, caps: MediaCaps) -> Any | None:
        """The soundtrack signature, or ``None`` when there is none (or no audio engine)."""
        if not self._use_audio:
            return None
        return fuse.fingerprint_audio(path, caps)

    def assemble(self, info: VideoInfo, chunks: list[VideoChunkSignature], audio: Any | None) -> VideoSignature:
        """Join chunk thumbnails in time order, remove bars, describe every frame."""
        ordered = sorted(chunks, key=lambda c: c.start_s)
        nonempty = [c for c in ordered if c.times.size]
        if not nonempty:
            raise UnsupportedMedia("the video has no decodable frames")
        times = np.concatenate([c.times for c in nonempty])
        frames = np.concatenate([c.frames for c in nonempty])
        times, unique = np.unique(np.round(times, 6), return_index=True)
        frames = frames[unique]
        box = content_box(frames)
        duration = max(float(info.duration_s), float(times[-1]) + 1.0 / DECODE_FPS)
        return VideoSignature(
            version=ENGINE_VERSION,
            duration_s=duration,
            fps=DECODE_FPS,
            times=times,
            descriptors=describe_all(frames, box),
            mirror_signs=mirror_signs(),
            content_box=box,
            audio=audio,
            meta={"thumb_size": DECODE_SIZE, "has_audio": info.has_audio},
        )

    # -- the Engine protocol ------------------------------------------------------------------------
    def fingerprint(self, path: Path, caps: MediaCaps) -> VideoSignature:
        """Probe, decode everything in one pass (cap enforced on real frames), audio, assemble."""
        info = self.probe(path, caps)
        times, frames = decode_whole(path, info, caps)
        chunk = VideoChunkSignature(start_s=0.0, end_s=float(times[-1]) + 1.0, times=times, frames=frames)
        audio = self.fingerprint_audio(path, caps) if info.has_audio else None
        return self.assemble(info, [chunk], audio)

    def compare(self, source: VideoSignature, target: VideoSignature) -> Comparison:
        """Align the two videos (and their soundtracks); pure, no I/O."""
        return compare_signatures(source, target)

    def calibration(self) -> Calibration:
        """The fitted score map (``calibration.json`` beside the package)."""
        path = self._calibration_path
        if not path.is_file():
            raise InternalError("the video engine is not calibrated yet")
        return load_calibration(path, ENGINE_VERSION)
