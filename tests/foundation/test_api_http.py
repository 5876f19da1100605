"""The API over real HTTP on loopback: envelope shapes and every error code produced for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from medialayer.api import build_app
from medialayer.calibration import Calibration
from medialayer.caps import MediaCaps
from medialayer.engine import Comparison
from medialayer.settings import Settings
from tests.support.apiserver import post_json, running
from tests.support.media import ENVELOPE_FIELDS, jpeg_bytes, wav_bytes
from tests.support.mediaserver import MediaServer, Route

CAL = Calibration(medium="image", version="test", raw_floor=0, raw_clear=0.2, raw_match=0.5, raw_high=0.8, raw_top=1.0)


class EchoComparer:
    """A stand-in engine: similarity 1 for identical bytes, 0 otherwise (the API layer is under test)."""

    media_type = "image"

    def compare_files(self, source: Path, target: Path, caps: MediaCaps) -> Comparison:
        same = source.read_bytes() == target.read_bytes()
        return Comparison(raw_score=1.0 if same else 0.0, details={"same_bytes": same})

    def calibration(self) -> Calibration:
        return CAL


class Boom(EchoComparer):
    def compare_files(self, source: Path, target: Path, caps: MediaCaps) -> Comparison:
        raise RuntimeError("secret internal path /var/task/x.py")


@pytest.fixture
def media():
    with MediaServer() as srv:
        srv.add("/a.jpg", Route(body=jpeg_bytes(1)))
        srv.add("/b.jpg", Route(body=jpeg_bytes(2)))
        srv.add("/tone.wav", Route(body=wav_bytes()))
        srv.add("/big.jpg", Route(body=jpeg_bytes(3) + b"\0" * (16 * 1024 * 1024)))
        srv.add("/big-nolen.jpg", Route(body=jpeg_bytes(3) + b"\0" * (16 * 1024 * 1024), send_length=False))
        srv.add("/stall.jpg", Route(body=jpeg_bytes(), delay_before_headers_s=3))
        srv.add("/redir", Route(status=302, headers={"Location": "http://127.0.0.1:9/a.jpg"}))
        yield srv


@pytest.fixture
def api(media, tmp_path):
    settings = Settings(
        allow_private_hosts=media.host,
        auth_disabled=True,
        temp_dir=str(tmp_path / "dl"),
        read_timeout_s=1.0,
        total_timeout_s=2.0,
    )
    app = build_app({"image": EchoComparer, "audio": None}, settings=settings)
    with running(app) as base:
        yield base


def leftovers(tmp_path: Path) -> list[Path]:
    d = tmp_path / "dl"
    return list(d.iterdir()) if d.exists() else []


def test_match_envelope(api, media, tmp_path):
    status, body = post_json(
        f"{api}/image/match", {"source_url": media.url("/a.jpg"), "target_url": media.url("/a.jpg")}
    )
    assert status == 200
    assert set(body) == ENVELOPE_FIELDS
    assert body["match"] is True and body["confidence"] == "high" and body["similarity_score"] == 1.0
    assert body["media_type"] == "image" and body["matched_segments"] == []
    assert isinstance(body["processing_time_ms"], int)
    status, body = post_json(
        f"{api}/image/match",
        {"source_url": media.url("/a.jpg"), "target_url": media.url("/b.jpg"), "details": True},
    )
    assert status == 200 and body["match"] is False and body["details"]["same_bytes"] is False
    assert leftovers(tmp_path) == []


def test_not_implemented_route(api, media):
    status, body = post_json(
        f"{api}/audio/match", {"source_url": media.url("/tone.wav"), "target_url": media.url("/tone.wav")}
    )
    assert status == 501
    assert body == {"error": {"code": "not_implemented", "message": body["error"]["message"]}}


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"{not json", 400, "invalid_request"),
        (b"[" * 10_000, 400, "invalid_request"),  # was a RecursionError: 500 (issue 13)
        (b'{"source_url": ' + b"9" * 5_000 + b"}", 400, "invalid_request"),  # int-length ValueError: 500
        (b'{"source_url": NaN, "target_url": "http://x/"}', 400, "invalid_request"),
        (b" " * (16 * 1024 + 1), 413, "request_too_large"),  # the body limit, before parsing
        ({"source_url": "http://x/a.jpg"}, 400, "invalid_request"),
        ({"source_url": 5, "target_url": "http://x/"}, 400, "invalid_request"),
        ({"source_url": "ftp://x/a.jpg", "target_url": "http://x/"}, 400, "invalid_url"),
        ({"source_url": "http://10.0.0.1/a.jpg", "target_url": "http://10.0.0.2/b.jpg"}, 400, "invalid_url"),
        (
            {
                "source_url": "http://169.254.169.254/latest/meta-data/",
                "target_url": "http://[fd00:ec2::254]/",
            },
            400,
            "invalid_url",
        ),
    ],
)
def test_request_errors(api, payload, status, code, tmp_path):
    got_status, body = post_json(f"{api}/image/match", payload)
    assert (got_status, body["error"]["code"]) == (status, code)
    assert body["error"]["message"]
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("path_a", "path_b", "status", "code"),
    [
        ("/a.jpg", "/missing.jpg", 422, "fetch_failed"),
        ("/a.jpg", "/stall.jpg", 422, "fetch_failed"),
        ("/a.jpg", "/big.jpg", 413, "file_too_large"),
        ("/a.jpg", "/big-nolen.jpg", 413, "file_too_large"),
        ("/a.jpg", "/tone.wav", 415, "unsupported_media"),
        ("/a.jpg", "/redir", 400, "invalid_url"),
    ],
)
def test_fetch_errors(api, media, path_a, path_b, status, code, tmp_path):
    got, body = post_json(f"{api}/image/match", {"source_url": media.url(path_a), "target_url": media.url(path_b)})
    assert (got, body["error"]["code"]) == (status, code)
    assert leftovers(tmp_path) == []


def test_loopback_without_allowlist_is_refused(media, tmp_path):
    app = build_app({"image": EchoComparer}, settings=Settings(auth_disabled=True, temp_dir=str(tmp_path / "dl")))
    with running(app) as base:
        got, body = post_json(
            f"{base}/image/match", {"source_url": media.url("/a.jpg"), "target_url": media.url("/b.jpg")}
        )
    assert (got, body["error"]["code"]) == (400, "invalid_url")
    assert media.requests == []


def test_unexpected_exception_is_500_without_internals(media, tmp_path):
    class ImageBoom(Boom):
        media_type = "image"

    settings = Settings(allow_private_hosts=media.host, auth_disabled=True, temp_dir=str(tmp_path / "dl"))
    with running(build_app({"image": ImageBoom}, settings=settings)) as base:
        got, body = post_json(
            f"{base}/image/match", {"source_url": media.url("/a.jpg"), "target_url": media.url("/a.jpg")}
        )
    assert got == 500 and body["error"]["code"] == "internal_error"
    assert "/var/task" not in body["error"]["message"] and "Traceback" not in str(body)
    assert leftovers(tmp_path) == []


def test_auth_required_by_default(media, tmp_path):
    settings = Settings(allow_private_hosts=media.host, temp_dir=str(tmp_path / "dl"))
    with running(build_app({"image": EchoComparer}, settings=settings)) as base:
        got, body = post_json(
            f"{base}/image/match", {"source_url": media.url("/a.jpg"), "target_url": media.url("/a.jpg")}
        )
    assert (got, body["error"]["code"]) == (401, "unauthorized")
    assert media.requests == []


def test_openapi_published(api):
    import json
    import urllib.request

    with urllib.request.urlopen(f"{api}/openapi.json", timeout=10) as resp:
        doc = json.loads(resp.read())
    for medium in ("image", "audio"):
        assert f"/{medium}/match" in doc["paths"] and f"/demo/{medium}/match" in doc["paths"]
    op = doc["paths"]["/image/match"]["post"]
    assert "source_url" in json.dumps(op["requestBody"]) and "429" in op["responses"]
