"""Stage functions: the plan, the event contract, the error contract across the Lambda boundary."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medialayer.caps import DEFAULT_CAPS
from medialayer.engine import Comparison, MatchedSegment
from medialayer.errors import ALL_ERRORS, DurationTooLong, InternalError, UnsupportedMedia
from medialayer.staging import LocalDirStore
from tests.video_fanout.fake_engine import FakeEngine, FakeInfo
from video_match import stages
from video_match.stages import (
    MAX_CHUNKS_PER_FILE,
    ChunkTask,
    StageRuntime,
    chunk_bounds,
    comparison_from_dict,
    comparison_to_dict,
    error_from_stage,
    plan_job,
)

CAPS = DEFAULT_CAPS["video"]


@given(st.floats(min_value=0.05, max_value=400.0, allow_nan=False))
def test_chunks_tile_the_timeline(duration: float) -> None:
    bounds = chunk_bounds(duration)
    assert 1 <= len(bounds) <= MAX_CHUNKS_PER_FILE
    assert bounds[0][0] == 0.0 and bounds[-1][1] == pytest.approx(duration)
    for (_, end), (start, _) in zip(bounds, bounds[1:], strict=False):
        assert end == start and float(start).is_integer()  # contiguous, on the 1 s grid
    assert all(end > start for start, end in bounds)


def test_capped_pair_fits_one_wave_of_the_map() -> None:
    info = FakeInfo(180.0, True, True)
    job = plan_job(info, info, run_prefix="runs/abc", caps=CAPS)
    frames = [t for t in job.tasks if t.kind == "frames"]
    assert len(frames) == 2 * 18
    assert {t.end_s - t.start_s for t in frames if t.index < 17} == {10.0}
    assert [t.end_s for t in frames if t.index == 17] == [181.0, 181.0]
    assert len(job.tasks) == 38 <= 40
    assert len(json.dumps(job.to_input())) < 32 * 1024  # far below Express's 256 KB
    assert job.manifest["source"]["chunk_keys"] == [t.out_key for t in frames if t.side == "source"]


def test_plan_skips_missing_streams() -> None:
    job = plan_job(FakeInfo(12.0, True, False), FakeInfo(5.0, False, True), run_prefix="runs/r", caps=CAPS)
    kinds = sorted((t.side, t.kind) for t in job.tasks)
    assert kinds == [("source", "frames"), ("source", "frames"), ("target", "audio")]
    assert job.manifest["source"]["audio_key"] is None and job.manifest["target"]["chunk_keys"] == []


def test_task_round_trips_and_rejects_keys_outside_its_run() -> None:
    task = plan_job(FakeInfo(3.0, True, True), FakeInfo(3.0, True, True), run_prefix="runs/r", caps=CAPS)
    for t in task.tasks:
        assert ChunkTask.from_dict(json.loads(json.dumps(t.to_dict()))) == t
    bad = task.tasks[0].to_dict() | {"media_key": "runs/other/source/media"}
    with pytest.raises(InternalError):
        ChunkTask.from_dict(bad)
    with pytest.raises(InternalError):
        ChunkTask.from_dict(task.tasks[0].to_dict() | {"run_prefix": "elsewhere", "media_key": "elsewhere/m"})
    with pytest.raises(InternalError):
        ChunkTask.from_dict({"kind": "frames"})


def test_comparison_json_round_trip() -> None:
    comparison = Comparison(
        raw_score=np.float32(0.5),
        segments=[MatchedSegment(1.0, 2.0, 3.0, 4.0, 0.9)],
        details={"a": np.arange(3), "b": (np.float64(1.5), float("nan"))},
    )
    data = json.loads(json.dumps(comparison_to_dict(comparison)))
    back = comparison_from_dict(data)
    assert back.raw_score == 0.5 and back.segments == comparison.segments
    assert back.details == {"a": [0, 1, 2], "b": [1.5, None]} and back.conclusive
    held = comparison_from_dict(json.loads(json.dumps(comparison_to_dict(replace(comparison, conclusive=False)))))
    assert not held.conclusive  # the verdict's "never high" survives the Step Functions boundary
    with pytest.raises(InternalError):
        comparison_from_dict({"segments": []})


@pytest.mark.parametrize("cls", ALL_ERRORS)
def test_every_typed_error_crosses_the_lambda_boundary(cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object) -> None:
        raise cls("public message")

    monkeypatch.setattr(stages, "run_task", boom)
    monkeypatch.setattr(stages, "stage_runtime", lambda: StageRuntime(store=None, engine=None))  # type: ignore[arg-type]
    event = plan_job(FakeInfo(3.0, True, False), FakeInfo(3.0, True, False), run_prefix="runs/r", caps=CAPS)
    with pytest.raises(stages.StageError) as info:
        stages.chunk_handler(event.tasks[0].to_dict(), None)
    # The Lambda runtime reports type(exc).__name__ as errorType; Step Functions makes it the Error.
    assert type(info.value).__name__ == f"MediaLayer.{cls.code}"
    cause = json.dumps({"errorMessage": str(info.value), "errorType": type(info.value).__name__})
    back = error_from_stage(type(info.value).__name__, cause)
    assert type(back) is cls and back.message == "public message"


def test_unexpected_crash_becomes_internal_error_without_details(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stages, "stage_runtime", lambda: StageRuntime(store=None, engine=None))  # type: ignore[arg-type]
    with pytest.raises(stages.StageError) as info:
        stages.align_handler({"run_prefix": "runs/r", "manifest": {}}, None)  # KeyError inside
    assert type(info.value).__name__ == "MediaLayer.internal_error"
    assert "KeyError" not in str(info.value) and "source" not in str(info.value)


def test_error_from_stage_ignores_foreign_errors() -> None:
    assert error_from_stage("Lambda.Unknown", "{}") is None
    assert error_from_stage("MediaLayer.no_such_code", "{}") is None
    got = error_from_stage("MediaLayer.unsupported_media", "not json")
    assert isinstance(got, UnsupportedMedia) and got.message == "the video could not be compared"


def test_handlers_run_the_stages_in_process(
    tmp_path: Path, clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalDirStore(tmp_path / "staging")
    engine = FakeEngine()
    monkeypatch.setattr(stages, "stage_runtime", lambda: StageRuntime(store=store, engine=engine))
    run = store.new_run_prefix()
    infos = [engine.probe(clips["long"], CAPS), engine.probe(clips["silent"], CAPS)]
    for side, path, info in zip(stages.SIDES, (clips["long"], clips["silent"]), infos, strict=True):
        store.put_file(path, stages.media_key(run, side))
        store.put_object(stages.info_key(run, side), pickle.dumps(info))
    job = plan_job(infos[0], infos[1], run_prefix=run, caps=CAPS)
    keys = [stages.chunk_handler(t.to_dict(), None)["key"] for t in job.tasks]
    assert keys == [t.out_key for t in job.tasks]
    result = stages.align_handler({"run_prefix": run, "manifest": job.manifest}, None)
    json.dumps(result)  # JSON-able as the Lambda response must be
    # 23 s -> three balanced chunks on the 1 s grid
    assert result["details"]["source_ranges"] == [
        [0.0, 8.0],
        [8.0, 16.0],
        [16.0, 181.0],  # the last chunk reads past the cap: headers can lie
    ]
    assert result["details"]["audio"][1] is None and result["raw_score"] == 0.0


class _Signed:
    def __init__(self, duration_s: float) -> None:
        self.duration_s = duration_s


class _LongEngine(FakeEngine):
    """Assembles signatures whose decoded length is set by the test (a header that lied)."""

    def __init__(self, decoded_s: float) -> None:
        super().__init__()
        self.decoded_s = decoded_s

    def assemble(self, info, chunks, audio):  # type: ignore[no-untyped-def]
        return _Signed(self.decoded_s)

    def compare(self, source, target) -> Comparison:  # type: ignore[no-untyped-def]
        return Comparison(raw_score=0.1)


@pytest.mark.parametrize(("decoded_s", "refused"), [(180.5, False), (181.0, True)])
def test_align_refuses_frames_beyond_the_cap(tmp_path: Path, decoded_s: float, refused: bool) -> None:
    store = LocalDirStore(tmp_path / "staging")
    info = FakeInfo(30.0, True, False)
    job = plan_job(info, info, run_prefix="runs/r", caps=CAPS)
    for side in stages.SIDES:
        store.put_object(stages.info_key("runs/r", side), pickle.dumps(info))
    for task in job.tasks:
        store.put_object(task.out_key, pickle.dumps(None))
    if refused:
        with pytest.raises(DurationTooLong):
            stages.run_align("runs/r", job.manifest, store, _LongEngine(decoded_s))
    else:
        assert stages.run_align("runs/r", job.manifest, store, _LongEngine(decoded_s))["raw_score"] == 0.1


def test_align_output_stays_within_the_state_limit(tmp_path: Path) -> None:
    class Chatty(_LongEngine):
        def compare(self, source, target) -> Comparison:  # type: ignore[no-untyped-def]
            return Comparison(raw_score=0.3, details={"matrix": np.zeros((300, 300)).tolist()})

    store = LocalDirStore(tmp_path / "staging")
    info = FakeInfo(5.0, True, False)
    job = plan_job(info, info, run_prefix="runs/r", caps=CAPS)
    for side in stages.SIDES:
        store.put_object(stages.info_key("runs/r", side), pickle.dumps(info))
    for task in job.tasks:
        store.put_object(task.out_key, pickle.dumps(None))
    result = stages.run_align("runs/r", job.manifest, store, Chatty(5.0))
    details = {"details_dropped": True, "source_duration_s": 5.0, "target_duration_s": 5.0}  # durations are kept
    assert result == {"raw_score": 0.3, "segments": [], "details": details, "conclusive": True}
