"""The ASL executed by moto's Step Functions interpreter, with every Lambda invocation routed in-process
to the real stage handlers (moto 5.2.1's ``LambdaSimpleBackend.invoke`` is patched; pinned in dev.txt).

moto has no ``StartSyncExecution``: :class:`PollingRunner` starts an ordinary execution, polls it, and
hands ``DescribeExecution``'s answer (same ``status``/``output``/``error``/``cause`` fields) to the very
function :class:`~video_match.runners.StepFunctionsRunner` uses.
"""

from __future__ import annotations

import json
import re
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError

from medialayer.caps import DEFAULT_CAPS
from medialayer.errors import InternalError, Overloaded, UnsupportedMedia
from medialayer.staging import S3Store
from tests.video_fanout.fake_engine import FakeEngine
from video_match import stages
from video_match.fanout import FanOutComparer
from video_match.runners import result_from_execution
from video_match.stages import FanOutJob, StageRuntime, _StagedFileCache

REGION, ACCOUNT, BUCKET = "us-east-1", "123456789012", "medialayer-staging-test"
CHUNK_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:video-chunk-worker"
ALIGN_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:video-align"
ASL = Path(__file__).resolve().parents[2] / "statemachine" / "video_match.asl.json"
CAPS = DEFAULT_CAPS["video"]


def substituted_definition() -> str:
    """The ASL with the template's DefinitionSubstitutions applied (as CloudFormation does)."""
    text = ASL.read_text()
    values = {"ChunkWorkerArn": CHUNK_ARN, "AlignArn": ALIGN_ARN, "StagingBucket": BUCKET}
    text = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text)
    assert "${" not in text
    return text


class Throttled(JsonRESTError):
    """What the Lambda service answers when the account is out of concurrency."""

    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")


class LambdaRouter:
    """Plays the Lambda service for moto: runs the real handler and answers like the Python runtime.

    ``throttle_chunks``: that many chunk-worker invocations are refused with a 429 first.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.handlers = {CHUNK_ARN: stages.chunk_handler, ALIGN_ARN: stages.align_handler}
        self.throttle_chunks = 0
        self._lock = threading.Lock()

    def invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        event = json.loads(body)
        with self._lock:
            self.calls.append((function_name, event))
            if function_name == CHUNK_ARN and self.throttle_chunks > 0:
                self.throttle_chunks -= 1
                raise Throttled()
        try:
            return json.dumps(self.handlers[function_name](event, None)).encode()
        except Exception as exc:  # what the Lambda Python runtime reports for an unhandled exception
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorMessage": str(exc),
                    "errorType": type(exc).__name__,
                    "requestId": "test",
                    "stackTrace": traceback.format_tb(exc.__traceback__),
                }
            ).encode()


class PollingRunner:
    """A FanOutRunner over moto: start_execution + polling instead of start_sync_execution."""

    def __init__(self, client: Any, arn: str) -> None:
        self.client, self.arn = client, arn
        self.last: dict[str, Any] = {}

    def run(self, job: FanOutJob) -> dict[str, Any]:
        execution = self.client.start_execution(stateMachineArn=self.arn, input=json.dumps(job.to_input()))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.last = self.client.describe_execution(executionArn=execution["executionArn"])
            if self.last["status"] != "RUNNING":
                return result_from_execution(self.last)
            time.sleep(0.05)
        raise AssertionError("execution did not finish")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    worker_cache = _StagedFileCache(tmp_path / "worker-tmp")  # the chunk workers' /tmp
    monkeypatch.setattr(stages, "_file_cache", lambda: worker_cache)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    router = LambdaRouter()

    def invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any):
        return router.invoke(function_name, body, response_headers)

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="video-match",
            definition=substituted_definition(),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/video-match-sfn",
            type="EXPRESS",
        )
        yield {"s3": s3, "sfn": sfn, "arn": machine["stateMachineArn"], "router": router}


def _comparer(aws: dict[str, Any], engine: FakeEngine, monkeypatch: pytest.MonkeyPatch) -> FanOutComparer:
    store = S3Store(BUCKET, aws["s3"])
    monkeypatch.setattr(stages, "stage_runtime", lambda: StageRuntime(store=store, engine=engine))
    return FanOutComparer(engine, store, PollingRunner(aws["sfn"], aws["arn"]))


def _bucket_keys(aws: dict[str, Any]) -> list[str]:
    return [o["Key"] for o in aws["s3"].list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_execution_runs_every_chunk_then_align(
    aws: dict[str, Any], clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    comparer = _comparer(aws, FakeEngine(), monkeypatch)
    result = comparer.compare_files(clips["long"], clips["silent"], CAPS)

    assert result.raw_score == 0.0
    assert result.details["source_ranges"] == [[0.0, 8.0], [8.0, 16.0], [16.0, 181.0]]
    assert result.details["target_ranges"] == [[0.0, 6.0], [6.0, 181.0]]
    assert result.details["audio"][0].startswith("audio:") and result.details["audio"][1] is None
    calls = aws["router"].calls
    assert [name for name, _ in calls].count(CHUNK_ARN) == 3 + 2 + 1  # frames + frames + one soundtrack
    assert calls[-1][0] == ALIGN_ARN and set(calls[-1][1]) == {"run_prefix", "manifest"}
    assert all("media_key" in event for name, event in calls if name == CHUNK_ARN)
    assert _bucket_keys(aws) == []  # staged media and signatures deleted after the run


def test_failing_chunk_fails_the_execution_with_our_error_code(
    aws: dict[str, Any], clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    runner_comparer = _comparer(aws, FakeEngine(fail_from_s=8.0), monkeypatch)
    with pytest.raises(UnsupportedMedia, match="the media could not be decoded"):
        runner_comparer.compare_files(clips["long"], clips["short"], CAPS)

    outcome = runner_comparer.runner.last  # type: ignore[attr-defined]
    assert outcome["status"] == "FAILED"
    assert outcome["error"] == "MediaLayer.unsupported_media"
    assert all(name == CHUNK_ARN for name, _ in aws["router"].calls)  # align never ran
    failing = [e for n, e in aws["router"].calls if e.get("kind") == "frames" and e["start_s"] >= 8.0]
    assert len(failing) == 2  # our errors are not retried (only Lambda service errors are)
    assert _bucket_keys(aws) == []


def test_unexpected_crash_surfaces_as_internal_error_without_internals(
    aws: dict[str, Any], clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    comparer = _comparer(aws, FakeEngine(crash_audio=True), monkeypatch)
    with pytest.raises(InternalError) as info:
        comparer.compare_files(clips["short"], clips["short"], CAPS)
    assert comparer.runner.last["error"] == "MediaLayer.internal_error"  # type: ignore[attr-defined]
    assert "/var/task" not in info.value.message
    assert _bucket_keys(aws) == []


def test_throttled_worker_is_retried(
    aws: dict[str, Any], clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    comparer = _comparer(aws, FakeEngine(), monkeypatch)
    aws["router"].throttle_chunks = 1
    assert comparer.compare_files(clips["short"], clips["short"], CAPS).raw_score == 1.0
    chunk_calls = [name for name, _ in aws["router"].calls if name == CHUNK_ARN]
    assert len(chunk_calls) == 1 + 1 + 2 + 1  # one retry + frames of each side + both soundtracks
    assert _bucket_keys(aws) == []


def test_retries_are_bounded_and_throttling_becomes_overloaded(
    aws: dict[str, Any], clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    comparer = _comparer(aws, FakeEngine(), monkeypatch)
    aws["router"].throttle_chunks = 10_000
    with pytest.raises(Overloaded):
        comparer.compare_files(clips["short"], clips["short"], CAPS)
    assert comparer.runner.last["error"] == "Lambda.TooManyRequestsException"  # type: ignore[attr-defined]
    per_task: dict[str, int] = {}
    for _, event in aws["router"].calls:
        per_task[event["out_key"]] = per_task.get(event["out_key"], 0) + 1
    assert max(per_task.values()) == 3  # first try + MaxAttempts 2, then the execution fails
    assert _bucket_keys(aws) == []


def test_real_engine_signatures_travel_through_s3(
    aws: dict[str, Any], clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine_module = pytest.importorskip("video_match.engine")
    engine = engine_module.VideoEngine(use_audio=False)
    comparer = _comparer(aws, engine, monkeypatch)  # type: ignore[arg-type]
    fanned = comparer.compare_files(clips["long"], clips["silent"], CAPS)
    direct = engine.compare(engine.fingerprint(clips["long"], CAPS), engine.fingerprint(clips["silent"], CAPS))
    assert fanned.raw_score == pytest.approx(direct.raw_score, abs=1e-6)

    def starts(comparison: Any) -> list[float]:
        return [t for s in comparison.segments for t in (s.source_start, s.target_start, s.source_end)]

    assert fanned.segments and starts(fanned) == pytest.approx(starts(direct), abs=1e-6)
    assert _bucket_keys(aws) == []
