"""The fuzz targets. Each takes bytes and must either succeed or raise a typed ``MediaLayerError`` below
500 — any other exception, a 5xx error, a hang past ``TIME_BOUND_S`` or a broken invariant is a finding.

* ``sniff``  — :func:`medialayer.sniff.sniff_bytes` / :func:`sniff` / :func:`require_medium`: total, no
  exceptions but ``UnsupportedMedia``; never calls a playlist, HTML or text file media.
* ``url``    — :func:`medialayer.url_policy.vet_url` on arbitrary text with a resolver that maps every name
  to an internal address: nothing may ever be vetted unless it is a literal public IP.
* ``image``  — the image engine's ``decode`` (Pillow with bomb checks) on mutated JPEG/PNG/GIF/WebP/BMP/TIFF.
* ``audio``  — sniff + the audio engine's ``decode_mono`` (libsndfile header check + sandboxed ffmpeg).
* ``video``  — sniff + the video engine's ``probe_video`` and a 2 s ``decode_range`` (sandboxed ffmpeg).
* ``body``   — :func:`medialayer.api.parse_match_body` on JSON-shaped bytes (deep nesting, huge numbers,
  NaN, broken escapes, mutated valid bodies): a ``MatchRequest`` or ``InvalidRequest``, never anything else.
"""

from __future__ import annotations

import io
import ipaddress
import os
import sys
import tempfile
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for sub in ("shared", "functions/image", "functions/audio", "functions/video", "."):
    p = str(REPO / sub)
    if p not in sys.path:
        sys.path.insert(0, p)

from medialayer.caps import DEFAULT_CAPS, MediaCaps  # noqa: E402
from medialayer.errors import FetchFailed, InvalidUrl, MediaLayerError  # noqa: E402

TIME_BOUND_S = 30.0
#: Small caps keep every fuzz execution cheap (the caps' own logic is part of what is fuzzed).
AUDIO_CAPS = MediaCaps(max_bytes=DEFAULT_CAPS["audio"].max_bytes, max_duration_s=20.0)
VIDEO_CAPS = MediaCaps(max_bytes=DEFAULT_CAPS["video"].max_bytes, max_duration_s=20.0)


class Finding(AssertionError):
    """A broken invariant (distinct from a crash, which is any unexpected exception)."""


def _typed(exc: MediaLayerError) -> None:
    if exc.status >= 500:
        raise Finding(f"{type(exc).__name__} ({exc.status}) for a hostile input: {exc.message}")


_SCRATCH = Path(tempfile.mkdtemp(prefix="medialayer-fuzz-"))


def _write(data: bytes) -> Path:
    path = _SCRATCH / f"in-{os.getpid()}.bin"
    path.write_bytes(data)
    return path


# --- sniff -----------------------------------------------------------------------------------------


def fuzz_sniff(data: bytes) -> None:
    from medialayer.sniff import HEAD_BYTES, require_medium, sniff, sniff_bytes

    found = sniff_bytes(data[:HEAD_BYTES])
    text = data.lstrip()[:16].lower()
    if found is not None and (text.startswith((b"#extm3u", b"ffconcat", b"<", b"{")) and found.fmt != "mp3"):
        raise Finding(f"text-like input sniffed as {found.fmt}: {data[:16]!r}")
    path = _write(data)
    try:
        got = sniff(path)
    except MediaLayerError as exc:
        _typed(exc)
        if found is not None and data:
            raise Finding("sniff(path) refused what sniff_bytes accepted") from exc
        return
    if got != found:
        raise Finding(f"sniff(path)={got} but sniff_bytes={found}")
    for medium in ("image", "audio", "video"):
        try:
            require_medium(got, medium)  # type: ignore[arg-type]
        except MediaLayerError as exc:
            _typed(exc)


# --- url -------------------------------------------------------------------------------------------

_INTERNAL = ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "fd00:ec2::254", "::ffff:127.0.0.1"]


def _evil_resolver(host: str, port: int) -> list[str]:
    """Every name resolves to an internal address (the worst DNS an attacker could run)."""
    return [_INTERNAL[hash(host) % len(_INTERNAL)]]


def fuzz_url(data: bytes) -> None:
    from medialayer.url_policy import is_public, vet_url

    text = data.decode("utf-8", "replace")
    try:
        vetted = vet_url(text, resolver=_evil_resolver)
    except (InvalidUrl, FetchFailed):
        return
    except MediaLayerError as exc:
        _typed(exc)
        return
    for address in vetted.addresses:
        if not is_public(ipaddress.ip_address(address)):
            raise Finding(f"{text!r} vetted to internal address {address}")
    if vetted.scheme not in ("http", "https"):
        raise Finding(f"{text!r} vetted with scheme {vetted.scheme}")
    if any(ord(c) < 0x21 for c in vetted.url):
        raise Finding(f"{text!r} vetted to a URL with control characters: {vetted.url!r}")


# --- decoders --------------------------------------------------------------------------------------


def fuzz_image(data: bytes) -> None:
    from image_match.engine.decode import decode

    try:
        out = decode(_write(data), DEFAULT_CAPS["image"])
    except MediaLayerError as exc:
        _typed(exc)
        return
    if out.gray.ndim != 2 or max(out.gray.shape) != 640:
        raise Finding(f"decode returned a {out.gray.shape} working image")


def fuzz_audio(data: bytes) -> None:
    from audio_match.engine.decode import decode_mono
    from medialayer.sniff import require_medium, sniff

    path = _write(data)
    try:
        require_medium(sniff(path), "audio")
        samples = decode_mono(path, 8000, AUDIO_CAPS)
    except MediaLayerError as exc:
        _typed(exc)
        return
    if samples.size > (AUDIO_CAPS.max_duration_s or 0) * 8000 + 800:
        raise Finding(f"decoded {samples.size / 8000:.1f} s past the {AUDIO_CAPS.max_duration_s} s cap")


def fuzz_video(data: bytes) -> None:
    from medialayer.sniff import require_medium, sniff
    from video_match.engine.decode import decode_range, probe_video

    path = _write(data)
    try:
        require_medium(sniff(path), "video")
        probe_video(path, VIDEO_CAPS)
        times, frames = decode_range(path, 0.0, 2.0)
    except MediaLayerError as exc:
        _typed(exc)
        return
    if times.size > 5 or frames.shape[0] != times.size:
        raise Finding(f"decode_range(0, 2) gave {times.size} frames")


# --- request body ----------------------------------------------------------------------------------


def fuzz_body(data: bytes) -> None:
    from medialayer.api import parse_match_body
    from medialayer.envelope import MatchRequest
    from medialayer.errors import InvalidRequest

    try:
        parsed = parse_match_body(data)
    except InvalidRequest:
        return
    if not isinstance(parsed, MatchRequest):
        raise Finding(f"parse_match_body returned {type(parsed).__name__}")


TARGETS: dict[str, Callable[[bytes], None]] = {
    "sniff": fuzz_sniff,
    "url": fuzz_url,
    "image": fuzz_image,
    "audio": fuzz_audio,
    "video": fuzz_video,
    "body": fuzz_body,
}


def run_bounded(target: Callable[[bytes], None], data: bytes) -> float:
    """Run one input; a run slower than ``TIME_BOUND_S`` is a finding. Returns the seconds taken."""
    started = time.monotonic()
    target(data)
    elapsed = time.monotonic() - started
    if elapsed > TIME_BOUND_S:
        raise Finding(f"one input took {elapsed:.1f} s")
    return elapsed


# --- seeds -----------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def seeds() -> dict[str, list[bytes]]:
    """Small valid files of every accepted format: the mutation fuzzers start from these."""
    import subprocess

    import numpy as np
    from PIL import Image

    from medialayer.ffmpeg import ffmpeg_exe

    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8))
    images = []
    for fmt, kw in (("JPEG", {"quality": 80}), ("PNG", {}), ("GIF", {}), ("WEBP", {}), ("BMP", {}), ("TIFF", {})):
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        images.append(buf.getvalue())
    buf = io.BytesIO()
    img.convert("P").save(buf, "GIF", save_all=True, append_images=[img.convert("P").rotate(90)] * 3)
    images.append(buf.getvalue())

    d = Path(tempfile.mkdtemp(prefix="medialayer-fuzz-seeds-"))

    def ff(name: str, *args: str) -> bytes:
        out = d / name
        subprocess.run(
            [ffmpeg_exe(), "-y", "-nostdin", "-loglevel", "error", *args, str(out)],
            check=True,
            timeout=60,
            capture_output=True,
        )
        return out.read_bytes()

    tone = ["-f", "lavfi", "-i", "sine=frequency=500:duration=1.5", "-ar", "8000"]
    audio = [
        ff("a.wav", *tone),
        ff("a.flac", *tone),
        ff("a.mp3", *tone, "-b:a", "32k"),
        ff("a.ogg", *tone, "-c:a", "libvorbis") if _has_encoder("libvorbis") else ff("a2.wav", *tone),
        ff("a.m4a", *tone, "-c:a", "aac", "-b:a", "32k"),
    ]
    src = ["-f", "lavfi", "-i", "testsrc=size=48x32:rate=5:duration=2"]
    video = [
        ff("v.mp4", *src, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast"),
        ff("v.mkv", *src, "-c:v", "mpeg4"),
        ff("v.avi", *src, "-c:v", "mjpeg"),
        ff("v.flv", *src, "-c:v", "flv1"),
    ]
    urls = [
        s.encode()
        for s in (
            "https://media.example.com/a.jpg",
            "http://93.184.216.34:8080/x?y=1",
            "http://[2606:2800:220:1::1]/v.mp4",
            "http://user:pw@127.0.0.1/",
            "http://0x7f.1/",
        )
    ]
    bodies = [
        b'{"source_url": "https://media.example.com/a.jpg", "target_url": "https://media.example.com/b.jpg"}',
        b'{"source_url": "http://x/a", "target_url": "http://x/b", "details": true}',
        b'{"source_url": "\\u0068ttp://x/", "target_url": "http://x/", "details": false}',
    ]
    return {
        "sniff": images[:3] + audio[:2] + video[:2] + [b"#EXTM3U\n", b"<html>"],
        "body": bodies,
        "url": urls,
        "image": images,
        "audio": audio,
        "video": video,
    }


def _has_encoder(name: str) -> bool:
    import subprocess

    from medialayer.ffmpeg import ffmpeg_exe

    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-encoders"], capture_output=True, timeout=30, check=False)
    return name in out.stdout.decode("utf-8", "replace")
