"""Both files' durations in the details (issue 16, item 1): ``details.source_duration_s`` and
``details.target_duration_s`` for audio and video, from the decoded signatures, through the real engines
and the real HTTP API (video: the local fan-out, real worker processes); none for images. Also the video
fan-out's per-file errors, which cross process boundaries, still name their file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from medialayer.api import build_app
from medialayer.caps import DEFAULT_CAPS, MediaCaps
from medialayer.errors import DurationTooLong, UnsupportedMedia
from medialayer.settings import Settings
from medialayer.staging import LocalDirStore
from tests.audio.synth import SR, notes
from tests.audio.synth import wav_bytes as pcm_wav
from tests.support.apiserver import post_json, running
from tests.support.media import jpeg_bytes
from tests.support.mediaserver import MediaServer, Route
from tests.video_fanout.fake_engine import FakeEngine
from tests.video_fanout.support import make_clip
from video_match.fanout import FanOutComparer
from video_match.runners import LocalPoolRunner

MELODY = notes(20.0, seed=3)
EXCERPT = np.concatenate([notes(4.0, seed=9), MELODY[5 * SR : 15 * SR], notes(3.0, seed=11)])  # 17 s


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clips")
    return {"twelve": make_clip(root / "twelve.mp4", 12), "six": make_clip(root / "six.mp4", 6, audio=False)}


@pytest.fixture(scope="module")
def site(clips, tmp_path_factory):
    from audio_match.app import comparer as audio
    from image_match.app import comparer as image
    from video_match.app import comparer as video

    staging = tmp_path_factory.mktemp("staging")
    with MediaServer() as media:
        media.add("/melody.wav", Route(body=pcm_wav(MELODY, SR)))
        media.add("/excerpt.wav", Route(body=pcm_wav(EXCERPT, SR)))
        media.add("/a.jpg", Route(body=jpeg_bytes(1)))
        media.add("/twelve.mp4", Route(body=clips["twelve"].read_bytes()))
        media.add("/six.mp4", Route(body=clips["six"].read_bytes()))
        settings = Settings(
            allow_private_hosts=media.host, auth_disabled=True, staging_dir=str(staging), local_workers=2
        )
        app = build_app({"image": image, "audio": audio, "video": lambda: video(settings)}, settings=settings)
        with running(app) as base:
            yield base, media


def ask(site, medium: str, source: str, target: str, *, details: bool = True) -> dict:
    base, media = site
    body = {"source_url": media.url(source), "target_url": media.url(target), "details": details}
    status, answer = post_json(f"{base}/{medium}/match", body, timeout=120)
    assert status == 200, answer
    return answer


def test_audio_details_carry_both_durations(site):
    body = ask(site, "audio", "/melody.wav", "/excerpt.wav")
    assert body["match"] is True
    assert body["details"]["source_duration_s"] == pytest.approx(20.0, abs=0.01)
    assert body["details"]["target_duration_s"] == pytest.approx(17.0, abs=0.01)
    assert "details" not in ask(site, "audio", "/melody.wav", "/excerpt.wav", details=False)


def test_video_details_carry_both_durations_through_the_fan_out(site):
    body = ask(site, "video", "/twelve.mp4", "/six.mp4")
    assert body["details"]["source_duration_s"] == pytest.approx(12.0, abs=0.2)
    assert body["details"]["target_duration_s"] == pytest.approx(6.0, abs=0.2)


def test_images_have_no_durations(site):
    details = ask(site, "image", "/a.jpg", "/a.jpg")["details"]
    assert "source_duration_s" not in details and "target_duration_s" not in details


@pytest.fixture
def fan_out(tmp_path: Path) -> Iterator[Callable[[FakeEngine], FanOutComparer]]:
    runners: list[LocalPoolRunner] = []

    def build(engine: FakeEngine) -> FanOutComparer:
        store = LocalDirStore(tmp_path / "staging")
        runners.append(LocalPoolRunner(store, engine, workers=2, timeout_s=60))
        return FanOutComparer(engine, store, runners[-1])

    yield build
    for runner in runners:
        runner.close()


def test_a_chunk_workers_refusal_names_its_file(fan_out, clips):
    """Only the 12 s target has a chunk from 5 s on (0-6, 6-12 s): the worker process's error comes back
    as target_url."""
    comparer = fan_out(FakeEngine(fail_from_s=5.0))
    with pytest.raises(UnsupportedMedia) as caught:
        comparer.compare_files(clips["six"], clips["twelve"], DEFAULT_CAPS["video"])
    assert caught.value.field == "target_url" and caught.value.message.startswith("target_url: ")


def test_the_probe_refusal_names_its_file(fan_out, clips):
    comparer = fan_out(FakeEngine())
    caps = MediaCaps(max_bytes=10**8, max_duration_s=8.0)
    with pytest.raises(DurationTooLong) as caught:
        comparer.compare_files(clips["six"], clips["twelve"], caps)
    assert caught.value.field == "target_url"
