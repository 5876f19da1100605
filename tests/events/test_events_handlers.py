"""The events through the real Lambda handlers: auth and request validation give the expected status.

Only cases decided before any download are run (no credentials, wrong secret, bad JSON, missing field,
bad scheme, private addresses, GET routes); "valid" events need a stubbed fetcher and the engines - the
handler tests feed those. The network is guarded: any DNS lookup or connection beyond loopback fails.
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import os
import socket

import pytest

from tests.events.conftest import EXPECTED_STATUS, event_auth_env, event_names, load_event

PRE_FETCH_CASES = [
    n for n in event_names() if not n.endswith(("-valid", "-valid-enterprise-key", "-with-auth")) or n == "healthz-get"
]
APP_MODULE = {"image": "image_match.app", "audio": "audio_match.app", "video": "video_match.app"}


def _medium(name: str) -> str:
    first = name.split("-")[1] if name.startswith("demo-") else name.split("-")[0]
    return first if first in APP_MODULE else "image"  # GET routes live on the image function


def _is_loopback(host: object) -> bool:
    try:
        return ipaddress.ip_address(str(host).strip("[]")).is_loopback
    except ValueError:
        return str(host) == "localhost"


@pytest.fixture
def no_network(monkeypatch):
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not _is_loopback(host):
            try:
                ipaddress.ip_address(str(host).strip("[]"))  # a literal needs no DNS
            except ValueError:
                raise AssertionError(f"test tried to resolve {host!r}") from None
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self, address):
        if not _is_loopback(address[0]):
            raise AssertionError(f"test tried to connect to {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def handler_for(monkeypatch, tmp_path, no_network):
    """Build a fresh Lambda handler per medium under the events' auth settings."""
    from medialayer.settings import get_settings

    for key in list(os.environ):
        if key.startswith("MEDIALAYER_"):
            monkeypatch.delenv(key)
    for key, value in event_auth_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "MediaLayerMatchTest")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    get_settings.cache_clear()
    from medialayer.observability import lambda_entry

    built = {}

    def get(medium: str):
        if medium not in built:
            create_app = importlib.import_module(APP_MODULE[medium]).create_app
            built[medium] = lambda_entry(create_app, medium=medium)
        return built[medium]

    yield get
    get_settings.cache_clear()


class _Context:
    function_name = "events-test"
    memory_limit_in_mb = 2048
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:events-test"
    aws_request_id = "events-test"


@pytest.mark.parametrize("name", PRE_FETCH_CASES)
def test_event_gets_the_expected_status(name, handler_for):
    response = handler_for(_medium(name))(load_event(name), _Context())
    assert response["statusCode"] == EXPECTED_STATUS[name], response.get("body", "")[:300]
    if response["statusCode"] >= 400:
        error = json.loads(response["body"])["error"]
        expected_code = {400: ("invalid_request", "invalid_url"), 401: ("unauthorized",)}[response["statusCode"]]
        assert error["code"] in expected_code
        if "private-address" in name or "bad-url-scheme" in name:
            assert error["code"] == "invalid_url"
