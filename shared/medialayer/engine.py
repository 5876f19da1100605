"""The one interface every engine (image, audio, video) plugs into.

An engine turns a local, already-vetted media file into a *signature* (plain data: numpy arrays and small
dataclasses, picklable, storable between the video fan-out's steps) and compares two signatures into a
:class:`Comparison`: an engine-specific ``raw_score`` (higher = more alike), the aligned
``segments`` (audio/video), and optional ``details``. The pipeline then maps ``raw_score`` through the
engine's fitted :class:`~medialayer.calibration.Calibration` to the public ``similarity_score``,
``match`` and ``confidence``.

    sig_a = engine.fingerprint(path_a, caps)
    sig_b = engine.fingerprint(path_b, caps)
    comparison = engine.compare(sig_a, sig_b)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from medialayer.calibration import Calibration
from medialayer.caps import MediaCaps, MediaType

Signature = TypeVar("Signature")


@dataclass(frozen=True)
class MatchedSegment:
    """One aligned stretch, in seconds on each timeline, with its own score in [0, 1]."""

    source_start: float
    source_end: float
    target_start: float
    target_end: float
    score: float


@dataclass
class Comparison:
    """What an engine says about two signatures, before calibration."""

    raw_score: float
    segments: list[MatchedSegment] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    #: False when the evidence has a property no calibration-half copy showed (the audio engine: the
    #: target's levels drift from the source's more than any copy's did), so a ``high`` confidence —
    #: a measured FPR <= 0.01 % — is not established whatever the score: the verdict holds the score
    #: below the high band (``medialayer.verdict``).
    conclusive: bool = True


@runtime_checkable
class Engine(Protocol[Signature]):  # type: ignore[misc]
    """A matcher for one medium."""

    media_type: MediaType

    def fingerprint(self, path: Path, caps: MediaCaps) -> Signature:
        """Decode ``path`` (sniffed and size-checked already) and compute its signature.

        Raises :class:`~medialayer.errors.UnsupportedMedia`, :class:`~medialayer.errors.FileTooLarge`
        or :class:`~medialayer.errors.DurationTooLong` for media it refuses.
        """
        ...

    def compare(self, source: Signature, target: Signature) -> Comparison:
        """Compare two signatures. Pure: no I/O, no media needed."""
        ...

    def calibration(self) -> Calibration:
        """The fitted score mapping for this engine (loaded from its versioned file)."""
        ...
