"""Local limits (issue 16, item 5): ``make run``'s playground used the deployed demo limits (10 requests a
minute per address, all media, and half-size caps). Locally they are off unless ``MEDIALAYER_DEMO_LIMITS=true``
(logged at start-up); the deployed app keeps them whatever that variable says, and auth is untouched."""

from __future__ import annotations

import pytest

from medialayer.caps import DEFAULT_CAPS
from medialayer_local.settings import LocalSettings
from tests.local.localserver import LocalServer
from tests.support.apiserver import post_json, running
from tests.support.media import jpeg_bytes
from tests.support.mediaserver import MediaServer, Route

REFUSED = {"source_url": "http://127.0.0.1:1/a.jpg", "target_url": "http://127.0.0.1:1/b.jpg"}  # never connected
#: Between the halved image cap (7.5 MB) and the full one (15 MB): declared, then the connection drops early.
BETWEEN_CAPS = int(DEFAULT_CAPS["image"].max_bytes * 0.7)


def _big_image_pair(origin: MediaServer) -> dict[str, str]:
    route = Route(body=jpeg_bytes(5, size=(320, 240)), declared_length=BETWEEN_CAPS, drop_after_bytes=4096)
    url = origin.add("/between-caps.jpg", route)
    return {"source_url": url, "target_url": url}


def _codes(base: str, n: int) -> list[str]:
    return [post_json(f"{base}/demo/image/match", REFUSED)[1]["error"]["code"] for _ in range(n)]


def test_make_run_counts_no_demo_requests_and_uses_the_full_caps(make_run: LocalServer, origin: MediaServer) -> None:
    assert _codes(make_run.base, 15) == ["invalid_url"] * 15  # the 11th was 429 rate_limited
    status, body = post_json(f"{make_run.base}/demo/image/match", _big_image_pair(origin))
    assert (status, body["error"]["code"]) == (422, "fetch_failed")  # it was 413 file_too_large: half caps
    assert "demo limits OFF" in make_run.output() and "MEDIALAYER_DEMO_LIMITS=true" in make_run.output()


def test_demo_limits_true_applies_the_deployed_limits_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    from medialayer_local.app import create_app

    monkeypatch.setenv("MEDIALAYER_DEMO_LIMITS", "true")
    with MediaServer() as origin:
        settings = LocalSettings(allow_private_hosts=origin.host)
        assert settings.demo_cap_factor == 0.5
        with running(create_app(settings=settings)) as base:
            status, body = post_json(f"{base}/demo/image/match", _big_image_pair(origin))
            assert (status, body["error"]["code"]) == (413, "file_too_large")
            assert _codes(base, 10) == ["invalid_url"] * 9 + ["rate_limited"]


def test_the_deployed_app_keeps_its_limits_whatever_the_local_switch_says(monkeypatch: pytest.MonkeyPatch) -> None:
    from image_match.app import create_app

    monkeypatch.setenv("MEDIALAYER_DEMO_LIMITS", "false")
    with MediaServer() as origin:
        monkeypatch.setenv("MEDIALAYER_ALLOW_PRIVATE_HOSTS", origin.host)
        with running(create_app()) as base:
            status, body = post_json(f"{base}/demo/image/match", _big_image_pair(origin))
            assert (status, body["error"]["code"]) == (413, "file_too_large")
            assert _codes(base, 10) == ["invalid_url"] * 9 + ["rate_limited"]


def test_switching_the_demo_limits_off_leaves_auth_and_the_other_routes_alone() -> None:
    from medialayer_local.app import create_app

    settings = LocalSettings()  # auth on: only make run / serve-dir turn it off
    assert not settings.demo_limits and settings.demo_cap_factor == 1.0
    with running(create_app(settings=settings)) as base:
        assert post_json(f"{base}/image/match", REFUSED)[1]["error"]["code"] == "unauthorized"
        assert post_json(f"{base}/demo/image/match", REFUSED)[1]["error"]["code"] == "invalid_url"
