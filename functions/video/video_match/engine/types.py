"""Plain-data value types of the video engine: probe result, chunk signature, whole-video signature.

All of them are small, picklable dataclasses of numpy arrays and numbers, so the Step Functions fan-out
can store them in S3 between its steps and compare them without the media.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class VideoInfo:
    """What the container header says about a video (checked against the caps)."""

    duration_s: float
    has_video: bool
    has_audio: bool
    width: int | None
    height: int | None
    fps: float | None


@dataclass
class VideoChunkSignature:
    """Decoded thumbnails of one time range ``[start_s, end_s)``.

    ``frames`` is ``(n, H, W)`` uint8 greyscale at the engine's decode size; ``times`` the presentation
    time of each frame in seconds on the file's own timeline. Border removal and descriptors are computed
    later, in :meth:`VideoEngine.assemble`, from all chunks together (bars are a property of the video).
    """

    start_s: float
    end_s: float
    times: np.ndarray
    frames: np.ndarray


@dataclass
class VideoSignature:
    """The whole-video signature that :meth:`VideoEngine.compare` consumes.

    ``descriptors`` maps a variant name (a centre zoom such as ``"z100"``) to an ``(n, d)`` float16
    array of unit-norm frame descriptors (zero rows for flat frames); ``mirror_signs`` turns a descriptor
    into that of the horizontally mirrored frame by elementwise product. ``audio`` is the soundtrack
    signature of the audio engine, or ``None`` when there is no usable soundtrack.
    """

    version: str
    duration_s: float
    fps: float
    times: np.ndarray
    descriptors: dict[str, np.ndarray]
    mirror_signs: np.ndarray
    content_box: tuple[int, int, int, int]
    audio: Any = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return int(self.times.shape[0])
