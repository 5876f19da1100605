"""Per-medium limits: bytes on the wire, decoded duration and (images) decoded pixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MediaType = Literal["image", "audio", "video"]
MEDIA_TYPES: tuple[MediaType, ...] = ("image", "audio", "video")


@dataclass(frozen=True)
class MediaCaps:
    """Limits for one medium. ``max_duration_s`` is None for images."""

    max_bytes: int
    max_duration_s: float | None = None
    max_pixels: int | None = None

    def scaled(self, factor: float) -> MediaCaps:
        """Smaller caps (the demo route), never larger than these. The pixel cap scales too: an image's
        decode memory budget follows it (``image_match.engine.decode.memory_budget``)."""
        factor = min(1.0, factor)
        return MediaCaps(
            max_bytes=int(self.max_bytes * factor),
            max_duration_s=None if self.max_duration_s is None else self.max_duration_s * factor,
            max_pixels=None if self.max_pixels is None else int(self.max_pixels * factor),
        )


MB = 1024 * 1024

DEFAULT_CAPS: dict[MediaType, MediaCaps] = {
    "image": MediaCaps(max_bytes=15 * MB, max_pixels=50_000_000),
    "audio": MediaCaps(max_bytes=50 * MB, max_duration_s=300.0),
    "video": MediaCaps(max_bytes=100 * MB, max_duration_s=180.0),
}
