"""The "valid" events through the real Lambda handlers in AWS mode: the proxy secret read from Secrets
Manager, enterprise keys and rate-limit counters in DynamoDB (all moto), media fetched from a loopback
server (the events' URLs are pointed at it), the real image engine. Limit + 1st request is 429."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from tests.events.conftest import TEST_API_KEY, TEST_PEPPER, TEST_PROXY_SECRET, load_event
from tests.support.media import jpeg_bytes
from tests.support.mediaserver import MediaServer, Route

REGION = "us-east-1"


class _Context:
    function_name = "events-aws-test"
    memory_limit_in_mb = 2048
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:events-aws-test"
    aws_request_id = "events-aws-test"


@pytest.fixture
def media():
    with MediaServer() as srv:
        srv.add("/a.jpg", Route(body=jpeg_bytes(7, size=(480, 360))))
        yield srv


@pytest.fixture
def aws_handler(monkeypatch, tmp_path, media):
    from medialayer.keys import KeyRecord, hash_key, key_id_of
    from medialayer.settings import get_settings

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "MediaLayerMatchTest",
        "MEDIALAYER_RAPIDAPI_SECRET_NAME": "medialayer/rapidapi-proxy",
        "MEDIALAYER_KEYS_TABLE": "keys",
        "MEDIALAYER_COUNTERS_TABLE": "counters",
        "MEDIALAYER_KEY_PEPPER": TEST_PEPPER,
        "MEDIALAYER_ALLOW_PRIVATE_HOSTS": media.host,
        "MEDIALAYER_TEMP_DIR": str(tmp_path / "dl"),
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="medialayer/rapidapi-proxy", SecretString=f"old-secret,{TEST_PROXY_SECRET}"
        )
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(
            TableName="keys",
            AttributeDefinitions=[{"AttributeName": "key_hash", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "key_hash", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.create_table(
            TableName="counters",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        from medialayer.keys import DynamoKeyStore

        DynamoKeyStore("keys", ddb).put(
            KeyRecord(hash_key(TEST_API_KEY, TEST_PEPPER), key_id_of(TEST_API_KEY) or "", "acme", 2, 3600, 0)
        )
        get_settings.cache_clear()
        from image_match.app import create_app
        from medialayer.observability import lambda_entry

        yield lambda_entry(create_app, medium="image")
        get_settings.cache_clear()


def invoke(handler, name: str, media: MediaServer) -> tuple[int, dict]:
    event = load_event(name)
    body = json.dumps({"source_url": media.url("/a.jpg"), "target_url": media.url("/a.jpg")})
    event["body"] = body
    event["headers"]["content-length"] = str(len(body))
    response = handler(event, _Context())
    return response["statusCode"], json.loads(response["body"])


def test_rapidapi_secret_from_secrets_manager_and_real_match(aws_handler, media, tmp_path):
    status, body = invoke(aws_handler, "image-match-valid", media)
    assert status == 200, body
    assert body["match"] is True and body["media_type"] == "image"
    status, body = invoke(aws_handler, "image-match-wrong-secret", media)
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    assert list((tmp_path / "dl").glob("*")) == []


def test_enterprise_key_limit_in_dynamodb(aws_handler, media):
    codes = [invoke(aws_handler, "image-match-valid-enterprise-key", media)[0] for _ in range(3)]
    assert codes == [200, 200, 429]
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName="counters")["Items"]
    assert len(items) == 1 and items[0]["hits"]["N"] == "2" and "expires_at" in items[0]
