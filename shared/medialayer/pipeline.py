"""From two files (or two URLs) to a calibrated verdict — the one path the API, the CLI and the bench share.

match_urls(request)                       # API: fetch both (safe fetcher), then ...
  -> compare_paths(comparer, a, b)        # sniff, caps, comparer.compare_files, then
                                          # verdict.decide: calibration + segment policy
       -> comparer.compare_files(a, b)    # image/audio: EngineComparer (fingerprint both, compare)
                                          # video: FanOutComparer (stage, chunk fan-out, align)
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from medialayer.calibration import Calibration, Confidence
from medialayer.caps import DEFAULT_CAPS, MediaCaps, MediaType
from medialayer.engine import Comparison, Engine, MatchedSegment
from medialayer.envelope import MatchRequest, MatchResponse, Segment
from medialayer.errors import FileTooLarge
from medialayer.fetcher import FetchPolicy, fetch_pair
from medialayer.sniff import require_medium, sniff
from medialayer.verdict import decide


@runtime_checkable
class FileComparer(Protocol):
    """Compares two local, sniffed files of one medium. Engines are wrapped by :class:`EngineComparer`."""

    media_type: MediaType

    def compare_files(self, source: Path, target: Path, caps: MediaCaps) -> Comparison: ...

    def calibration(self) -> Calibration: ...


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
        if usable_cpus() < 2:  # one core: two threads only contend (measured ~5 % slower than in turn)
            signatures = [self.engine.fingerprint(p, caps) for p in (source, target)]
        else:
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="fingerprint") as pool:
                futures = [pool.submit(self.engine.fingerprint, p, caps) for p in (source, target)]
                signatures = [f.result() for f in futures]
        return self.engine.compare(signatures[0], signatures[1])

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
    for path in (source, target):
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
