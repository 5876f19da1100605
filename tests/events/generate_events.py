"""Regenerate ``events/*.json``: API Gateway HTTP API (payload v2.0) events for every route and case.

    .venv/bin/python tests/events/generate_events.py

Each route's base event comes from ``sam local generate-event apigateway http-api-proxy`` (so the shape
follows SAM's own template); it is then normalised to what API Gateway really sends for our routes:
``routeKey`` "POST /image/match", a real client address (TEST-NET-3), no JWT authorizer, no cookies,
query string or stage variables, a plain-text JSON body, lower-case headers. Cases and their expected
HTTP status are listed in ``tests/events/conftest.py`` (``EXPECTED_STATUS``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "shared")]

from tests.events.conftest import (  # noqa: E402 - after the path tweak, this script runs outside pytest
    CLIENT_IP,
    EVENTS_DIR,
    TEST_API_KEY,
    TEST_PROXY_SECRET,
)

MEDIA = ("image", "audio", "video")
EXT = {"image": "jpg", "audio": "mp3", "video": "mp4"}


def _sam() -> str:
    local = Path(sys.executable).with_name("sam")
    return str(local) if local.exists() else (shutil.which("sam") or "sam")


def base_event(method: str, path: str) -> dict[str, Any]:
    """SAM's http-api-proxy sample for this method and path."""
    out = subprocess.run(
        [
            _sam(),
            "local",
            "generate-event",
            "apigateway",
            "http-api-proxy",
            "--method",
            method,
            "--path",
            path.lstrip("/"),
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    ).stdout
    return json.loads(out)


def normalise(event: dict[str, Any], method: str, path: str, name: str) -> dict[str, Any]:
    """Make SAM's sample look like a real request to our route (no body, no auth yet)."""
    route_key = f"{method} {path}"
    event = json.loads(json.dumps(event))
    event["routeKey"] = route_key
    event["rawPath"] = path
    event["rawQueryString"] = ""
    for key in ("cookies", "queryStringParameters", "pathParameters", "stageVariables"):
        event.pop(key, None)
    event["headers"] = {
        "accept": "application/json",
        "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "user-agent": "medialayer-events/1.0",
        "x-forwarded-for": CLIENT_IP,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    ctx = event["requestContext"]
    ctx.pop("authentication", None)
    ctx.pop("authorizer", None)
    ctx["apiId"] = "abcdef1234"
    ctx["domainName"] = "abcdef1234.execute-api.us-east-1.amazonaws.com"
    ctx["domainPrefix"] = "abcdef1234"
    ctx["http"].update(method=method, path=path, sourceIp=CLIENT_IP, userAgent="medialayer-events/1.0")
    ctx["requestId"] = f"evt-{name}"
    ctx["routeKey"] = route_key
    ctx["stage"] = "$default"
    event.pop("body", None)
    event["isBase64Encoded"] = False
    return event


def with_body(event: dict[str, Any], body: str) -> dict[str, Any]:
    event = json.loads(json.dumps(event))
    event["body"] = body
    event["isBase64Encoded"] = False
    event["headers"]["content-type"] = "application/json"
    event["headers"]["content-length"] = str(len(body.encode("utf-8")))
    return event


def with_headers(event: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    event = json.loads(json.dumps(event))
    event["headers"].update(headers)
    return event


RAPIDAPI = {"x-rapidapi-proxy-secret": TEST_PROXY_SECRET, "x-rapidapi-user": "test-user"}
ENTERPRISE = {"x-api-key": TEST_API_KEY}


def cases_for(medium: str) -> dict[str, tuple[str, dict[str, str]]]:
    """name suffix -> (body, headers) for the match route of one medium."""
    ext = EXT[medium]
    valid = json.dumps(
        {"source_url": f"https://example.com/media/a.{ext}", "target_url": f"https://example.org/media/b.{ext}"}
    )
    return {
        "valid": (valid, RAPIDAPI),
        "valid-enterprise-key": (valid, ENTERPRISE),
        "noauth": (valid, {}),
        "wrong-secret": (valid, {"x-rapidapi-proxy-secret": "not-the-secret"}),
        "malformed-json": ('{"source_url": "https://example.com/a", ', RAPIDAPI),
        "missing-field": (json.dumps({"source_url": f"https://example.com/media/a.{ext}"}), RAPIDAPI),
        "bad-url-scheme": (
            json.dumps({"source_url": "file:///etc/passwd", "target_url": f"ftp://example.com/b.{ext}"}),
            RAPIDAPI,
        ),
        "private-address": (
            json.dumps(
                {
                    "source_url": "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
                    "target_url": "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
                }
            ),
            RAPIDAPI,
        ),
    }


def demo_cases_for(medium: str) -> dict[str, tuple[str, dict[str, str]]]:
    ext = EXT[medium]
    valid = json.dumps(
        {"source_url": f"https://example.com/media/a.{ext}", "target_url": f"https://example.org/media/b.{ext}"}
    )
    return {
        "valid": (valid, {}),
        "with-auth": (valid, RAPIDAPI),
        "private-address": (
            # both private literals: validating them never needs DNS
            json.dumps({"source_url": "http://10.0.0.1/a", "target_url": f"http://[fd00:ec2::254]/b.{ext}"}),
            {},
        ),
    }


def build_all() -> dict[str, dict[str, Any]]:
    """All events by file stem."""
    events: dict[str, dict[str, Any]] = {}
    for medium in MEDIA:
        path = f"/{medium}/match"
        base = base_event("POST", path)
        for case, (body, headers) in cases_for(medium).items():
            name = f"{medium}-match-{case}"
            events[name] = with_headers(with_body(normalise(base, "POST", path, name), body), headers)
        path = f"/demo/{medium}/match"
        base = base_event("POST", path)
        for case, (body, headers) in demo_cases_for(medium).items():
            name = f"demo-{medium}-match-{case}"
            events[name] = with_headers(with_body(normalise(base, "POST", path, name), body), headers)
    for path, stem in (("/healthz", "healthz"), ("/openapi.json", "openapi"), ("/", "playground")):
        base = base_event("GET", path)
        events[f"{stem}-get"] = normalise(base, "GET", path, f"{stem}-get")
    return events


def main() -> int:
    EVENTS_DIR.mkdir(exist_ok=True)
    for old in EVENTS_DIR.glob("*.json"):
        old.unlink()
    for name, event in sorted(build_all().items()):
        (EVENTS_DIR / f"{name}.json").write_text(json.dumps(event, indent=2) + "\n", encoding="utf-8")
        print(f"events/{name}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
