"""Fixed-window rate limits on an atomic counter (DynamoDB in AWS, in-process locally).

A window is ``window_s`` seconds long and starts at a multiple of ``window_s`` since the epoch. Each
(principal, window) pair has one counter, keyed ``f"{principal}#{window_start}"``. A request is allowed
when incrementing that counter keeps it at or below the limit; the increment and the check are one atomic
operation, so concurrent Lambdas can never overshoot:

    UpdateItem  SET expires_at = :ttl  ADD hits :one
                ConditionExpression: attribute_not_exists(hits) OR hits < :limit

A refused request does not increment. The counter item carries a TTL attribute (``expires_at`` = window end
plus :data:`TTL_SLACK_S`) so DynamoDB deletes old windows by itself.

Failure policy: if the counter store is unreachable the request is refused (fail closed) with
:class:`~medialayer.errors.Overloaded`, never let through unlimited.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from medialayer.errors import Overloaded, RateLimited

log = logging.getLogger("medialayer.ratelimit")

Clock = Callable[[], float]
"""Seconds since the epoch (``time.time``); injected so tests never sleep."""

TTL_SLACK_S = 300
"""Counters live this long after their window ends before DynamoDB's TTL may delete them."""

COUNTER_KEY_ATTR = "pk"
"""Partition key (string) of the counters table - template.yaml's CountersTable must agree."""
TTL_ATTR = "expires_at"
"""TTL attribute (epoch seconds) of the counters table - template.yaml's CountersTable must agree."""


class CounterStore(Protocol):
    """An atomic "increment unless at the limit" counter."""

    def increment(self, key: str, limit: int, expires_at: int) -> int | None:
        """Add 1 to counter ``key`` if it is below ``limit``; return the new count, or None if refused.

        ``expires_at`` (epoch seconds) is when the counter may be forgotten.
        """
        ...


class MemoryCounterStore:
    """Counters in a dict, for the local server and tests. Thread-safe; forgets expired windows."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}  # key -> (hits, expires_at)

    def increment(self, key: str, limit: int, expires_at: int) -> int | None:
        """See :meth:`CounterStore.increment`."""
        with self._lock:
            self._purge()
            hits, _ = self._counts.get(key, (0, expires_at))
            if hits >= limit:
                return None
            self._counts[key] = (hits + 1, expires_at)
            return hits + 1

    def _purge(self) -> None:
        now = self._clock()
        for key in [k for k, (_, exp) in self._counts.items() if exp <= now]:
            del self._counts[key]


class DynamoCounterStore:
    """Counters in a DynamoDB table (partition key ``pk``, string; TTL attribute ``expires_at``).

    Needs only ``dynamodb:UpdateItem`` on the table.
    """

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        self._client = client
        self._table = table_name

    def increment(self, key: str, limit: int, expires_at: int) -> int | None:
        """See :meth:`CounterStore.increment`: one conditional ``UpdateItem`` (atomic)."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={COUNTER_KEY_ATTR: {"S": key}},
                UpdateExpression=f"SET {TTL_ATTR} = :ttl ADD hits :one",
                ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(limit)},
                    ":ttl": {"N": str(expires_at)},
                },
                ReturnValues="UPDATED_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return int(response["Attributes"]["hits"]["N"])


@dataclass(frozen=True)
class Window:
    """One fixed window: its start, its end, and the counter key for a principal."""

    start: int
    end: int

    @classmethod
    def containing(cls, now: float, window_s: int) -> Window:
        start = int(now // window_s) * window_s
        return cls(start=start, end=start + window_s)

    def key(self, principal: str) -> str:
        return f"{principal}#{self.start}"


class RateLimiter:
    """Applies a per-principal fixed-window limit using a :class:`CounterStore`."""

    def __init__(self, store: CounterStore, clock: Clock = time.time) -> None:
        self._store = store
        self._clock = clock

    def hit(self, principal: str, limit: int, window_s: int) -> int:
        """Count one request for ``principal``; return the count in this window.

        Raises :class:`RateLimited` (with ``retry_after_s`` = seconds to the window's end) when the
        limit is reached, and :class:`Overloaded` when the store fails. A limit of 0 refuses everything.
        """
        if window_s < 1:
            raise ValueError("window_s must be >= 1")
        now = self._clock()
        window = Window.containing(now, window_s)
        retry_after = max(1, math.ceil(window.end - now))
        if limit <= 0:
            raise RateLimited("Rate limit exceeded.", retry_after_s=retry_after)
        try:
            count = self._store.increment(window.key(principal), limit, window.end + TTL_SLACK_S)
        except Exception:  # any store failure: fail closed
            log.exception("rate-limit store failed; refusing the request")
            raise Overloaded("Rate limiting is temporarily unavailable; retry shortly.") from None
        if count is None:
            raise RateLimited(f"Rate limit of {limit} requests per {window_s} s exceeded.", retry_after_s=retry_after)
        return count
