"""Every per-file error says which file (issue 16, item 2): ``error.field`` is ``source_url`` or
``target_url`` and the message starts with it, for refusals at every stage - URL policy, download, caps,
sniffing, the engine's decode - on either side; errors about the request as a whole have no field.

Over real HTTP on loopback: the image route has a stand-in comparer (the API layer is under test), the
audio route the real engine (its duration cap and decoder refuse the file, not a fake)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from medialayer.api import build_app
from medialayer.calibration import Calibration
from medialayer.caps import DEFAULT_CAPS, MediaCaps
from medialayer.engine import Comparison
from medialayer.errors import DurationTooLong, FetchFailed, UnsupportedMedia, concerning, field_named_in
from medialayer.pipeline import EngineComparer
from medialayer.settings import Settings
from tests.audio.synth import SR, notes
from tests.audio.synth import wav_bytes as pcm_wav
from tests.support.apiserver import post_json, running
from tests.support.comparers import IDENTITY_CALIBRATION, SameBytes
from tests.support.media import jpeg_bytes
from tests.support.mediaserver import MediaServer, Route

DEMO_AUDIO_CAP_S = DEFAULT_CAPS["audio"].scaled(0.5).max_duration_s


@pytest.fixture(scope="module")
def site():
    from audio_match.app import comparer as audio

    assert DEMO_AUDIO_CAP_S is not None
    with MediaServer() as media:
        media.add("/a.jpg", Route(body=jpeg_bytes(1)))
        media.add("/text.jpg", Route(body=b"hello, this is not an image at all" * 10))
        media.add("/big.jpg", Route(body=jpeg_bytes(3) + b"\0" * (16 * 1024 * 1024)))
        media.add("/empty.jpg", Route(body=b""))
        media.add("/melody.wav", Route(body=pcm_wav(notes(8.0, seed=1), SR)))
        long = np.zeros(int((DEMO_AUDIO_CAP_S + 10) * SR), np.float32)
        media.add("/long.wav", Route(body=pcm_wav(long, SR)))
        # the header says 2 s; the data runs past the cap (caught while decoding, by the engine)
        media.add("/lying.wav", Route(body=pcm_wav(long, SR, declared_frames=2 * SR)))
        media.add("/corrupt.ogg", Route(body=b"OggS\x00\x02" + bytes(range(256)) * 40))  # sniffs as Ogg, won't decode
        settings = Settings(allow_private_hosts=media.host, auth_disabled=True, demo_requests_per_window=1000)
        app = build_app({"image": SameBytes, "audio": audio, "video": None}, settings=settings)
        with running(app) as base:
            yield base, media


def ask(site, route: str, source: str, target: str) -> tuple[int, dict]:
    base, media = site
    full = lambda p: p if "://" in p else media.url(p)  # noqa: E731
    return post_json(f"{base}{route}", {"source_url": full(source), "target_url": full(target)})


PER_FILE = [
    # (route, bad file, other file, status, code)
    ("/image/match", "/missing.jpg", "/a.jpg", 422, "fetch_failed"),
    ("/image/match", "http://10.0.0.1/x.jpg", "/a.jpg", 400, "invalid_url"),
    ("/image/match", "ftp://example.com/x.jpg", "/a.jpg", 400, "invalid_url"),
    ("/image/match", "/text.jpg", "/a.jpg", 415, "unsupported_media"),
    ("/image/match", "/empty.jpg", "/a.jpg", 415, "unsupported_media"),
    ("/image/match", "/big.jpg", "/a.jpg", 413, "file_too_large"),
    ("/audio/match", "/a.jpg", "/melody.wav", 415, "unsupported_media"),
    ("/demo/audio/match", "/long.wav", "/melody.wav", 422, "duration_too_long"),
    ("/demo/audio/match", "/lying.wav", "/melody.wav", 422, "duration_too_long"),
    ("/audio/match", "/corrupt.ogg", "/melody.wav", 415, "unsupported_media"),
]


@pytest.mark.parametrize("side", ["source_url", "target_url"])
@pytest.mark.parametrize(("route", "bad", "good", "status", "code"), PER_FILE)
def test_a_per_file_error_names_its_file(site, side, route, bad, good, status, code):
    source, target = (bad, good) if side == "source_url" else (good, bad)
    got, body = ask(site, route, source, target)
    assert (got, body["error"]["code"]) == (status, code), body
    assert body["error"]["field"] == side
    assert body["error"]["message"].startswith(f"{side}: ")
    assert body["error"]["message"].count(side) == 1  # named once, however many layers tagged it


def test_when_both_files_fail_the_source_is_named(site):
    got, body = ask(site, "/image/match", "/missing.jpg", "/text.jpg")
    assert got == 422 and body["error"]["field"] == "source_url"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"source_url": "http://x/" + "a" * 2048, "target_url": "http://x/b"}, "source_url"),
        ({"source_url": "http://x/a", "target_url": 5}, "target_url"),
        ({"source_url": "http://x/a"}, "target_url"),
        ({"source_url": "http://x/a", "target_url": "http://x/b", "details": "yes"}, None),
        ({"source_url": "http://x/a", "target_url": "http://x/b", "extra": 1}, None),
        ({"source_url": 1, "target_url": 2}, None),  # two fields wrong: not one file's error
        ([], None),
    ],
)
def test_a_malformed_url_field_is_named_and_other_request_errors_are_not(site, payload, field):
    base, _ = site
    got, body = post_json(f"{base}/image/match", payload)
    assert got == 400 and body["error"]["code"] == "invalid_request"
    assert body["error"].get("field") == field
    if field is None:
        assert set(body["error"]) == {"code", "message"}  # no field at all, not a null


def test_errors_about_the_request_or_server_have_no_field(site):
    base, media = site
    _, body = post_json(f"{base}/video/match", {"source_url": media.url("/a.jpg"), "target_url": media.url("/a.jpg")})
    assert body["error"]["code"] == "not_implemented" and "field" not in body["error"]
    got, body = post_json(f"{base}/image/match", b"{not json")
    assert got == 400 and "field" not in body["error"]


def test_engine_refusals_name_their_file_in_the_pipeline(tmp_path: Path):
    """EngineComparer: what an engine's fingerprint raises for one file names that file."""

    class Picky:
        media_type = "audio"

        def fingerprint(self, path: Path, caps: MediaCaps) -> str:
            if path.name == "bad":
                raise UnsupportedMedia("the media could not be decoded")
            return path.name

        def compare(self, a: str, b: str) -> Comparison:
            return Comparison(raw_score=0.0)

        def calibration(self) -> Calibration:
            return IDENTITY_CALIBRATION

    good, bad = tmp_path / "good", tmp_path / "bad"
    good.write_bytes(b"x")
    bad.write_bytes(b"x")
    comparer = EngineComparer(Picky())  # type: ignore[arg-type]
    with pytest.raises(UnsupportedMedia) as caught:
        comparer.compare_files(good, bad, DEFAULT_CAPS["audio"])
    assert caught.value.field == "target_url" and caught.value.message == "target_url: the media could not be decoded"


def test_the_field_survives_pickling_and_a_message_only_boundary():
    """The video fan-out moves errors between processes (pickle) and through Step Functions (code + message)."""
    from video_match.stages import error_from_stage, to_stage_error

    with pytest.raises(DurationTooLong) as caught, concerning("target_url"), concerning("source_url"):
        raise DurationTooLong("the video is longer than 180 s")
    err = caught.value
    assert err.field == "source_url" and err.message == "source_url: the video is longer than 180 s"  # innermost
    back = pickle.loads(pickle.dumps(err))
    assert (type(back), back.field, back.message) == (DurationTooLong, "source_url", err.message)
    stage = to_stage_error(err)
    cause = json.dumps({"errorMessage": stage.args[0], "stackTrace": ["..."]})
    rebuilt = error_from_stage(type(stage).__name__, cause)
    assert isinstance(rebuilt, DurationTooLong)
    assert (rebuilt.field, rebuilt.message) == ("source_url", err.message)
    assert field_named_in("a message") is None
    assert error_from_stage("MediaLayer.fetch_failed", '{"errorMessage": "no side"}').field is None  # type: ignore[union-attr]
    twice = FetchFailed("x").about("target_url").about("source_url")  # the first (innermost) side wins
    assert (twice.field, twice.message) == ("target_url", "target_url: x")
