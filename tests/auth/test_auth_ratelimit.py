"""Fixed-window counters: keys, TTL, the atomic conditional DynamoDB update, fail-closed."""

from __future__ import annotations

import boto3
import pytest

from medialayer.errors import Overloaded, RateLimited
from medialayer.ratelimit import TTL_SLACK_S, DynamoCounterStore, MemoryCounterStore, RateLimiter, Window

COUNTERS = "medialayer-counters"


def test_window_arithmetic():
    w = Window.containing(125.5, 60)
    assert (w.start, w.end, w.key("demo:1.2.3.4")) == (120, 180, "demo:1.2.3.4#120")


def test_memory_store_counts_and_forgets(clock):
    store = MemoryCounterStore(clock=clock)
    assert [store.increment("k", 2, int(clock.now) + 10) for _ in range(3)] == [1, 2, None]
    clock.advance(11)
    assert store.increment("k", 2, int(clock.now) + 10) == 1  # expired window purged


def test_dynamo_counter_item_has_key_and_ttl(dynamodb, clock):
    limiter = RateLimiter(DynamoCounterStore(COUNTERS, client=dynamodb), clock=clock)
    clock.advance(5)
    assert limiter.hit("key:abc", 2, 60) == 1
    assert limiter.hit("key:abc", 2, 60) == 2
    start = int(clock.now // 60) * 60
    item = dynamodb.get_item(TableName=COUNTERS, Key={"pk": {"S": f"key:abc#{start}"}})["Item"]
    assert item["hits"]["N"] == "2"
    assert int(item["expires_at"]["N"]) == start + 60 + TTL_SLACK_S
    with pytest.raises(RateLimited) as excinfo:
        limiter.hit("key:abc", 2, 60)
    assert excinfo.value.retry_after_s == 55
    # the refused request did not increment
    item = dynamodb.get_item(TableName=COUNTERS, Key={"pk": {"S": f"key:abc#{start}"}})["Item"]
    assert item["hits"]["N"] == "2"


def test_dynamo_update_is_one_conditional_call(dynamodb, clock):
    calls = []
    dynamodb.meta.events.register("provide-client-params.dynamodb.UpdateItem", lambda params, **_: calls.append(params))
    RateLimiter(DynamoCounterStore(COUNTERS, client=dynamodb), clock=clock).hit("p", 5, 60)
    assert len(calls) == 1
    params = calls[0]
    assert "ADD hits :one" in params["UpdateExpression"]
    assert params["ConditionExpression"] == "attribute_not_exists(hits) OR hits < :limit"
    assert params["ExpressionAttributeValues"][":limit"] == {"N": "5"}


def test_dynamo_counter_is_atomic_across_writers(dynamodb, clock):
    """Several 'Lambdas' (own clients) share one counter: exactly `limit` succeed, and each decision is a
    single conditional UpdateItem - never a read followed by a write, which could race. (moto itself is
    not thread-safe, so the interleaving is sequential; DynamoDB makes the one-call form atomic.)"""
    limit, writers, rounds = 7, 4, 3
    operations: list[str] = []
    limiters = []
    for _ in range(writers):
        client = boto3.client("dynamodb")
        client.meta.events.register("before-call.dynamodb.*", lambda model, **_: operations.append(model.name))
        limiters.append(RateLimiter(DynamoCounterStore(COUNTERS, client=client), clock=clock))
    results = []
    for _ in range(rounds):
        for limiter in limiters:
            try:
                limiter.hit("shared", limit, 60)
                results.append(True)
            except RateLimited:
                results.append(False)
    assert sum(results) == limit and len(results) == writers * rounds
    assert results[:limit] == [True] * limit  # first come, first served; no request lost
    assert set(operations) == {"UpdateItem"} and len(operations) == writers * rounds


def test_store_failure_fails_closed(clock):
    class Broken:
        def increment(self, key, limit, expires_at):
            raise ConnectionError("dynamodb unreachable")

    with pytest.raises(Overloaded):
        RateLimiter(Broken(), clock=clock).hit("p", 5, 60)


def test_zero_limit_refuses(clock):
    with pytest.raises(RateLimited):
        RateLimiter(MemoryCounterStore(clock=clock), clock=clock).hit("p", 0, 60)
    with pytest.raises(ValueError):
        RateLimiter(MemoryCounterStore(clock=clock), clock=clock).hit("p", 1, 0)
