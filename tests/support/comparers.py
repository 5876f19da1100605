"""Stand-in comparers for API tests that need a verdict but not an engine."""

from __future__ import annotations

from pathlib import Path

from medialayer.calibration import Calibration
from medialayer.caps import MediaCaps
from medialayer.engine import Comparison

#: raw 0..1 maps to the score as it is: 1 is a high match, 0 a clear non-match.
IDENTITY_CALIBRATION = Calibration(
    medium="image", version="test", raw_floor=0, raw_clear=0.2, raw_match=0.5, raw_high=0.8, raw_top=1.0
)


class SameBytes:
    """An image comparer that scores 1 when the two files are byte-identical, else 0."""

    media_type = "image"

    def compare_files(self, source: Path, target: Path, caps: MediaCaps) -> Comparison:
        return Comparison(raw_score=float(source.read_bytes() == target.read_bytes()))

    def calibration(self) -> Calibration:
        return IDENTITY_CALIBRATION
