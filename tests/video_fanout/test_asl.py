"""Static checks of the state machine definition (moto executes it in test_state_machine.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from video_match.stages import MAX_CHUNKS_PER_FILE

ASL = Path(__file__).resolve().parents[2] / "statemachine" / "video_match.asl.json"


def _definition() -> dict[str, Any]:
    return json.loads(ASL.read_text())


def _tasks(states: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for state in states.values():
        if state["Type"] == "Task":
            found.append(state)
        if state["Type"] == "Map":
            found += _tasks(state["ItemProcessor"]["States"])
    return found


def test_only_the_templates_substitutions_are_used() -> None:
    assert set(re.findall(r"\$\{(\w+)\}", ASL.read_text())) <= {"ChunkWorkerArn", "AlignArn", "StagingBucket"}


def test_shape_map_then_align_and_express_limits() -> None:
    asl = _definition()
    states = asl["States"]
    fan_out = states[asl["StartAt"]]
    assert fan_out["Type"] == "Map" and fan_out["ItemsPath"] == "$.tasks"
    assert fan_out["ItemProcessor"]["ProcessorConfig"]["Mode"] == "INLINE"
    assert 2 * MAX_CHUNKS_PER_FILE + 2 <= fan_out["MaxConcurrency"] <= 40  # one wave; inline Map cap
    assert fan_out["ResultPath"] is None  # results are in S3; keep the state small
    align = states[fan_out["Next"]]
    assert align["Parameters"]["FunctionName"] == "${AlignArn}" and align.get("End") is True
    assert asl["TimeoutSeconds"] < 30  # inside API Gateway's integration timeout


def test_every_task_invokes_lambda_with_bounded_retries_of_service_errors_only() -> None:
    asl = _definition()
    tasks = _tasks(asl["States"])
    assert {t["Parameters"]["FunctionName"] for t in tasks} == {"${ChunkWorkerArn}", "${AlignArn}"}
    for task in tasks:
        assert task["Resource"] == "arn:aws:states:::lambda:invoke"
        assert 0 < task["TimeoutSeconds"] < asl["TimeoutSeconds"]
        for retry in task["Retry"]:
            assert all(name.startswith("Lambda.") for name in retry["ErrorEquals"])
            assert retry["MaxAttempts"] <= 3 and retry["MaxDelaySeconds"] <= 5


def test_failures_reach_a_fail_state_that_keeps_the_error_name() -> None:
    states = _definition()["States"]
    catchers = [c for s in states.values() for c in s.get("Catch", [])]
    assert catchers and all(c["Next"] == "Failed" and c["ResultPath"] == "$.error" for c in catchers)
    assert states["Failed"] == states["Failed"] | {
        "Type": "Fail",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }


def _lint(definition: dict[str, Any]) -> list[str]:
    """cfn-lint's state machine schema checks (E3601) on the definition, inlined in a tiny template."""
    from cfnlint.api import ManualArgs, lint

    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "VideoStateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineType": "EXPRESS",
                    "RoleArn": "arn:aws:iam::123456789012:role/sfn",
                    "Definition": definition,
                    "DefinitionSubstitutions": {
                        "ChunkWorkerArn": "arn:aws:lambda:us-east-1:123456789012:function:chunk",
                        "AlignArn": "arn:aws:lambda:us-east-1:123456789012:function:align",
                        "StagingBucket": "staging",
                    },
                },
            }
        },
    }
    return [str(m) for m in lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"]))]


def test_definition_passes_cfn_lint_schema() -> None:
    assert _lint(_definition()) == []
    broken = _definition()
    broken["States"]["Failed"]["Type"] = "Nope"
    assert any("E3601" in m for m in _lint(broken))  # the check does look inside the definition
