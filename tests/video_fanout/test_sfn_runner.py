"""StepFunctionsRunner: what it sends, and how every outcome of StartSyncExecution maps to our errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from medialayer.caps import DEFAULT_CAPS
from medialayer.errors import DurationTooLong, InternalError, MediaLayerError, Overloaded, UnsupportedMedia
from tests.video_fanout.fake_engine import FakeInfo
from video_match.runners import StepFunctionsRunner
from video_match.stages import plan_job

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:video"
JOB = plan_job(FakeInfo(180.0, True, True), FakeInfo(60.0, True, True), run_prefix="runs/r", caps=DEFAULT_CAPS["video"])


class StubSfn:
    def __init__(self, response: dict[str, Any] | None = None, raises: Exception | None = None) -> None:
        self.response, self.raises = response, raises
        self.calls: list[dict[str, Any]] = []

    def start_sync_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.raises is not None:
            raise self.raises
        assert self.response is not None
        return self.response


def _lambda_cause(error_type: str, message: str) -> str:
    return json.dumps({"errorMessage": message, "errorType": error_type, "stackTrace": ["File /var/task/x.py"]})


def test_success_sends_the_job_and_returns_the_output() -> None:
    output = {"raw_score": 0.7, "segments": [], "details": {}}
    client = StubSfn({"status": "SUCCEEDED", "output": json.dumps(output)})
    assert StepFunctionsRunner(client, ARN).run(JOB) == output
    (call,) = client.calls
    assert call["stateMachineArn"] == ARN
    assert json.loads(call["input"]) == JOB.to_input()


@pytest.mark.parametrize(
    ("response", "expected", "message"),
    [
        (
            {
                "status": "FAILED",
                "error": "MediaLayer.unsupported_media",
                "cause": _lambda_cause("MediaLayer.unsupported_media", "the media could not be decoded"),
            },
            UnsupportedMedia,
            "the media could not be decoded",
        ),
        (
            {
                "status": "FAILED",
                "error": "MediaLayer.duration_too_long",
                "cause": _lambda_cause("MediaLayer.duration_too_long", "the video is longer than 180 s"),
            },
            DurationTooLong,
            "the video is longer than 180 s",
        ),
        (
            {"status": "FAILED", "error": "Lambda.TooManyRequestsException", "cause": "Rate exceeded"},
            Overloaded,
            "busy",
        ),
        ({"status": "FAILED", "error": "States.Timeout", "cause": ""}, InternalError, "in time"),
        ({"status": "TIMED_OUT"}, InternalError, "in time"),
        (
            {
                "status": "FAILED",
                "error": "Sandbox.Timedout",
                "cause": _lambda_cause("Sandbox.Timedout", "x"),
            },
            InternalError,
            "could not be compared",
        ),
        (
            {"status": "FAILED", "error": "Runtime.ExitError", "cause": "signal: killed /var/task"},
            InternalError,
            "could not be compared",
        ),
        ({"status": "SUCCEEDED", "output": "not json"}, InternalError, "could not be compared"),
        ({"status": "SUCCEEDED", "output": "[1, 2]"}, InternalError, "could not be compared"),
        ({"status": "ABORTED"}, InternalError, "could not be compared"),
    ],
)
def test_outcomes_map_to_typed_errors(response: dict[str, Any], expected: type[MediaLayerError], message: str) -> None:
    with pytest.raises(MediaLayerError) as info:
        StepFunctionsRunner(StubSfn(response), ARN).run(JOB)
    assert type(info.value) is expected
    assert message in info.value.message
    assert "/var/task" not in info.value.message


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "StartSyncExecution"),
            Overloaded,
        ),
        (
            ClientError({"Error": {"Code": "StateMachineDoesNotExist", "Message": "x"}}, "StartSyncExecution"),
            InternalError,
        ),
        (ReadTimeoutError(endpoint_url="https://sync-states"), InternalError),
    ],
)
def test_start_call_failures_map_to_typed_errors(exc: Exception, expected: type[MediaLayerError]) -> None:
    with pytest.raises(expected):
        StepFunctionsRunner(StubSfn(raises=exc), ARN).run(JOB)


def test_oversized_input_is_refused_before_calling() -> None:
    huge = plan_job(
        FakeInfo(10.0, True, True),
        FakeInfo(10.0, True, True),
        run_prefix="runs/r",
        caps=DEFAULT_CAPS["video"],
    )
    huge.manifest["padding"] = "x" * (300 * 1024)
    client = StubSfn({"status": "SUCCEEDED", "output": "{}"})
    with pytest.raises(InternalError):
        StepFunctionsRunner(client, ARN).run(huge)
    assert client.calls == []
