"""Shared data types of the benchmark: pairs, truths, and what each matcher says about a pair.

Each medium module (``bench/image_pairs.py``, ``bench/audio_pairs.py``, ``bench/video_pairs.py``) builds
``Pair`` lists; each matcher (ours, and every peer) is a :class:`Matcher` that turns a pair into a
:class:`Verdict`. The runner, metrics and reports in ``bench/`` only see these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

Split = Literal["calib", "report"]


@dataclass(frozen=True)
class Alignment:
    """Where the copied stretch of the source sits in the target (seconds), and the speed factor."""

    source_start: float
    source_end: float
    target_start: float
    target_end: float
    speed: float = 1.0


@dataclass(frozen=True)
class Pair:
    """One benchmark pair. ``family`` names the transform family for positives ("jpeg", "crop", ...)
    and the kind of negative for negatives ("negative", "hard_negative", "blank", "silence", ...)."""

    pair_id: str
    medium: Literal["image", "audio", "video"]
    split: Split
    family: str
    positive: bool
    source: Path
    target: Path
    original: str
    truth: Alignment | None = None


@dataclass
class Verdict:
    """What one matcher said about one pair. ``None`` means the matcher cannot say it (shown as "—")."""

    score: float | None
    match: bool | None
    segments: list[Alignment] | None = None
    seconds: float = 0.0
    peak_rss_mb: float | None = None
    error: str | None = None
    extra: dict[str, float] = field(default_factory=dict)


class Matcher(Protocol):
    """Ours or a peer. ``score`` is higher-is-more-alike; ``match`` is the matcher's own decision
    at its published threshold."""

    name: str

    def available(self) -> bool: ...

    def run(self, pair: Pair) -> Verdict: ...
