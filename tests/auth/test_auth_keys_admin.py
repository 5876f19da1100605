"""Admin CLI: create (plaintext printed once, stored nowhere), list, revoke; file and DynamoDB stores."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medialayer.auth import build_authorizer
from medialayer.errors import Unauthorized
from medialayer.keys import looks_like_key
from medialayer.keys_admin import main

REPO = Path(__file__).resolve().parents[2]


def _run(argv, settings, client=None):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, settings=settings, client=client, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_create_list_revoke_with_file_store(tmp_path, settings_factory, clock):
    path = tmp_path / "keys.json"
    settings = settings_factory(key_pepper="pep")
    code, out, err = _run(["--file", str(path), "create", "--name", "acme", "--limit", "2", "--window", "60"], settings)
    assert code == 0
    plaintext = out.strip()
    assert looks_like_key(plaintext) and "key_id:" in err
    assert plaintext not in path.read_text() and plaintext.split("_", 2)[2] not in path.read_text()
    key_id = plaintext.split("_")[1]

    code, out, _ = _run(["--file", str(path), "list"], settings)
    assert code == 0 and key_id in out and "acme" in out and "active" in out and plaintext not in out
    code, out, _ = _run(["--file", str(path), "list", "--json"], settings)
    listed = json.loads(out)
    assert listed == [
        {
            "key_id": key_id,
            "name": "acme",
            "limit_per_window": 2,
            "window_s": 60,
            "created_at": listed[0]["created_at"],
            "revoked": False,
        }
    ]

    authorizer = build_authorizer(settings_factory(keys_file=str(path), key_pepper="pep"), clock=clock)
    assert authorizer.authorize({"x-api-key": plaintext}, "192.0.2.1", demo=False).id == key_id

    assert _run(["--file", str(path), "revoke", key_id], settings)[0] == 0
    assert "revoked" in _run(["--file", str(path), "list"], settings)[1]
    with pytest.raises(Unauthorized):
        authorizer.authorize({"x-api-key": plaintext}, "192.0.2.1", demo=False)
    code, _, err = _run(["--file", str(path), "revoke", "ffffffffffff"], settings)
    assert code == 1 and "no key" in err


def test_create_rejects_bad_limits(tmp_path, settings_factory):
    code, out, err = _run(
        ["--file", str(tmp_path / "k.json"), "create", "--name", "x", "--limit", "0"], settings_factory()
    )
    assert code == 2 and out == "" and "error" in err


def test_no_store_configured_is_an_error(settings_factory):
    with pytest.raises(SystemExit):
        _run(["list"], settings_factory())


def test_create_list_revoke_with_dynamodb(dynamodb, settings_factory, clock):
    settings = settings_factory(key_pepper="pep", keys_table="medialayer-keys")
    code, out, _ = _run(["create", "--name", "bigco", "--limit", "600"], settings, client=dynamodb)
    assert code == 0
    plaintext = out.strip()
    key_id = plaintext.split("_")[1]
    items = dynamodb.scan(TableName="medialayer-keys")["Items"]
    assert len(items) == 1 and plaintext not in json.dumps(items)
    assert items[0]["key_id"]["S"] == key_id and items[0]["window_s"]["N"] == "60"

    code, out, _ = _run(["--table", "medialayer-keys", "list", "--json"], settings, client=dynamodb)
    assert [r["key_id"] for r in json.loads(out)] == [key_id]

    authorizer = build_authorizer(settings, clock=clock, dynamodb_client=dynamodb)
    assert authorizer.authorize({"X-API-Key": plaintext}, "192.0.2.1", demo=False).kind == "enterprise"
    assert _run(["revoke", key_id], settings, client=dynamodb)[0] == 0
    with pytest.raises(Unauthorized):
        authorizer.authorize({"X-API-Key": plaintext}, "192.0.2.1", demo=False)


def test_module_entry_point(tmp_path):
    """`python -m medialayer.keys_admin` works as documented (env-configured file store)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIALAYER_")}
    env.update(
        MEDIALAYER_KEYS_FILE=str(tmp_path / "keys.json"),
        MEDIALAYER_KEY_PEPPER="pep",
        PYTHONPATH=str(REPO / "shared"),
    )
    created = subprocess.run(
        [sys.executable, "-m", "medialayer.keys_admin", "create", "--name", "cli", "--limit", "5"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert looks_like_key(created.stdout.strip())
    listed = subprocess.run(
        [sys.executable, "-m", "medialayer.keys_admin", "list"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "cli" in listed.stdout
