"""From two files (or two URLs) to a calibrated verdict — the one path the API, the CLI and the bench share.

match_urls(request)                       # API: fetch both (safe fetcher), then ...
  -> compare_paths(comparer, a, b)        # sniff, caps, comparer.compare_files, then
                                          # verdict.decide: calibration + segment policy
       -> comparer.compare_files(a, b)    # image/audio: EngineComparer (fingerprint both, compare)
                                          # video: FanOutComparer (stage, chunk fan-out, align)

Two things are added here, outside the engines, so every medium gets them the same way:

* **Which file** an error is about: whatever one file's fetch, sniff, caps or fingerprint raises is tagged
  ``source_url`` / ``target_url`` (:func:`medialayer.errors.concerning`).
* **Durations**: a comparison's details gain ``source_duration_s`` / ``target_duration_s`` from the two
  signatures' ``duration_s`` (the decoded length: audio samples / rate, video frames assembled) when the
  signatures have one (:func:`with_durations`); images have none. The playground draws its timelines on them.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from medialayer.calibration import Calibration, Confidence
from medialayer.caps import DEFAULT_CAPS, MediaCaps, MediaType
from medialayer.engine import Comparison, Engine, MatchedSegment
from medialayer.envelope import MatchRequest, MatchResponse, Segment
from medialayer.errors import FILE_FIELDS, FileField, FileTooLarge, concerning
from medialayer.fetcher import FetchPolicy, fetch_pair
from medialayer.sniff import require_medium, sniff
from medialayer.verdict import decide


@runtime_checkable
class FileComparer(Protocol):
    """Compares two local, sniffed files of one medium. Engines are wrapped by :class:`EngineComparer`."""

    media_type: MediaType

    def compare_files(self, source: Path, target: Path, caps: MediaCaps) -> Comparison: ...

    def calibration(self) -> Calibration: ...


def signature_durations(source: Any, target: Any) -> dict[str, float]:
    """``{"source_duration_s", "target_duration_s"}`` from two signatures' ``duration_s`` (seconds, rounded
    to ms); ``{}`` unless both have a finite, positive one (image signatures have none)."""
    out: dict[str, float] = {}
    for side, signature in (("source", source), ("target", target)):
        value = getattr(signature, "duration_s", None)
        try:
            seconds = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return {}
        if not (math.isfinite(seconds) and seconds > 0):
            return {}
        out[f"{side}_duration_s"] = round(seconds, 3)
    return out


def with_durations(comparison: Comparison, source: Any, target: Any) -> Comparison:
    """``comparison`` with both files' durations in its details (an engine's own values win)."""
    durations = signature_durations(source, target)
    if not durations:
        return comparison
    # ``replace`` keeps every other field (``conclusive`` among them) as the engine set it.
    return replace(comparison, segments=list(comparison.segments), details={**durations, **comparison.details})


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one, else the CPU count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class EngineComparer:
    """Fingerprint both files (two threads when two CPUs are usable: decoders release the GIL) and
    compare the signatures."""

    def __init__(self, engine: Engine[Any]) -> None:
        self.engine = engine
        self.media_type = engine.media_type

    def compare_files(self, source: Path, target: Path, caps: MediaCaps) -> Comparison:
        """Both signatures, compared; an engine's refusal of one file names it (``source_url`` first when
        both fail); the details gain both durations (:func:`with_durations`)."""
        jobs = list(zip((source, target), FILE_FIELDS, strict=True))
        if usable_cpus() < 2:  # one core: two threads only contend (measured ~5 % slower than in turn)
            signatures = [self._fingerprint(path, caps, side) for path, side in jobs]
        else:
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="fingerprint") as pool:
                futures = [pool.submit(self._fingerprint, path, caps, side) for path, side in jobs]
                signatures = [f.result() for f in futures]
        return with_durations(self.engine.compare(signatures[0], signatures[1]), *signatures)

    def _fingerprint(self, path: Path, caps: MediaCaps, field: FileField) -> Any:
        with concerning(field):
            return self.engine.fingerprint(path, caps)

    def calibration(self) -> Calibration:
        return self.engine.calibration()


@dataclass
class MatchOutcome:
    """A calibrated verdict on two files."""

    media_type: MediaType
    raw_score: float
    similarity_score: float
    match: bool
    confidence: Confidence
    segments: list[MatchedSegment] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def as_comparer(engine_or_comparer: Engine[Any] | FileComparer) -> FileComparer:
    if hasattr(engine_or_comparer, "compare_files"):
        return engine_or_comparer  # type: ignore[return-value]
    return EngineComparer(engine_or_comparer)  # type: ignore[arg-type]


def compare_paths(
    engine_or_comparer: Engine[Any] | FileComparer,
    source: Path,
    target: Path,
    *,
    caps: MediaCaps | None = None,
    details: bool = False,
) -> MatchOutcome:
    """Sniff and size-check both files, compare them, and calibrate the result."""
    comparer = as_comparer(engine_or_comparer)
    medium = comparer.media_type
    caps = caps or DEFAULT_CAPS[medium]
    for path, file_field in zip((source, target), FILE_FIELDS, strict=True):
        with concerning(file_field):
            if Path(path).stat().st_size > caps.max_bytes:
                raise FileTooLarge(f"the file is larger than the {caps.max_bytes // (1024 * 1024)} MB limit")
            require_medium(sniff(Path(path)), medium)
    comparison = comparer.compare_files(Path(source), Path(target), caps)
    calibration = comparer.calibration()
    verdict = decide(comparison, calibration, with_segments=medium != "image")
    extra = dict(comparison.details) if details else {}
    if details:
        extra.setdefault("raw_score", comparison.raw_score)
        extra.setdefault("calibration_version", calibration.version)
        if verdict.note:
            extra["verdict_note"] = verdict.note
    return MatchOutcome(
        media_type=medium,
        raw_score=comparison.raw_score,
        similarity_score=verdict.similarity_score,
        match=verdict.match,
        confidence=verdict.confidence,
        segments=list(verdict.segments),
        details=extra,
    )


def to_response(outcome: MatchOutcome, started: float, *, details: bool) -> MatchResponse:
    """The public envelope; ``started`` is the ``time.perf_counter()`` when the request arrived."""
    return MatchResponse(
        match=outcome.match,
        confidence=outcome.confidence,
        similarity_score=round(outcome.similarity_score, 4),
        processing_time_ms=int(round((time.perf_counter() - started) * 1000)),
        media_type=outcome.media_type,
        matched_segments=[
            Segment(
                source_start=round(s.source_start, 3),
                source_end=round(s.source_end, 3),
                target_start=round(s.target_start, 3),
                target_end=round(s.target_end, 3),
                score=round(min(1.0, max(0.0, s.score)), 4),
            )
            for s in outcome.segments
        ],
        details=outcome.details if details else None,
    )


def match_urls(
    comparer: FileComparer,
    request: MatchRequest,
    *,
    caps: MediaCaps,
    policy: FetchPolicy,
    started: float,
) -> MatchResponse:
    """Fetch both URLs (concurrently, safely) and compare them; temp files are always removed."""
    with fetch_pair(
        request.source_url,
        request.target_url,
        max_bytes=caps.max_bytes,
        policy=policy,
        medium=comparer.media_type,
    ) as (source, target):
        outcome = compare_paths(comparer, source, target, caps=caps, details=request.details)
    return to_response(outcome, started, details=request.details)
