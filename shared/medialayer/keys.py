"""Enterprise API keys: generation, hashing and storage.

A key looks like ``mlk_<key_id>_<secret>``: ``key_id`` is 12 hex characters (public, shown in listings and
logs), ``secret`` is 43 URL-safe characters (256 random bits). The plaintext is shown once, at creation;
stores keep only ``key_hash`` = HMAC-SHA256(pepper, plaintext) in hex, so a leaked table cannot be replayed
and lookups need no per-key salt. Three stores share the :class:`KeyStore` protocol:

- :class:`MemoryKeyStore` - tests, and "no enterprise keys" locally;
- :class:`FileKeyStore` - a JSON file (``MEDIALAYER_KEYS_FILE``) for the local server;
- :class:`DynamoKeyStore` - DynamoDB table ``MEDIALAYER_KEYS_TABLE`` (partition key ``key_hash``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

KEY_PREFIX = "mlk_"
KEY_HASH_ATTR = "key_hash"
"""Partition key (string) of the keys table - template.yaml's KeysTable must agree."""
_KEY_RE = re.compile(r"^mlk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class KeyRecord:
    """One enterprise key as stored: never the plaintext."""

    key_hash: str
    key_id: str
    name: str
    limit_per_window: int
    window_s: int
    created_at: int
    revoked: bool = False

    def public(self) -> dict[str, Any]:
        """The record without its hash (for listings)."""
        data = dataclasses.asdict(self)
        del data["key_hash"]
        return data


def hash_key(plaintext: str, pepper: str) -> str:
    """HMAC-SHA256 of the full plaintext key under ``pepper``, hex-encoded."""
    return hmac.new(pepper.encode("utf-8"), plaintext.encode("utf-8"), hashlib.sha256).hexdigest()


def looks_like_key(candidate: str) -> bool:
    """Cheap syntactic check, so garbage never reaches the store."""
    return bool(_KEY_RE.fullmatch(candidate))


def key_id_of(candidate: str) -> str | None:
    """The public key id embedded in a well-formed key, else None."""
    match = _KEY_RE.fullmatch(candidate)
    return match.group(1) if match else None


def new_key(
    name: str, limit_per_window: int, window_s: int, pepper: str, *, now: float | None = None
) -> tuple[str, KeyRecord]:
    """Generate a key; return ``(plaintext, record)``. Show the plaintext once, store only the record."""
    if not name.strip():
        raise ValueError("name must not be empty")
    if limit_per_window < 1 or window_s < 1:
        raise ValueError("limit_per_window and window_s must be >= 1")
    key_id = secrets.token_hex(6)
    plaintext = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    assert looks_like_key(plaintext)
    record = KeyRecord(
        key_hash=hash_key(plaintext, pepper),
        key_id=key_id,
        name=name.strip(),
        limit_per_window=limit_per_window,
        window_s=window_s,
        created_at=int(time.time() if now is None else now),
    )
    return plaintext, record


class KeyStore(Protocol):
    """Where hashed enterprise keys live."""

    def get(self, key_hash: str) -> KeyRecord | None:
        """The record with this hash, or None."""
        ...

    def put(self, record: KeyRecord) -> None:
        """Insert a new record (never overwrites an existing hash)."""
        ...

    def list(self) -> list[KeyRecord]:
        """All records, revoked ones included, oldest first."""
        ...

    def revoke(self, key_id: str) -> bool:
        """Mark the key with this id revoked; False if no such key."""
        ...


class MemoryKeyStore:
    """Records in a dict."""

    def __init__(self, records: list[KeyRecord] | None = None) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, KeyRecord] = {r.key_hash: r for r in records or []}

    def get(self, key_hash: str) -> KeyRecord | None:
        """See :meth:`KeyStore.get`."""
        return self._records.get(key_hash)

    def put(self, record: KeyRecord) -> None:
        """See :meth:`KeyStore.put`."""
        with self._lock:
            if record.key_hash in self._records:
                raise ValueError("key already exists")
            self._records[record.key_hash] = record

    def list(self) -> list[KeyRecord]:
        """See :meth:`KeyStore.list`."""
        return sorted(self._records.values(), key=lambda r: (r.created_at, r.key_id))

    def revoke(self, key_id: str) -> bool:
        """See :meth:`KeyStore.revoke`."""
        with self._lock:
            for key_hash, record in self._records.items():
                if record.key_id == key_id:
                    self._records[key_hash] = dataclasses.replace(record, revoked=True)
                    return True
        return False


class FileKeyStore:
    """Records in a JSON file (``{"keys": [...]}``), written atomically with mode 0600. Local use only."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()

    def _load(self) -> MemoryKeyStore:
        if not self._path.exists():
            return MemoryKeyStore()
        data = json.loads(self._path.read_text(encoding="utf-8"))
        return MemoryKeyStore([KeyRecord(**item) for item in data.get("keys", [])])

    def _save(self, store: MemoryKeyStore) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"keys": [dataclasses.asdict(r) for r in store.list()]}, indent=2)
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".keys-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload + "\n")
            os.chmod(tmp, 0o600)
            os.replace(tmp, self._path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key_hash: str) -> KeyRecord | None:
        """See :meth:`KeyStore.get` (re-reads the file, so CLI edits apply at once)."""
        return self._load().get(key_hash)

    def put(self, record: KeyRecord) -> None:
        """See :meth:`KeyStore.put`."""
        with self._lock:
            store = self._load()
            store.put(record)
            self._save(store)

    def list(self) -> list[KeyRecord]:
        """See :meth:`KeyStore.list`."""
        return self._load().list()

    def revoke(self, key_id: str) -> bool:
        """See :meth:`KeyStore.revoke`."""
        with self._lock:
            store = self._load()
            found = store.revoke(key_id)
            if found:
                self._save(store)
            return found


class DynamoKeyStore:
    """Records in DynamoDB: partition key ``key_hash`` (S); attributes as in :class:`KeyRecord`.

    ``get`` is one consistent ``GetItem``; ``list`` and ``revoke`` scan (admin only, small table).
    """

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        self._client = client
        self._table = table_name

    @staticmethod
    def _to_item(record: KeyRecord) -> dict[str, Any]:
        return {
            "key_hash": {"S": record.key_hash},
            "key_id": {"S": record.key_id},
            "name": {"S": record.name},
            "limit_per_window": {"N": str(record.limit_per_window)},
            "window_s": {"N": str(record.window_s)},
            "created_at": {"N": str(record.created_at)},
            "revoked": {"BOOL": record.revoked},
        }

    @staticmethod
    def _from_item(item: dict[str, Any]) -> KeyRecord:
        return KeyRecord(
            key_hash=item["key_hash"]["S"],
            key_id=item["key_id"]["S"],
            name=item["name"]["S"],
            limit_per_window=int(item["limit_per_window"]["N"]),
            window_s=int(item["window_s"]["N"]),
            created_at=int(item["created_at"]["N"]),
            revoked=bool(item.get("revoked", {}).get("BOOL", False)),
        )

    def get(self, key_hash: str) -> KeyRecord | None:
        """See :meth:`KeyStore.get`."""
        response = self._client.get_item(TableName=self._table, Key={"key_hash": {"S": key_hash}}, ConsistentRead=True)
        item = response.get("Item")
        return self._from_item(item) if item else None

    def put(self, record: KeyRecord) -> None:
        """See :meth:`KeyStore.put`."""
        self._client.put_item(
            TableName=self._table,
            Item=self._to_item(record),
            ConditionExpression="attribute_not_exists(key_hash)",
        )

    def _scan(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self._client.get_paginator("scan").paginate(TableName=self._table):
            items.extend(page.get("Items", []))
        return items

    def list(self) -> list[KeyRecord]:
        """See :meth:`KeyStore.list`."""
        records = [self._from_item(item) for item in self._scan()]
        return sorted(records, key=lambda r: (r.created_at, r.key_id))

    def revoke(self, key_id: str) -> bool:
        """See :meth:`KeyStore.revoke`."""
        found = False
        for record in self.list():
            if record.key_id == key_id:
                self._client.update_item(
                    TableName=self._table,
                    Key={"key_hash": {"S": record.key_hash}},
                    UpdateExpression="SET revoked = :true",
                    ExpressionAttributeValues={":true": {"BOOL": True}},
                )
                found = True
        return found
