"""`medialayer match`: exit 0 match / 1 no match / 2 error; JSON envelope on stdout; local files and URLs."""

from __future__ import annotations

import json

import pytest

from medialayer_local.cli import main
from tests.support.media import ENVELOPE_FIELDS, jpeg_bytes, wav_bytes
from tests.support.mediaserver import MediaServer, Route


@pytest.fixture
def files(tmp_path):
    a, b, page = tmp_path / "a.jpg", tmp_path / "b.jpg", tmp_path / "page.jpg"
    a.write_bytes(jpeg_bytes(11, size=(480, 360)))
    b.write_bytes(jpeg_bytes(12, size=(480, 360)))
    page.write_bytes(b"<html>not an image</html>" * 4)
    return a, b, page


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(["match", *argv])
    return code, capsys.readouterr().out


def test_match_exits_0_with_the_envelope(files, capsys):
    a, _, _ = files
    code, out = run(capsys, str(a), str(a))
    body = json.loads(out)
    assert code == 0 and body["match"] is True and body["media_type"] == "image"
    assert set(body) == ENVELOPE_FIELDS


def test_no_match_exits_1_and_pretty_summary(files, capsys):
    a, b, _ = files
    code, out = run(capsys, str(a), str(b), "--pretty")
    assert code == 1 and out.startswith("no match")


@pytest.mark.parametrize("case", ["missing", "wrong_type", "wrong_medium"])
def test_errors_exit_2_with_the_error_envelope(files, capsys, tmp_path, case):
    a, _, page = files
    wav = tmp_path / "t.wav"
    wav.write_bytes(wav_bytes())
    target = {"missing": str(tmp_path / "nope.jpg"), "wrong_type": str(page), "wrong_medium": str(wav)}[case]
    code, out = run(capsys, str(a), target, "--type", "image")
    assert code == 2
    assert json.loads(out)["error"]["code"] == {"missing": "invalid_request"}.get(case, "unsupported_media")


def test_urls_go_through_the_safe_fetcher(files, capsys, monkeypatch):
    a, _, _ = files
    with MediaServer() as media:
        url = media.add("/a.jpg", Route(body=a.read_bytes()))
        code, out = run(capsys, url, str(a))  # loopback is refused by default
        assert code == 2 and json.loads(out)["error"]["code"] == "invalid_url" and media.requests == []
        monkeypatch.setenv("MEDIALAYER_ALLOW_PRIVATE_HOSTS", media.host)
        from medialayer.settings import get_settings

        get_settings.cache_clear()
        code, out = run(capsys, url, str(a), "--type", "image")
        assert code == 0 and json.loads(out)["match"] is True
