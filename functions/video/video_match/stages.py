"""The video fan-out's stages: pure functions shared by both runners, plus their two Lambda entries.

A run compares two staged files. :func:`plan_job` splits each into whole-second-aligned, half-open time
chunks ``[start_s, end_s)`` plus one audio task per file; :func:`run_task` (chunk workers) decodes one
task and writes its signature to the :class:`~medialayer.staging.StagingStore`; :func:`run_align` reads
them back, assembles both signatures and compares them. The local process pool and the Step Functions
state machine call exactly these functions — the only difference is who schedules them.

Payloads between steps carry staging keys and small JSON only, never media bytes (an Express state is
at most 256 KB): the job input for a capped 180 s pair is ~13 KB, one task ~0.3 KB.

Errors: a stage raises our typed :class:`~medialayer.errors.MediaLayerError`. At the Lambda edge
(:func:`chunk_handler`, :func:`align_handler`) it is re-raised as a :class:`StageError` whose *class
name* is ``MediaLayer.<code>`` — the Lambda runtime reports it as ``errorType``, Step Functions turns that
into the state's ``Error``, the state machine's Retry skips it (only ``Lambda.*`` service errors are
retried) and :func:`error_from_stage` maps it back to the typed error on the API side.

Signatures are pickled. They are only ever read back from keys under the current run's prefix in our
own private staging store, written by these same functions; keys in an event are checked to lie under
the event's run prefix before anything is read.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import pickle
import tempfile
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

from medialayer.caps import MediaCaps
from medialayer.engine import Comparison, MatchedSegment
from medialayer.errors import (
    ALL_ERRORS,
    SIDE_FIELDS,
    DurationTooLong,
    InternalError,
    MediaLayerError,
    concerning,
    field_named_in,
)
from medialayer.pipeline import with_durations
from medialayer.staging import RUN_ROOT, StagingStore, build_store, validate_key

log = logging.getLogger("video_match.stages")

Side = Literal["source", "target"]
SIDES: tuple[Side, Side] = ("source", "target")
TaskKind = Literal["frames", "audio"]

#: Preferred chunk length. Decoding 10 s of 1080p30 H.264 to 2 fps thumbnails took ~1.2 CPU-s here
#: (docs/architecture.md, "Sizing the video fan-out").
TARGET_CHUNK_S = 10.0
#: At most this many frame chunks per file: 2 x 18 + 2 audio tasks = 38 <= the Map's MaxConcurrency 40,
#: so a capped pair runs in one wave.
MAX_CHUNKS_PER_FILE = 18
#: Chunk boundaries fall on multiples of this (seconds), so any 1 or 2 fps sampling grid is unbroken.
CHUNK_GRID_S = 1.0

#: The last chunk of a file reads this far past the duration cap, so a file whose header understates
#: its length still shows a frame beyond the cap (and is refused in align) instead of being cut short.
TAIL_MARGIN_S = 1.0
#: Container durations are rounded: tolerate this much over the cap before refusing.
DURATION_SLACK_S = 0.5

#: Align's output must fit an Express state (256 KB) with room to spare; larger ``details`` are dropped.
MAX_RESULT_BYTES = 192 * 1024

#: Step Functions ``Error`` names of our typed errors: ``MediaLayer.<code>``.
ERROR_PREFIX = "MediaLayer."


class VideoStageEngine(Protocol):
    """The chunk API of the video engine that the stages use (see ``video_match.engine``)."""

    def fingerprint_range(self, path: Path, start_s: float, end_s: float) -> Any: ...

    def fingerprint_audio(self, path: Path, caps: MediaCaps) -> Any: ...

    def assemble(self, info: Any, chunks: list[Any], audio: Any) -> Any: ...

    def compare(self, source: Any, target: Any) -> Comparison: ...


# --- keys ------------------------------------------------------------------------------------------


def media_key(run_prefix: str, side: Side) -> str:
    """Where the fetched file of ``side`` is staged."""
    return f"{run_prefix}/{side}/media"


def info_key(run_prefix: str, side: Side) -> str:
    """Where the probe result (``VideoInfo``) of ``side`` is staged."""
    return f"{run_prefix}/{side}/info.pkl"


def _require_under(run_prefix: str, key: str) -> str:
    """``key`` if it is a valid key inside the run ``run_prefix`` (itself below ``runs/``)."""
    try:
        validate_key(run_prefix)
        validate_key(key)
    except ValueError as exc:
        raise InternalError("the video comparison was misconfigured") from exc
    if not run_prefix.startswith(f"{RUN_ROOT}/") or not key.startswith(f"{run_prefix}/"):
        raise InternalError("the video comparison was misconfigured")
    return key


# --- plan ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkTask:
    """One unit of work for a chunk worker: decode one time range (``frames``) or one soundtrack
    (``audio``) of a staged file and write the signature to ``out_key``."""

    kind: TaskKind
    side: Side
    index: int
    run_prefix: str
    media_key: str
    out_key: str
    start_s: float = 0.0
    end_s: float = 0.0
    caps: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChunkTask:
        """Parse and check an event: known kind and side, keys under the run prefix."""
        try:
            task = cls(
                kind=data["kind"],
                side=data["side"],
                index=int(data["index"]),
                run_prefix=str(data["run_prefix"]),
                media_key=str(data["media_key"]),
                out_key=str(data["out_key"]),
                start_s=float(data.get("start_s", 0.0)),
                end_s=float(data.get("end_s", 0.0)),
                caps=data.get("caps"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InternalError("the video comparison was misconfigured") from exc
        if task.kind not in ("frames", "audio") or task.side not in SIDES:
            raise InternalError("the video comparison was misconfigured")
        _require_under(task.run_prefix, task.media_key)
        _require_under(task.run_prefix, task.out_key)
        return task


def chunk_bounds(
    duration_s: float,
    *,
    target_chunk_s: float = TARGET_CHUNK_S,
    max_chunks: int = MAX_CHUNKS_PER_FILE,
    grid_s: float = CHUNK_GRID_S,
) -> list[tuple[float, float]]:
    """Split ``[0, duration_s)`` into at most ``max_chunks`` half-open ranges of ~``target_chunk_s``.

    The length is a multiple of ``grid_s``, so inner boundaries fall on the sampling grid; the last range
    ends at ``duration_s``. A zero or unknown duration still yields one range (the decoder finds the end).
    """
    duration_s = max(0.0, float(duration_s))
    if duration_s <= 0.0:
        return [(0.0, 0.0)]
    wanted = min(max_chunks, max(1, math.ceil(duration_s / target_chunk_s)))
    length = max(grid_s, math.ceil(duration_s / wanted / grid_s) * grid_s)
    count = max(1, math.ceil(duration_s / length - 1e-9))
    return [(i * length, min(duration_s, (i + 1) * length)) for i in range(count)]


def plan_chunks(
    info_source: Any,
    info_target: Any,
    *,
    run_prefix: str,
    target_chunk_s: float = TARGET_CHUNK_S,
    max_chunks_per_file: int = MAX_CHUNKS_PER_FILE,
    max_duration_s: float | None = None,
) -> list[ChunkTask]:
    """Frame tasks for both files (none for a file without video).

    Headers can lie: with a duration cap, the last chunk runs to ``max_duration_s + TAIL_MARGIN_S``
    (ffmpeg stops at the real end of an honest file at no cost), so :func:`run_align` sees any frame
    beyond the cap.
    """
    tasks: list[ChunkTask] = []
    for side, info in zip(SIDES, (info_source, info_target), strict=True):
        if not getattr(info, "has_video", True):
            continue
        bounds = chunk_bounds(info.duration_s, target_chunk_s=target_chunk_s, max_chunks=max_chunks_per_file)
        if max_duration_s is not None:
            last_start, last_end = bounds[-1]
            bounds[-1] = (last_start, max(last_end, max_duration_s + TAIL_MARGIN_S))
        for index, (start, end) in enumerate(bounds):
            tasks.append(
                ChunkTask(
                    kind="frames",
                    side=side,
                    index=index,
                    run_prefix=run_prefix,
                    media_key=media_key(run_prefix, side),
                    out_key=f"{run_prefix}/{side}/frames-{index:03d}.pkl",
                    start_s=start,
                    end_s=end,
                )
            )
    return tasks


def plan_audio(info_source: Any, info_target: Any, *, run_prefix: str, caps: MediaCaps) -> list[ChunkTask]:
    """One audio task per file that has a soundtrack."""
    return [
        ChunkTask(
            kind="audio",
            side=side,
            index=0,
            run_prefix=run_prefix,
            media_key=media_key(run_prefix, side),
            out_key=f"{run_prefix}/{side}/audio.pkl",
            caps=asdict(caps),
        )
        for side, info in zip(SIDES, (info_source, info_target), strict=True)
        if getattr(info, "has_audio", False)
    ]


@dataclass(frozen=True)
class FanOutJob:
    """Everything one run needs: the tasks (run in parallel) and the manifest for align.

    ``to_input()`` is the state machine's execution input and the local runner's argument alike.
    """

    run_prefix: str
    tasks: list[ChunkTask]
    manifest: dict[str, Any] = field(default_factory=dict)

    def to_input(self) -> dict[str, Any]:
        return {
            "run_prefix": self.run_prefix,
            "tasks": [t.to_dict() for t in self.tasks],
            "manifest": self.manifest,
        }


def build_manifest(run_prefix: str, tasks: Sequence[ChunkTask], max_duration_s: float | None = None) -> dict[str, Any]:
    """Which staged objects align reads for each side, in timeline order, and the duration cap."""
    manifest: dict[str, Any] = {"max_duration_s": max_duration_s}
    for side in SIDES:
        frames = sorted((t for t in tasks if t.side == side and t.kind == "frames"), key=lambda t: t.index)
        audio = [t for t in tasks if t.side == side and t.kind == "audio"]
        manifest[side] = {
            "info_key": info_key(run_prefix, side),
            "chunk_keys": [t.out_key for t in frames],
            "audio_key": audio[0].out_key if audio else None,
        }
    return manifest


def plan_job(info_source: Any, info_target: Any, *, run_prefix: str, caps: MediaCaps) -> FanOutJob:
    """The whole plan for one pair: frame chunks and audio tasks of both files, and the manifest."""
    cap = caps.max_duration_s
    tasks = plan_chunks(info_source, info_target, run_prefix=run_prefix, max_duration_s=cap)
    tasks += plan_audio(info_source, info_target, run_prefix=run_prefix, caps=caps)
    return FanOutJob(run_prefix=run_prefix, tasks=tasks, manifest=build_manifest(run_prefix, tasks, cap))


# --- chunk worker ----------------------------------------------------------------------------------


@dataclass
class _CachedFile:
    path: Path
    users: int = 0


class _StagedFileCache:
    """The staged media files this worker process holds locally.

    A warm Lambda container that gets another chunk of the same file reuses its download instead of
    fetching it again. At most ``max_files`` idle files are kept (both sides of one run): a new key
    evicts the oldest idle ones first, so ``/tmp`` never fills up, and a file in use is never evicted
    (in-process runners may call stages from several threads). Files a local store returns in place
    (outside ``root``) are never deleted.
    """

    def __init__(self, root: Path, max_files: int = 2) -> None:
        self.root = root
        self.max_files = max_files
        self._files: dict[str, _CachedFile] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def use(self, store: StagingStore, key: str) -> Iterator[Path]:
        """A local path of the staged object ``key``, kept while the ``with`` block runs."""
        with self._lock:
            cached = self._files.get(key)
            if cached is None or not cached.path.exists():
                self._evict_idle(keep=self.max_files - 1)
                cached = self._files[key] = _CachedFile(store.get_file(key, self.root))
            else:  # most recently used last
                self._files[key] = self._files.pop(key)
            cached.users += 1
        try:
            yield cached.path
        finally:
            with self._lock:
                cached.users -= 1

    def _evict_idle(self, keep: int) -> None:
        for key in [k for k, f in self._files.items() if f.users == 0]:
            if len(self._files) <= keep:
                break
            path = self._files.pop(key).path
            if path.is_relative_to(self.root):
                path.unlink(missing_ok=True)


@lru_cache(maxsize=1)
def _file_cache() -> _StagedFileCache:
    return _StagedFileCache(Path(tempfile.gettempdir()) / f"medialayer-worker-{os.getpid()}")


def run_chunk(task: ChunkTask, store: StagingStore, engine: VideoStageEngine) -> str:
    """Decode ``[task.start_s, task.end_s)`` of the staged file and store its signature; return the key."""
    with _file_cache().use(store, task.media_key) as path:
        signature = engine.fingerprint_range(path, task.start_s, task.end_s)
    store.put_object(task.out_key, pickle.dumps(signature, protocol=pickle.HIGHEST_PROTOCOL))
    return task.out_key


def run_audio(task: ChunkTask, store: StagingStore, engine: VideoStageEngine) -> str:
    """Fingerprint the soundtrack of the staged file (``None`` when it has none) and store it."""
    if task.caps is None:
        raise InternalError("the video comparison was misconfigured")
    with _file_cache().use(store, task.media_key) as path:
        signature = engine.fingerprint_audio(path, MediaCaps(**task.caps))
    store.put_object(task.out_key, pickle.dumps(signature, protocol=pickle.HIGHEST_PROTOCOL))
    return task.out_key


def run_task(task: ChunkTask, store: StagingStore, engine: VideoStageEngine) -> str:
    """Run one planned task (frames or audio); return the key it wrote. Its typed errors name its file."""
    with concerning(SIDE_FIELDS[task.side]):
        return (run_chunk if task.kind == "frames" else run_audio)(task, store, engine)


# --- align -----------------------------------------------------------------------------------------


def _load_many(store: StagingStore, keys: Sequence[str]) -> list[Any]:
    """Fetch and unpickle small objects concurrently (S3 GETs are latency-bound)."""
    if not keys:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(keys))) as pool:
        blobs = list(pool.map(store.get_object, keys))
    return [pickle.loads(blob) for blob in blobs]  # our own run's objects only (see module doc)


def run_align(
    run_prefix: str, manifest: dict[str, Any], store: StagingStore, engine: VideoStageEngine
) -> dict[str, Any]:
    """Assemble both signatures from the staged pieces, compare them, return the comparison as JSON.

    Refuses (``DurationTooLong``) a signature whose decoded frames run past the cap the header hid (naming
    the file). The details gain both decoded durations (:func:`medialayer.pipeline.with_durations`).
    """
    cap = manifest.get("max_duration_s")
    signatures = []
    for side in SIDES:
        entry = manifest[side]
        keys = [entry["info_key"], *entry["chunk_keys"]]
        if entry.get("audio_key"):
            keys.append(entry["audio_key"])
        for key in keys:
            _require_under(run_prefix, key)
        loaded = _load_many(store, keys)
        info, chunks = loaded[0], loaded[1 : 1 + len(entry["chunk_keys"])]
        audio = loaded[-1] if entry.get("audio_key") else None
        with concerning(SIDE_FIELDS[side]):
            signature = engine.assemble(info, chunks, audio)
            decoded = getattr(signature, "duration_s", None)
            if cap is not None and decoded is not None and float(decoded) > float(cap) + DURATION_SLACK_S:
                raise DurationTooLong(f"the video is longer than {float(cap):g} s")
        signatures.append(signature)
    comparison = with_durations(engine.compare(signatures[0], signatures[1]), *signatures)
    return _within_state_limit(comparison_to_dict(comparison))


def _within_state_limit(result: dict[str, Any]) -> dict[str, Any]:
    """Drop ``details`` if they would push align's output past what an Express state may carry (the two
    durations, a few bytes, are kept: the playground draws its timelines on them)."""
    if len(json.dumps(result, separators=(",", ":"))) <= MAX_RESULT_BYTES:
        return result
    log.warning("comparison details too large for the state machine; dropped")
    kept = {k: v for k, v in result.get("details", {}).items() if k in ("source_duration_s", "target_duration_s")}
    return result | {"details": {"details_dropped": True, **kept}}


# --- (de)serialising the result --------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """Plain JSON types from numpy scalars/arrays, tuples and nested containers."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalar or array
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def comparison_to_dict(comparison: Comparison) -> dict[str, Any]:
    """A :class:`Comparison` as JSON-able data (the align step's output)."""
    return {
        "raw_score": float(comparison.raw_score),
        "segments": [{k: float(v) for k, v in asdict(s).items()} for s in comparison.segments],
        "details": _jsonable(comparison.details),
        "conclusive": bool(comparison.conclusive),
    }


def comparison_from_dict(data: dict[str, Any]) -> Comparison:
    """Inverse of :func:`comparison_to_dict`."""
    try:
        return Comparison(
            raw_score=float(data["raw_score"]),
            segments=[MatchedSegment(**seg) for seg in data.get("segments", [])],
            details=dict(data.get("details") or {}),
            conclusive=bool(data.get("conclusive", True)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InternalError("the video comparison returned an invalid result") from exc


# --- errors across the Lambda boundary -------------------------------------------------------------


class StageError(Exception):
    """Raised out of a stage Lambda. The subclass's *name* is the Step Functions ``Error``
    (``MediaLayer.<code>``); the message is the public message of the typed error."""

    code: str = InternalError.code


def _stage_error_class(code: str) -> type[StageError]:
    return type(f"{ERROR_PREFIX}{code}", (StageError,), {"code": code, "__module__": __name__})


STAGE_ERRORS: dict[str, type[StageError]] = {cls.code: _stage_error_class(cls.code) for cls in ALL_ERRORS}
_ERRORS_BY_CODE: dict[str, type[MediaLayerError]] = {cls.code: cls for cls in ALL_ERRORS}


def to_stage_error(exc: MediaLayerError) -> StageError:
    """The exception a stage Lambda raises for a typed error."""
    return STAGE_ERRORS.get(exc.code, STAGE_ERRORS[InternalError.code])(exc.message)


def error_from_stage(error: str | None, cause: str | None) -> MediaLayerError | None:
    """The typed error behind a Step Functions ``Error``/``Cause`` pair, or None if it is not ours.

    ``cause`` for a Lambda task is the Lambda error payload as JSON; its ``errorMessage`` is our public
    message. Anything else in it (stack traces) is never surfaced.
    """
    if not error or not error.startswith(ERROR_PREFIX):
        return None
    cls = _ERRORS_BY_CODE.get(error[len(ERROR_PREFIX) :])
    if cls is None:
        return None
    message = "the video could not be compared"
    try:
        payload = json.loads(cause or "")
        if isinstance(payload, dict) and isinstance(payload.get("errorMessage"), str):
            message = payload["errorMessage"]
    except ValueError:
        pass
    error = cls(message)
    side = field_named_in(message)  # a per-file error's message starts with its field: restore the field
    return error.about(side) if side else error


@contextlib.contextmanager
def stage_errors() -> Iterator[None]:
    """Turn anything a stage raises into a :class:`StageError` (unexpected ones: internal_error)."""
    try:
        yield
    except MediaLayerError as exc:
        log.warning("stage failed: %s: %s", exc.code, exc.message)
        raise to_stage_error(exc) from exc
    except Exception as exc:
        log.exception("stage crashed")
        raise to_stage_error(InternalError("the video could not be compared")) from exc


# --- Lambda entries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageRuntime:
    """What a stage Lambda works with (built once per container)."""

    store: StagingStore
    engine: VideoStageEngine


@lru_cache(maxsize=1)
def stage_runtime() -> StageRuntime:
    """The store from settings and the real video engine (tests replace this function)."""
    from medialayer.settings import get_settings
    from video_match.engine import VideoEngine

    return StageRuntime(store=build_store(get_settings()), engine=VideoEngine())


def chunk_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry of the chunk worker: event = one :class:`ChunkTask` dict; returns ``{"key"}``."""
    with stage_errors():
        task = ChunkTask.from_dict(event)
        runtime = stage_runtime()
        return {"key": run_task(task, runtime.store, runtime.engine)}


def align_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry of align: event = ``{"run_prefix", "manifest"}``; returns the comparison as JSON."""
    with stage_errors():
        try:
            run_prefix, manifest = str(event["run_prefix"]), event["manifest"]
        except (KeyError, TypeError) as exc:
            raise InternalError("the video comparison was misconfigured") from exc
        runtime = stage_runtime()
        return run_align(run_prefix, manifest, runtime.store, runtime.engine)
