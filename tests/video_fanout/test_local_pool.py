"""The fan-out on one machine: FanOutComparer + LocalDirStore + LocalPoolRunner (real processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from medialayer.caps import DEFAULT_CAPS, MediaCaps
from medialayer.errors import DurationTooLong, InternalError, UnsupportedMedia
from medialayer.settings import Settings
from medialayer.staging import LocalDirStore
from tests.video_fanout.fake_engine import FakeEngine
from tests.video_fanout.support import staged_files
from video_match.fanout import FanOutComparer, build_comparer
from video_match.runners import LocalPoolRunner, StepFunctionsRunner

CAPS = DEFAULT_CAPS["video"]


@pytest.fixture
def store(tmp_path: Path) -> LocalDirStore:
    return LocalDirStore(tmp_path / "staging")


def _comparer(store: LocalDirStore, engine: FakeEngine) -> Iterator[FanOutComparer]:
    runner = LocalPoolRunner(store, engine, workers=2, timeout_s=60)
    try:
        yield FanOutComparer(engine, store, runner)
    finally:
        runner.close()


@pytest.fixture
def comparer(store: LocalDirStore) -> Iterator[FanOutComparer]:
    yield from _comparer(store, FakeEngine())


def test_same_file_matches_and_nothing_is_left(
    comparer: FanOutComparer, store: LocalDirStore, clips: dict[str, Path]
) -> None:
    result = comparer.compare_files(clips["long"], clips["long"], CAPS)
    assert result.raw_score == 1.0
    assert result.details["source_ranges"][0] == [0.0, 8.0]
    assert len(result.details["source_ranges"]) == 3
    assert result.details["audio"][0].startswith("audio:")
    assert result.details["numpy_value"] == 0.25
    assert staged_files(store.root) == []
    # the pool is reused by the next run
    again = comparer.compare_files(clips["long"], clips["silent"], CAPS)
    assert again.raw_score == 0.0 and again.details["audio"][1] is None
    assert staged_files(store.root) == []


def test_failing_chunk_raises_its_typed_error_and_cleans_up(store: LocalDirStore, clips: dict[str, Path]) -> None:
    for comparer in _comparer(store, FakeEngine(fail_from_s=8.0)):
        with pytest.raises(UnsupportedMedia, match="could not be decoded"):
            comparer.compare_files(clips["long"], clips["short"], CAPS)
    assert staged_files(store.root) == []


def test_unexpected_crash_is_an_internal_error(store: LocalDirStore, clips: dict[str, Path]) -> None:
    for comparer in _comparer(store, FakeEngine(crash_audio=True)):
        with pytest.raises(InternalError) as info:
            comparer.compare_files(clips["short"], clips["short"], CAPS)
        assert "/var/task" not in info.value.message
    assert staged_files(store.root) == []


def test_hung_workers_are_killed_and_the_pool_recovers(store: LocalDirStore, clips: dict[str, Path]) -> None:
    engine = FakeEngine(sleep_s=30.0)
    runner = LocalPoolRunner(store, engine, workers=2, timeout_s=3)
    try:
        comparer = FanOutComparer(engine, store, runner)
        with pytest.raises(InternalError, match="did not finish in time"):
            comparer.compare_files(clips["short"], clips["short"], CAPS)
        assert staged_files(store.root) == []  # no killed worker could write after the clean-up
        engine.sleep_s = 0.0
        runner.engine = engine  # the next run starts a fresh pool
        assert comparer.compare_files(clips["short"], clips["short"], CAPS).raw_score == 1.0
    finally:
        runner.close()


def test_too_long_is_refused_before_staging(
    comparer: FanOutComparer, store: LocalDirStore, clips: dict[str, Path]
) -> None:
    with pytest.raises(DurationTooLong):
        comparer.compare_files(clips["short"], clips["long"], MediaCaps(max_bytes=10**9, max_duration_s=10))
    assert not (store.root / "runs").exists()


def test_build_comparer_picks_by_settings(tmp_path: Path) -> None:
    local = build_comparer(Settings(staging_dir=str(tmp_path / "st"), local_workers=3), engine=FakeEngine())
    assert isinstance(local.store, LocalDirStore) and local.store.root == tmp_path / "st"
    assert isinstance(local.runner, LocalPoolRunner) and local.runner.workers == 3
    half = build_comparer(Settings(staging_bucket="b", staging_dir=str(tmp_path)), engine=FakeEngine())
    assert isinstance(half.runner, LocalPoolRunner)  # both or nothing


def test_build_comparer_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }.items():
        monkeypatch.setenv(name, value)
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:video"
    aws = build_comparer(Settings(staging_bucket="b", state_machine_arn=arn), engine=FakeEngine())
    assert isinstance(aws.runner, StepFunctionsRunner) and aws.runner.state_machine_arn == arn
    assert aws.store.bucket == "b"  # type: ignore[attr-defined]
