"""Every events/*.json is a well-formed API Gateway HTTP API v2 event for a route of template.yaml."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml
from mangum import Mangum

from medialayer.keys import looks_like_key
from tests.events.conftest import (
    CLIENT_IP,
    EVENTS_DIR,
    EXPECTED_STATUS,
    TEST_API_KEY,
    event_names,
    load_event,
)

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def template_routes() -> set[str]:
    """ "METHOD /path" of every HttpApi event in template.yaml."""
    template = cfn_yaml.load(str(TEMPLATE))
    routes = set()
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            if event["Type"] == "HttpApi":
                routes.add(f"{event['Properties']['Method'].upper()} {event['Properties']['Path']}")
    return routes


ROUTES = template_routes()
NAMES = event_names()


def test_there_are_events_for_every_route():
    assert NAMES, "no events generated"
    covered = {load_event(n)["routeKey"] for n in NAMES}
    assert covered == ROUTES


def test_every_event_has_an_expected_status_and_vice_versa():
    assert set(NAMES) == set(EXPECTED_STATUS)


def test_required_cases_exist():
    for medium in ("image", "audio", "video"):
        for case in ("valid", "noauth", "malformed-json", "missing-field", "bad-url-scheme", "private-address"):
            assert f"{medium}-match-{case}" in NAMES
        assert f"demo-{medium}-match-valid" in NAMES and f"demo-{medium}-match-with-auth" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_event_is_a_valid_v2_event_for_a_template_route(name):
    event = load_event(name)
    assert event["version"] == "2.0"
    route = event["routeKey"]
    assert route in ROUTES
    method, path = route.split(" ", 1)
    ctx = event["requestContext"]
    assert ctx["routeKey"] == route and ctx["stage"] == "$default" and ctx["requestId"]
    assert ctx["http"]["method"] == method and ctx["http"]["path"] == path == event["rawPath"]
    assert ipaddress.ip_address(ctx["http"]["sourceIp"])  # API Gateway sends a bare address
    assert isinstance(event["isBase64Encoded"], bool) and isinstance(event["rawQueryString"], str)
    headers = event["headers"]
    assert all(k == k.lower() and isinstance(v, str) for k, v in headers.items())
    if method == "POST":
        assert isinstance(event["body"], str) and event["isBase64Encoded"] is False
        assert headers["content-type"] == "application/json"
        assert int(headers["content-length"]) == len(event["body"].encode())
        if "malformed-json" in name:
            with pytest.raises(json.JSONDecodeError):
                json.loads(event["body"])
        else:
            assert isinstance(json.loads(event["body"]), dict)
    else:
        assert "body" not in event


@pytest.mark.parametrize("name", NAMES)
def test_auth_headers_match_the_case(name):
    headers = load_event(name)["headers"]
    if name.endswith(("-noauth", "-get")) or (name.startswith("demo-") and not name.endswith("-with-auth")):
        assert not {"x-rapidapi-proxy-secret", "x-api-key"} & set(headers)
    elif name.endswith("-enterprise-key"):
        assert headers["x-api-key"] == TEST_API_KEY and looks_like_key(TEST_API_KEY)
    else:
        assert "x-rapidapi-proxy-secret" in headers


def _echo_app() -> Any:
    seen: dict[str, Any] = {}

    async def app(scope, receive, send):
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.update(
            method=scope["method"],
            path=scope["path"],
            client=scope["client"][0],
            headers={k.decode(): v.decode() for k, v in scope["headers"]},
            body=body.decode(),
        )
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app, seen


class _Context:
    function_name = "events-test"
    aws_request_id = "events-test"


@pytest.mark.parametrize("name", NAMES)
def test_mangum_turns_the_event_into_the_request_we_meant(name):
    event = load_event(name)
    app, seen = _echo_app()
    response = Mangum(app, lifespan="off")(event, _Context())
    assert response["statusCode"] == 204
    method, path = event["routeKey"].split(" ", 1)
    assert (seen["method"], seen["path"], seen["client"]) == (method, path, CLIENT_IP)
    assert seen["body"] == event.get("body", "")
    for key, value in event["headers"].items():
        assert seen["headers"][key] == value


def test_load_event_returns_fresh_copies(load_event):
    first = load_event("image-match-valid.json")
    first["headers"].clear()
    assert load_event("image-match-valid")["headers"]


def test_events_dir_has_only_events():
    assert {p.suffix for p in EVENTS_DIR.iterdir() if p.is_file()} <= {".json", ".md"}
