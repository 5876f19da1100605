"""template.yaml: lint-clean, routes and handlers as specified, private storage, least privilege."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from medialayer.keys import KEY_HASH_ATTR
from medialayer.ratelimit import COUNTER_KEY_ATTR, TTL_ATTR
from medialayer.settings import Settings

API_FUNCTIONS = ("ImageMatchFunction", "AudioMatchFunction", "VideoMatchFunction")
VIDEO_FUNCTIONS = ("VideoMatchFunction", "VideoChunkWorkerFunction", "VideoAlignFunction")
ALL_FUNCTIONS = API_FUNCTIONS + ("VideoChunkWorkerFunction", "VideoAlignFunction")

SPEC = {  # logical id -> (handler, memory MB, timeout s)
    "ImageMatchFunction": ("image_match.handler.lambda_handler", 2048, 29),
    "AudioMatchFunction": ("audio_match.handler.lambda_handler", 3008, 29),
    "VideoMatchFunction": ("video_match.handler.lambda_handler", 2048, 29),
    "VideoChunkWorkerFunction": ("video_match.stages.chunk_handler", 3008, 25),
    "VideoAlignFunction": ("video_match.stages.align_handler", 2048, 20),
}


def _props(resources, name):
    return resources[name]["Properties"]


def _routes(resources, name):
    return {
        (e["Properties"]["Method"], e["Properties"]["Path"])
        for e in (_props(resources, name).get("Events") or {}).values()
        if e["Type"] == "HttpApi"
    }


def _policies(resources, name):
    return _props(resources, name).get("Policies") or []


def _statements(doc):
    """Flatten a policy document's statements, resolving Fn::If to both branches."""
    out = []
    for st in doc["Statement"]:
        if isinstance(st, dict) and "Fn::If" in st:
            out.extend(b for b in st["Fn::If"][1:] if isinstance(b, dict) and "Ref" not in b)
        else:
            out.append(st)
    return out


def _actions(statement):
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


# --- lint ----------------------------------------------------------------------------------------


def test_cfn_lint_is_clean(repo):
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), str(repo / "template.yaml")], capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr


# --- functions and routes ------------------------------------------------------------------------


def test_globals(template):
    fn = template["Globals"]["Function"]
    assert fn["Runtime"] == "python3.12" and fn["Architectures"] == ["x86_64"]
    env = fn["Environment"]["Variables"]
    for var in (
        "MEDIALAYER_KEYS_TABLE",
        "MEDIALAYER_COUNTERS_TABLE",
        "MEDIALAYER_STAGING_BUCKET",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
    ):
        assert var in env
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "MediaLayerMatch"
    assert "MEDIALAYER_AUTH_DISABLED" not in env and "MEDIALAYER_ALLOW_PRIVATE_HOSTS" not in env


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_function_spec(resources, name):
    handler, memory, timeout = SPEC[name]
    props = _props(resources, name)
    assert resources[name]["Type"] == "AWS::Serverless::Function"
    assert (props["Handler"], props["MemorySize"], props["Timeout"]) == (handler, memory, timeout)
    assert props["CodeUri"] == "functions/"
    assert resources[name]["Metadata"]["BuildMethod"] == "makefile"


def test_every_function_has_a_make_target(repo):
    makefile = (repo / "functions" / "Makefile").read_text()
    for name in ALL_FUNCTIONS:
        assert re.search(rf"^build-[^\n]*\b{name}\b[^\n]*:", makefile, re.M), name


def test_routes(resources):
    assert _routes(resources, "ImageMatchFunction") == {
        ("POST", "/image/match"),
        ("POST", "/demo/image/match"),
        ("GET", "/openapi.json"),
        ("GET", "/healthz"),
        ("GET", "/"),
    }
    assert _routes(resources, "AudioMatchFunction") == {("POST", "/audio/match"), ("POST", "/demo/audio/match")}
    assert _routes(resources, "VideoMatchFunction") == {("POST", "/video/match"), ("POST", "/demo/video/match")}
    for name in ("VideoChunkWorkerFunction", "VideoAlignFunction"):
        assert not _routes(resources, name)
    for name in API_FUNCTIONS:
        for event in _props(resources, name)["Events"].values():
            assert event["Properties"]["ApiId"] == {"Ref": "MatchApi"}
    assert resources["MatchApi"]["Type"] == "AWS::Serverless::HttpApi"


def test_ffmpeg_layer_wiring(resources, repo):
    for name in ("AudioMatchFunction",) + VIDEO_FUNCTIONS[:2]:
        props = _props(resources, name)
        assert {"Ref": "FfmpegLayer"} in props["Layers"]
        assert props["Environment"]["Variables"]["MEDIALAYER_FFMPEG"] == "/opt/bin/ffmpeg"
    assert "Layers" not in _props(resources, "ImageMatchFunction")
    layer = resources["FfmpegLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    makefile = (repo / layer["Properties"]["ContentUri"] / "Makefile").read_text()
    assert "build-FfmpegLayer:" in makefile and "$(ARTIFACTS_DIR)/bin/ffmpeg" in makefile
    shared = resources["SharedLayer"]
    assert shared["Properties"]["ContentUri"] == "shared/"
    assert "build-SharedLayer:" in (repo / "shared" / "Makefile").read_text()


def test_every_medialayer_env_var_is_a_setting(template, resources):
    fields = set(Settings.model_fields)
    envs = [template["Globals"]["Function"]["Environment"]["Variables"]]
    envs += [_props(resources, n).get("Environment", {}).get("Variables", {}) for n in ALL_FUNCTIONS]
    for env in envs:
        for var in env:
            if var.startswith("MEDIALAYER_") and var != "MEDIALAYER_FFMPEG":
                assert var.removeprefix("MEDIALAYER_").lower() in fields, var


def test_state_machine_arn_only_for_the_video_api(template, resources):
    assert "MEDIALAYER_STATE_MACHINE_ARN" not in template["Globals"]["Function"]["Environment"]["Variables"]
    env = _props(resources, "VideoMatchFunction")["Environment"]["Variables"]
    assert env["MEDIALAYER_STATE_MACHINE_ARN"] == {"Ref": "VideoStateMachine"}


# --- state machine -------------------------------------------------------------------------------


def test_state_machine(resources, repo):
    sm = resources["VideoStateMachine"]
    props = sm["Properties"]
    assert sm["Type"] == "AWS::Serverless::StateMachine" and props["Type"] == "EXPRESS"
    subs = props["DefinitionSubstitutions"]
    assert set(subs) == {"ChunkWorkerArn", "AlignArn", "StagingBucket"}
    assert subs["ChunkWorkerArn"] == {"Fn::GetAtt": ["VideoChunkWorkerFunction", "Arn"]}
    assert subs["AlignArn"] == {"Fn::GetAtt": ["VideoAlignFunction", "Arn"]}
    asl_text = (repo / props["DefinitionUri"]).read_text()
    json.loads(asl_text)
    assert set(re.findall(r"\$\{(\w+)\}", asl_text)) <= set(subs)
    logging = props["Logging"]
    assert logging["IncludeExecutionData"] is False and logging["Destinations"]
    invoked = {p["LambdaInvokePolicy"]["FunctionName"]["Ref"] for p in props["Policies"] if "LambdaInvokePolicy" in p}
    assert invoked == {"VideoChunkWorkerFunction", "VideoAlignFunction"}


# --- storage -------------------------------------------------------------------------------------


def test_staging_bucket_is_private_encrypted_expiring(resources):
    bucket = _props(resources, "StagingBucket")
    assert all(
        bucket["PublicAccessBlockConfiguration"][k] is True
        for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    )
    sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert sse["SSEAlgorithm"] == "AES256"
    rules = bucket["LifecycleConfiguration"]["Rules"]
    assert any(r["Status"] == "Enabled" and r["ExpirationInDays"] == 1 for r in rules)
    policy = _props(resources, "StagingBucketPolicy")
    assert policy["Bucket"] == {"Ref": "StagingBucket"}
    (deny,) = policy["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert len(deny["Resource"]) == 2  # the bucket and its objects


def test_tables_match_the_code(resources):
    keys = _props(resources, "KeysTable")
    counters = _props(resources, "CountersTable")
    for table in (keys, counters):
        assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert keys["KeySchema"] == [{"AttributeName": KEY_HASH_ATTR, "KeyType": "HASH"}]
    assert counters["KeySchema"] == [{"AttributeName": COUNTER_KEY_ATTR, "KeyType": "HASH"}]
    assert counters["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTR, "Enabled": True}
    assert resources["KeysTable"]["DeletionPolicy"] == "Retain"


# --- least privilege -----------------------------------------------------------------------------


def test_api_auth_policy_is_minimal(resources):
    doc = _props(resources, "ApiAuthPolicy")["PolicyDocument"]
    by_sid = {st["Sid"]: st for st in _statements(doc)}
    assert _actions(by_sid["ReadEnterpriseKeys"]) == ["dynamodb:GetItem"]
    assert by_sid["ReadEnterpriseKeys"]["Resource"] == {"Fn::GetAtt": ["KeysTable", "Arn"]}
    assert _actions(by_sid["CountRequests"]) == ["dynamodb:UpdateItem"]
    assert by_sid["CountRequests"]["Resource"] == {"Fn::GetAtt": ["CountersTable", "Arn"]}
    assert _actions(by_sid["ReadProxySecret"]) == ["secretsmanager:GetSecretValue"]
    assert "${RapidApiSecretName}-??????" in by_sid["ReadProxySecret"]["Resource"]["Fn::Sub"]
    assert _actions(by_sid["ReadProxySecretParameter"]) == ["ssm:GetParameter"]
    assert set(by_sid) == {"ReadEnterpriseKeys", "CountRequests", "ReadProxySecret", "ReadProxySecretParameter"}
    # the secret statements exist only when a secret is named
    conditions = {st["Fn::If"][0] for st in doc["Statement"] if "Fn::If" in st}
    assert conditions == {"SecretInSecretsManager", "SecretInSsm"}


def test_policies_per_function(resources):
    def kinds(name):
        out = set()
        for p in _policies(resources, name):
            if p == {"Ref": "ApiAuthPolicy"}:
                out.add("auth")
            elif "S3CrudPolicy" in p:
                assert p["S3CrudPolicy"]["BucketName"] == {"Ref": "StagingBucket"}
                out.add("s3")
            elif "Statement" in p:
                for st in p["Statement"]:
                    assert _actions(st) == ["states:StartSyncExecution"]
                    assert st["Resource"] == {"Ref": "VideoStateMachine"}
                out.add("sfn")
            else:
                pytest.fail(f"{name}: unexpected policy {p}")
        return out

    assert kinds("ImageMatchFunction") == {"auth"}
    assert kinds("AudioMatchFunction") == {"auth"}
    assert kinds("VideoMatchFunction") == {"auth", "s3", "sfn"}
    assert kinds("VideoChunkWorkerFunction") == {"s3"}
    assert kinds("VideoAlignFunction") == {"s3"}


def test_no_wildcard_permissions_except_log_delivery(template):
    text = json.dumps(template)
    assert '"Action": "*"' not in text and "FullAccess" not in text and "AdministratorAccess" not in text
    sm_statements = [
        st
        for p in template["Resources"]["VideoStateMachine"]["Properties"]["Policies"]
        if "Statement" in p
        for st in p["Statement"]
    ]
    for st in sm_statements:
        assert st["Resource"] == "*" and all(a.startswith("logs:") for a in _actions(st))


def test_secret_parameter_pattern():
    """The template's AllowedPattern accepts the forms auth.py understands and nothing odd."""
    from cfnlint.decode import cfn_yaml

    repo = Path(__file__).resolve().parents[2]
    pattern = cfn_yaml.load(str(repo / "template.yaml"))["Parameters"]["RapidApiSecretName"]["AllowedPattern"]
    for ok in ("", "medialayer/rapidapi", "ssm:/medialayer/rapidapi"):
        assert re.fullmatch(pattern, ok), ok
    for bad in ("ssm:relative", "name with space", "arn:aws:secretsmanager:x"):
        assert not re.fullmatch(pattern, bad), bad


def test_outputs(template):
    assert "MatchApi" in template["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"]
