"""Contract details (issue 16, item 10), each checked on the app as served: the OpenAPI document declares
the two credentials, the 404/405 answers and ``Retry-After``; ``/docs`` and ``/redoc`` are served; a
non-boolean ``details`` is refused; a trailing slash is a clean 404 envelope, not a 307; a 401 names the
header it wanted."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from medialayer.api import build_app
from medialayer.settings import Settings
from tests.support.apiserver import post_json, running
from tests.support.comparers import SameBytes
from tests.support.media import jpeg_bytes
from tests.support.mediaserver import MediaServer, Route

SECRET = "proxy-secret-for-tests-0123456789"


@pytest.fixture(scope="module")
def media():
    with MediaServer() as srv:
        srv.add("/a.jpg", Route(body=jpeg_bytes(1)))
        yield srv


@pytest.fixture(scope="module")
def open_api(media):
    """Auth off (as under ``make run``), served over real HTTP."""
    settings = Settings(allow_private_hosts=media.host, auth_disabled=True)
    with running(build_app({"image": SameBytes, "audio": None}, settings=settings)) as base:
        yield base


@pytest.fixture(scope="module")
def schema(open_api) -> dict:
    with urllib.request.urlopen(f"{open_api}/openapi.json", timeout=10) as resp:
        return json.loads(resp.read())


def test_openapi_declares_both_credentials(schema):
    schemes = schema["components"]["securitySchemes"]
    assert {(s["type"], s["in"], s["name"]) for s in schemes.values()} == {
        ("apiKey", "header", "X-API-Key"),
        ("apiKey", "header", "X-RapidAPI-Proxy-Secret"),
    }
    match = schema["paths"]["/image/match"]["post"]
    assert {name for requirement in match["security"] for name in requirement} == set(schemes)
    assert len(match["security"]) == 2  # either one (two alternatives, not both at once)
    assert schema["paths"]["/demo/image/match"]["post"]["security"] == []  # no credential: per-IP limit


def test_openapi_documents_404_405_and_retry_after(schema):
    for path in ("/image/match", "/demo/image/match"):
        responses = schema["paths"][path]["post"]["responses"]
        for status in ("404", "405"):
            assert responses[status]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
        for status in ("429", "503"):
            assert responses[status]["headers"]["Retry-After"]["schema"]["type"] == "integer"


def test_openapi_documents_error_field_and_strict_details(schema):
    detail = schema["components"]["schemas"]["ErrorDetail"]
    assert "field" in detail["properties"] and "field" not in detail.get("required", [])
    variants = detail["properties"]["field"]["anyOf"]
    assert {"enum": ["source_url", "target_url"], "type": "string"} in variants
    body = schema["paths"]["/image/match"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["details"]["type"] == "boolean"
    assert "/docs" in schema["info"]["description"] and "/redoc" in schema["info"]["description"]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_interactive_docs_are_served(open_api, path):
    with urllib.request.urlopen(f"{open_api}{path}", timeout=10) as resp:
        assert resp.status == 200 and "text/html" in resp.headers["Content-Type"]
        assert "/openapi.json" in resp.read().decode()


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, None, [], {}])
def test_details_must_be_a_json_boolean(open_api, media, value):
    body = {"source_url": media.url("/a.jpg"), "target_url": media.url("/a.jpg"), "details": value}
    status, answer = post_json(f"{open_api}/image/match", body)
    assert status == 400 and answer["error"]["code"] == "invalid_request", answer
    assert "details" in answer["error"]["message"] and "field" not in answer["error"]


@pytest.mark.parametrize("value", [True, False])
def test_details_true_and_false_still_work(open_api, media, value):
    body = {"source_url": media.url("/a.jpg"), "target_url": media.url("/a.jpg"), "details": value}
    status, answer = post_json(f"{open_api}/image/match", body)
    assert status == 200 and ("details" in answer) is value


@pytest.mark.parametrize("path", ["/image/match/", "/demo/image/match/"])
def test_a_trailing_slash_is_a_clean_404_not_a_redirect(open_api, media, path):
    body = {"source_url": media.url("/a.jpg"), "target_url": media.url("/a.jpg")}
    status, answer = post_json(f"{open_api}{path}", body)  # urllib does not follow a 307 for a POST
    assert status == 404, answer
    assert answer["error"]["code"] == "not_found"
    assert f"use {path.rstrip('/')}" in answer["error"]["message"]


def test_unknown_route_and_wrong_method_answer_the_envelope(open_api):
    status, answer = post_json(f"{open_api}/nope", {})
    assert status == 404 and answer["error"]["code"] == "not_found" and "use " not in answer["error"]["message"]
    req = urllib.request.Request(f"{open_api}/image/match", method="GET")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(req, timeout=10)
    assert caught.value.code == 405 and caught.value.headers["Allow"] == "POST"
    assert json.loads(caught.value.read())["error"]["code"] == "method_not_allowed"


@pytest.fixture(scope="module")
def guarded():
    """Auth on, with a RapidAPI proxy secret configured (the marketplace deployment)."""
    with running(build_app({"image": SameBytes}, settings=Settings(rapidapi_proxy_secrets=SECRET))) as base:
        yield base


BODY = {"source_url": "https://example.com/a.jpg", "target_url": "https://example.com/b.jpg"}


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({}, ("X-API-Key", "X-RapidAPI-Proxy-Secret")),
        ({"X-API-Key": "mlk_nope"}, ("X-API-Key",)),
        ({"X-API-Key": "mlk_" + "a" * 12 + "_" + "b" * 40}, ("X-API-Key",)),
        ({"X-RapidAPI-Proxy-Secret": "wrong"}, ("X-RapidAPI-Proxy-Secret",)),
        ({"X-RapidAPI-Proxy-Secret": ""}, ("X-RapidAPI-Proxy-Secret",)),
    ],
)
def test_a_401_names_the_header_it_wanted(guarded, headers, named):
    status, answer = post_json(f"{guarded}/image/match", BODY, headers=headers)
    assert status == 401
    error = answer["error"]
    assert error["code"] == "unauthorized" and "field" not in error
    for header in named:
        assert header in error["message"]


def test_a_401_without_a_proxy_secret_configured_names_both_headers():
    with running(build_app({"image": SameBytes}, settings=Settings())) as base:
        status, answer = post_json(f"{base}/image/match", BODY)
    message = answer["error"]["message"]
    assert status == 401
    assert "X-API-Key" in message and "X-RapidAPI-Proxy-Secret" in message
