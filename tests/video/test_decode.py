"""Decoding, caps and refusal of broken or wrong media (synthetic clips, no data folder needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medialayer.caps import DEFAULT_CAPS, MediaCaps
from medialayer.errors import DurationTooLong, UnsupportedMedia
from tests.video.conftest import run_ffmpeg_cli
from video_match.engine import VideoEngine
from video_match.engine.decode import DECODE_FPS, DECODE_SIZE

CAPS = DEFAULT_CAPS["video"]


def test_whole_decode_samples_on_the_grid(make_clip) -> None:
    clip = make_clip("a", seconds=6)
    sig = VideoEngine(use_audio=False).fingerprint(clip, CAPS)
    assert sig.n_frames == int(6 * DECODE_FPS)
    np.testing.assert_allclose(sig.times, np.arange(sig.n_frames) / DECODE_FPS)
    assert all(d.shape[0] == sig.n_frames for d in sig.descriptors.values())


def test_chunked_equals_whole(make_clip) -> None:
    clip = make_clip("a", seconds=9)
    engine = VideoEngine(use_audio=False)
    info = engine.probe(clip, CAPS)
    whole = engine.fingerprint_range(clip, 0.0, 100.0)
    chunks = [engine.fingerprint_range(clip, s, e) for s, e in ((0.0, 3.2), (3.2, 6.0), (6.0, 100.0))]
    assert sum(c.times.size for c in chunks) == whole.times.size
    np.testing.assert_allclose(np.concatenate([c.times for c in chunks]), whole.times)
    joined = np.concatenate([c.frames for c in chunks]).astype(int)
    assert np.abs(joined - whole.frames.astype(int)).mean() < 1.0
    a = engine.assemble(info, chunks, None)
    b = engine.assemble(info, [whole], None)
    for key in a.descriptors:
        sim = np.sum(a.descriptors[key].astype(np.float32) * b.descriptors[key].astype(np.float32), axis=1)
        assert sim.min() > 0.99


def test_range_keeps_only_frames_in_range(make_clip) -> None:
    clip = make_clip("a", seconds=6)
    chunk = VideoEngine(use_audio=False).fingerprint_range(clip, 1.2, 3.0)
    np.testing.assert_allclose(chunk.times, [1.5, 2.0, 2.5])
    assert chunk.frames.shape == (3, DECODE_SIZE, DECODE_SIZE)


def test_duration_cap_from_header(make_clip) -> None:
    clip = make_clip("long", seconds=5)
    with pytest.raises(DurationTooLong):
        VideoEngine(use_audio=False).fingerprint(clip, MediaCaps(max_bytes=CAPS.max_bytes, max_duration_s=3.0))


def test_duration_cap_on_decoded_frames(make_clip, monkeypatch: pytest.MonkeyPatch) -> None:
    """A header that under-states the length is caught by the decoded frame count."""
    import video_match.engine.decode as decode

    clip = make_clip("long", seconds=5)
    real_probe = decode.probe

    def lying_probe(path: Path, **kw):
        head = real_probe(path, **kw)
        return head.__class__(**{**head.__dict__, "duration_s": 1.0})

    monkeypatch.setattr(decode, "probe", lying_probe)
    with pytest.raises(DurationTooLong):
        VideoEngine(use_audio=False).fingerprint(clip, MediaCaps(max_bytes=CAPS.max_bytes, max_duration_s=3.0))


def test_empty_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(UnsupportedMedia):
        VideoEngine(use_audio=False).fingerprint(empty, CAPS)


def test_truncated_file_is_refused(make_clip, tmp_path: Path) -> None:
    clip = make_clip("a", seconds=4)
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(UnsupportedMedia):
        VideoEngine(use_audio=False).fingerprint(cut, CAPS)


def test_audio_only_file_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "audio.mp4"
    run_ffmpeg_cli("-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:a", "aac", str(out))
    with pytest.raises(UnsupportedMedia):
        VideoEngine(use_audio=False).fingerprint(out, CAPS)


def test_not_a_video_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video at all" * 100)
    with pytest.raises(UnsupportedMedia):
        VideoEngine(use_audio=False).fingerprint(junk, CAPS)
