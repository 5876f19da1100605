"""Fixtures for auth tests: a controllable clock, settings, moto-backed AWS tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from medialayer.settings import Settings

REGION = "us-east-1"
KEYS_TABLE = "medialayer-keys"
COUNTERS_TABLE = "medialayer-counters"


class FakeClock:
    """A clock tests move by hand (never sleep)."""

    def __init__(self, now: float = 1_700_000_040.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    # 1_700_000_040 is a multiple of 60: windows start exactly here.
    return FakeClock(1_700_000_040.0)


def make_settings(**overrides: Any) -> Settings:
    """Settings from explicit values only (the environment must not leak into tests)."""
    base: dict[str, Any] = {
        "auth_disabled": False,
        "rapidapi_proxy_secrets": "",
        "rapidapi_secret_name": "",
        "keys_table": "",
        "counters_table": "",
        "keys_file": "",
        "key_pepper": "test-pepper",
        "demo_requests_per_window": 3,
        "demo_window_s": 60,
    }
    base.update(overrides)
    return Settings(**base)


@pytest.fixture
def settings_factory() -> Any:
    return make_settings


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region so boto3 never looks for real ones; no MEDIALAYER_* leaks in."""
    import os

    for name in list(os.environ):
        if name.startswith("MEDIALAYER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def dynamodb(aws: None) -> Any:
    """A moto DynamoDB client with the keys and counters tables as template.yaml defines them."""
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName=KEYS_TABLE,
        AttributeDefinitions=[{"AttributeName": "key_hash", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "key_hash", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.create_table(
        TableName=COUNTERS_TABLE,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.update_time_to_live(
        TableName=COUNTERS_TABLE,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
    )
    return client
