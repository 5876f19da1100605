"""API Gateway HTTP API v2 events (``events/*.json``) for tests and ``sam local invoke``.

Use from any test::

    from tests.events.conftest import load_event, EXPECTED_STATUS, event_auth_env

    event = load_event("image-match-valid")          # a fresh dict each call
    monkeypatch.setenv(...) for each item of event_auth_env(tmp_path)   # secret + key file the events use
    response = lambda_handler(event, lambda_context)
    assert response["statusCode"] == EXPECTED_STATUS["image-match-valid"]

or through the ``load_event`` fixture inside ``tests/events``. Valid events point at example.com /
example.org: stub the fetcher, never let a test fetch them. Regenerate the files with
``.venv/bin/python tests/events/generate_events.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EVENTS_DIR = REPO / "events"

#: Client address in every event (TEST-NET-3, RFC 5737).
CLIENT_IP = "203.0.113.10"
#: The RapidAPI proxy secret the "valid" events carry. Test value only.
TEST_PROXY_SECRET = "test-proxy-secret-not-for-production"
#: A well-formed enterprise key the "*-valid-enterprise-key" events carry. Test value only.
TEST_API_KEY = "mlk_0123456789ab_" + "T" * 43
#: Pepper under which TEST_API_KEY is stored by :func:`event_auth_env`.
TEST_PEPPER = "test-pepper-not-for-production"

#: Expected HTTP status of each event, given the auth of :func:`event_auth_env` and a fetcher stubbed to
#: serve matching media for the example.com/example.org URLs.
EXPECTED_STATUS: dict[str, int] = {}
for _m in ("image", "audio", "video"):
    EXPECTED_STATUS.update(
        {
            f"{_m}-match-valid": 200,
            f"{_m}-match-valid-enterprise-key": 200,
            f"{_m}-match-noauth": 401,
            f"{_m}-match-wrong-secret": 401,
            f"{_m}-match-malformed-json": 400,
            f"{_m}-match-missing-field": 400,
            f"{_m}-match-bad-url-scheme": 400,
            f"{_m}-match-private-address": 400,
            f"demo-{_m}-match-valid": 200,
            f"demo-{_m}-match-with-auth": 200,
            f"demo-{_m}-match-private-address": 400,
        }
    )
EXPECTED_STATUS.update({"healthz-get": 200, "openapi-get": 200, "playground-get": 200})


def load_event(name: str) -> dict[str, Any]:
    """The event ``events/<name>.json`` (``.json`` optional), as a new dict."""
    stem = name.removesuffix(".json")
    return json.loads((EVENTS_DIR / f"{stem}.json").read_text(encoding="utf-8"))


def event_names() -> list[str]:
    """Stems of all event files, sorted."""
    return sorted(p.stem for p in EVENTS_DIR.glob("*.json"))


def event_auth_env(tmp_path: Path) -> dict[str, str]:
    """MEDIALAYER_* variables under which the events authenticate as EXPECTED_STATUS says.

    Writes a key file holding TEST_API_KEY (hashed) into ``tmp_path``.
    """
    from medialayer.keys import FileKeyStore, KeyRecord, hash_key, key_id_of

    key_file = tmp_path / "event-keys.json"
    store = FileKeyStore(key_file)
    key_hash = hash_key(TEST_API_KEY, TEST_PEPPER)
    if store.get(key_hash) is None:
        key_id = key_id_of(TEST_API_KEY)
        assert key_id is not None
        store.put(KeyRecord(key_hash, key_id, "events", 1000, 60, 0))
    return {
        "MEDIALAYER_RAPIDAPI_PROXY_SECRETS": TEST_PROXY_SECRET,
        "MEDIALAYER_KEYS_FILE": str(key_file),
        "MEDIALAYER_KEY_PEPPER": TEST_PEPPER,
        "MEDIALAYER_KEYS_TABLE": "",
        "MEDIALAYER_COUNTERS_TABLE": "",
        "MEDIALAYER_RAPIDAPI_SECRET_NAME": "",
        "MEDIALAYER_AUTH_DISABLED": "false",
    }


@pytest.fixture(name="load_event")
def load_event_fixture() -> Callable[[str], dict[str, Any]]:
    """Fixture form of :func:`load_event`."""
    return load_event
