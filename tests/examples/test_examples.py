"""The README's examples run against the real local server, so they cannot go stale."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from medialayer.settings import Settings
from tests.audio.synth import SR, notes, wav_bytes
from tests.support.apiserver import running
from tests.support.media import jpeg_bytes
from tests.support.mediaserver import MediaServer, Route

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served():
    from medialayer_local.app import create_app

    full = notes(40.0, seed=3)
    excerpt = full[int(12 * SR) : int(27 * SR)]
    with MediaServer() as media:
        media.add("/a.jpg", Route(body=jpeg_bytes(5, size=(640, 480))))
        media.add("/b.jpg", Route(body=jpeg_bytes(6, size=(640, 480))))
        media.add("/full.wav", Route(body=wav_bytes(full, SR)))
        media.add("/clip.wav", Route(body=wav_bytes(excerpt, SR)))
        settings = Settings(allow_private_hosts=media.host, auth_disabled=True)
        with running(create_app(settings=settings)) as api:
            yield api, media


def run_python_example(api: str, source: str, target: str) -> subprocess.CompletedProcess[str]:
    script = str(REPO / "examples" / "match_images.py")
    return subprocess.run(
        [sys.executable, script, source, target, "--api", api], capture_output=True, text=True, timeout=60
    )


def test_python_example(served):
    api, media = served
    same = run_python_example(api, media.url("/a.jpg"), media.url("/a.jpg"))
    assert same.returncode == 0 and "match=True" in same.stdout
    other = run_python_example(api, media.url("/a.jpg"), media.url("/b.jpg"))
    assert other.returncode == 1 and "match=False" in other.stdout
    bad = run_python_example(api, "http://10.0.0.1/a.jpg", media.url("/b.jpg"))
    assert bad.returncode == 2 and "invalid_url" in bad.stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_example_finds_the_excerpt(served):
    api, media = served
    out = subprocess.run(
        ["sh", str(REPO / "examples" / "match_audio.sh"), media.url("/full.wav"), media.url("/clip.wav"), api],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["match"] is True and body["media_type"] == "audio"
    seg = max(body["matched_segments"], key=lambda s: s["source_end"] - s["source_start"])
    assert abs(seg["source_start"] - 12.0) < 0.5 and abs(seg["target_start"] - 0.0) < 0.5
