"""Enterprise keys: hashed at rest, per-key fixed-window limit, revocation, DynamoDB store."""

from __future__ import annotations

import json

import pytest

from medialayer.auth import Authorizer, Principal, ProxySecretSource, build_authorizer
from medialayer.errors import InternalError, Overloaded, RateLimited, Unauthorized
from medialayer.keys import DynamoKeyStore, FileKeyStore, MemoryKeyStore, hash_key, key_id_of, new_key
from medialayer.ratelimit import MemoryCounterStore, RateLimiter

PEPPER = "test-pepper"


def _authorizer(store, clock, pepper=PEPPER, proxy=()):
    return Authorizer(
        proxy_secrets=ProxySecretSource(static=proxy),
        keys=store,
        limiter=RateLimiter(MemoryCounterStore(clock=clock), clock=clock),
        key_pepper=pepper,
        demo_limit=3,
        demo_window_s=60,
    )


def _call(authorizer, key):
    return authorizer.authorize({"X-API-Key": key}, "198.51.100.1", demo=False)


def test_key_format_and_hash():
    plaintext, record = new_key("acme", 600, 60, PEPPER, now=1000)
    assert plaintext.startswith("mlk_") and key_id_of(plaintext) == record.key_id
    assert record.key_hash == hash_key(plaintext, PEPPER) != hash_key(plaintext, "other")
    assert len(record.key_hash) == 64 and plaintext not in repr(record)
    secret_part = plaintext.split("_", 2)[2]
    assert secret_part not in json.dumps(record.public()) and "key_hash" not in record.public()
    with pytest.raises(ValueError):
        new_key(" ", 1, 1, PEPPER)
    with pytest.raises(ValueError):
        new_key("x", 0, 60, PEPPER)


def test_valid_key_is_accepted(clock):
    store = MemoryKeyStore()
    plaintext, record = new_key("acme", 5, 60, PEPPER)
    store.put(record)
    assert _call(_authorizer(store, clock), plaintext) == Principal("enterprise", record.key_id)


def test_limit_plus_first_is_429_and_next_window_passes(clock):
    store = MemoryKeyStore()
    plaintext, record = new_key("acme", 3, 60, PEPPER)
    store.put(record)
    authorizer = _authorizer(store, clock)
    clock.advance(20)  # 40 s left in this window
    for _ in range(3):
        _call(authorizer, plaintext)
    with pytest.raises(RateLimited) as excinfo:
        _call(authorizer, plaintext)
    assert excinfo.value.status == 429 and excinfo.value.code == "rate_limited"
    assert excinfo.value.retry_after_s == 40
    clock.advance(39.5)
    with pytest.raises(RateLimited) as excinfo:
        _call(authorizer, plaintext)
    assert excinfo.value.retry_after_s == 1
    clock.advance(0.5)  # next window
    assert _call(authorizer, plaintext).kind == "enterprise"


def test_each_key_has_its_own_limit(clock):
    store = MemoryKeyStore()
    small, small_rec = new_key("small", 1, 60, PEPPER)
    big, _ = new_key("big", 5, 60, PEPPER)
    store.put(small_rec)
    store.put(new_key("dummy", 1, 60, PEPPER)[1])
    store.put(_)
    authorizer = _authorizer(store, clock)
    _call(authorizer, small)
    with pytest.raises(RateLimited):
        _call(authorizer, small)
    for _i in range(5):
        _call(authorizer, big)


class _FailingKeyStore:
    """A key store whose look-up always raises ``exc``."""

    def __init__(self, exc):
        self.exc = exc

    def get(self, key_hash):
        raise self.exc


def _aws_error(code, status):
    from botocore.exceptions import ClientError

    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} on medialayer-keys"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "GetItem",
    )


def _unreachable():
    from botocore.exceptions import EndpointConnectionError

    return EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")


@pytest.mark.parametrize(
    "exc",
    [
        _aws_error("ProvisionedThroughputExceededException", 400),
        _aws_error("ThrottlingException", 400),
        _aws_error("RequestLimitExceeded", 400),
        _aws_error("InternalServerError", 500),
        _aws_error("ServiceUnavailable", 503),
        _unreachable(),
    ],
    ids=lambda e: getattr(e, "response", {}).get("Error", {}).get("Code") or type(e).__name__,
)
def test_key_store_transient_failure_is_overloaded(clock, exc):
    """F5: a throttled or unreachable key table is 503 ``overloaded`` with Retry-After, like the counters."""
    plaintext, _ = new_key("acme", 5, 60, PEPPER)
    with pytest.raises(Overloaded) as excinfo:
        _call(_authorizer(_FailingKeyStore(exc), clock), plaintext)
    assert excinfo.value.status == 503 and excinfo.value.code == "overloaded"
    assert excinfo.value.retry_after_s and excinfo.value.retry_after_s >= 1
    assert "medialayer-keys" not in excinfo.value.message and "amazonaws" not in excinfo.value.message


@pytest.mark.parametrize(
    "exc",
    [_aws_error("AccessDeniedException", 400), _aws_error("ResourceNotFoundException", 400), RuntimeError("boom")],
    ids=["access-denied", "table-missing", "bug"],
)
def test_key_store_misconfiguration_is_internal_error(clock, exc):
    plaintext, _ = new_key("acme", 5, 60, PEPPER)
    with pytest.raises(InternalError) as excinfo:
        _call(_authorizer(_FailingKeyStore(exc), clock), plaintext)
    assert excinfo.value.status == 500 and "medialayer-keys" not in excinfo.value.message


def test_revoked_key_is_401(clock):
    store = MemoryKeyStore()
    plaintext, record = new_key("acme", 5, 60, PEPPER)
    store.put(record)
    authorizer = _authorizer(store, clock)
    _call(authorizer, plaintext)
    assert store.revoke(record.key_id) and not store.revoke("000000000000")
    with pytest.raises(Unauthorized):
        _call(authorizer, plaintext)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "garbage",
        "mlk_",
        "mlk_0123456789ab_short",
        "MLK_0123456789ab_" + "a" * 43,
        "mlk_0123456789ab_" + "a" * 43,
    ],
)
def test_malformed_or_unknown_key_is_401(clock, key):
    with pytest.raises(Unauthorized):
        _call(_authorizer(MemoryKeyStore(), clock), key)


def test_wrong_pepper_means_unknown_key(clock):
    store = MemoryKeyStore()
    plaintext, record = new_key("acme", 5, 60, PEPPER)
    store.put(record)
    with pytest.raises(Unauthorized):
        _call(_authorizer(store, clock, pepper="another"), plaintext)


def test_bad_key_is_401_even_with_a_valid_proxy_secret(clock):
    authorizer = _authorizer(MemoryKeyStore(), clock, proxy=("s3cret",))
    with pytest.raises(Unauthorized):
        authorizer.authorize({"X-API-Key": "nope", "X-RapidAPI-Proxy-Secret": "s3cret"}, "1.2.3.4", demo=False)


def test_file_store_keeps_only_the_hash(tmp_path, clock, settings_factory):
    path = tmp_path / "keys.json"
    store = FileKeyStore(path)
    plaintext, record = new_key("acme", 2, 60, PEPPER)
    store.put(record)
    text = path.read_text()
    assert plaintext not in text and plaintext.split("_", 2)[2] not in text and record.key_hash in text
    assert (path.stat().st_mode & 0o777) == 0o600
    authorizer = build_authorizer(settings_factory(keys_file=str(path), key_pepper=PEPPER), clock=clock)
    assert _call(authorizer, plaintext).id == record.key_id
    FileKeyStore(path).revoke(record.key_id)  # e.g. by the admin CLI: applies at once
    with pytest.raises(Unauthorized):
        _call(authorizer, plaintext)


def test_dynamo_store_end_to_end(dynamodb, clock, settings_factory):
    settings = settings_factory(keys_table="medialayer-keys", counters_table="medialayer-counters", key_pepper=PEPPER)
    store = DynamoKeyStore("medialayer-keys", client=dynamodb)
    plaintext, record = new_key("acme", 2, 60, PEPPER)
    store.put(record)
    with pytest.raises(Exception):  # noqa: B017 - put never overwrites (conditional put)
        store.put(record)
    items = dynamodb.scan(TableName="medialayer-keys")["Items"]
    assert len(items) == 1 and plaintext.split("_", 2)[2] not in json.dumps(items)
    assert items[0]["key_hash"]["S"] == hash_key(plaintext, PEPPER)

    authorizer = build_authorizer(settings, clock=clock, dynamodb_client=dynamodb)
    assert _call(authorizer, plaintext) == Principal("enterprise", record.key_id)
    _call(authorizer, plaintext)
    with pytest.raises(RateLimited):
        _call(authorizer, plaintext)
    clock.advance(60)
    _call(authorizer, plaintext)
    assert store.revoke(record.key_id)
    with pytest.raises(Unauthorized):
        _call(authorizer, plaintext)
    assert [r.revoked for r in store.list()] == [True]
