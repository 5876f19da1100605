"""Decoding: formats, video soundtracks, and the duration cap from the header AND the decoded length."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from audio_match.engine import AudioEngine
from audio_match.engine.decode import decode_mono
from medialayer.caps import MediaCaps
from medialayer.errors import DurationTooLong, UnsupportedMedia
from tests.audio.conftest import run_ffmpeg_cli
from tests.audio.synth import SR, notes, wav_bytes

CAP5 = MediaCaps(max_bytes=50 * 1024 * 1024, max_duration_s=5.0)


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg"])
def test_soundfile_formats_decode_to_8k_mono(write_audio: Callable[..., Path], fmt: str) -> None:
    stereo = np.stack([notes(3.0, 1, sr=22050), notes(3.0, 1, sr=22050)], axis=1)
    x = decode_mono(write_audio("a", stereo, 22050, fmt), 8000, CAP5)
    assert x.dtype == np.float32
    assert x.size == pytest.approx(3.0 * 8000, abs=200)


@pytest.mark.parametrize("ext,codec", [("mp3", "libmp3lame"), ("m4a", "aac"), ("opus", "libopus")])
def test_compressed_formats_decode(tmp_path: Path, write_audio: Callable[..., Path], ext: str, codec: str) -> None:
    wav = write_audio("src", notes(4.0, 2, sr=SR), SR)
    out = tmp_path / f"a.{ext}"
    run_ffmpeg_cli("-i", str(wav), "-c:a", codec, "-b:a", "32k", *(["-f", "ogg"] if ext == "opus" else []), str(out))
    x = decode_mono(out, 8000, CAP5)
    assert x.size == pytest.approx(4.0 * 8000, abs=2000)


@pytest.mark.parametrize("ext,codec", [("mp3", "libmp3lame"), ("ogg", "libvorbis")])
def test_large_pipe_frames_give_the_plain_conversion_samples(
    tmp_path: Path, write_audio: Callable[..., Path], ext: str, codec: str
) -> None:
    """The decoder regroups ffmpeg's output into large frames (fewer pipe writes): the samples are
    exactly those of ffmpeg's plain ``-ac 1 -ar 8000`` conversion."""
    stereo = np.stack([notes(6.0, 4, sr=22050), notes(6.0, 5, sr=22050)], axis=1)
    src = tmp_path / f"a.{ext}"
    run_ffmpeg_cli("-i", str(write_audio("s", stereo, 22050)), "-c:a", codec, "-b:a", "64k", str(src))
    plain = tmp_path / "plain.f32"
    run_ffmpeg_cli("-i", str(src), "-map", "0:a:0", "-ac", "1", "-ar", "8000", "-f", "f32le", str(plain))
    assert np.array_equal(decode_mono(src, 8000, None), np.fromfile(plain, "<f4"))


def test_header_longer_than_cap_refused_before_decoding(write_audio: Callable[..., Path]) -> None:
    with pytest.raises(DurationTooLong):
        decode_mono(write_audio("long", notes(7.0, 3), SR, "flac"), 8000, CAP5)


def test_wav_header_understating_length_is_caught_by_size(tmp_path: Path) -> None:
    path = tmp_path / "lies.wav"
    path.write_bytes(wav_bytes(notes(9.0, 4), SR, declared_frames=2 * SR))  # says 2 s, holds 9 s
    with pytest.raises(DurationTooLong):
        decode_mono(path, 8000, CAP5)


def test_wav_header_understating_length_is_caught_while_decoding(tmp_path: Path, monkeypatch) -> None:
    from audio_match.engine import decode

    path = tmp_path / "lies.wav"
    path.write_bytes(wav_bytes(notes(5.6, 5), SR, declared_frames=2 * SR))  # says 2 s, holds 5.6 s
    monkeypatch.setattr(decode, "_header_check", lambda p, cap: True)  # only the decoded length can tell
    with pytest.raises(DurationTooLong):
        decode_mono(path, 8000, CAP5)


def test_within_cap_passes(tmp_path: Path) -> None:
    path = tmp_path / "ok.wav"
    path.write_bytes(wav_bytes(notes(4.5, 6), SR))
    assert decode_mono(path, 8000, CAP5).size == pytest.approx(4.5 * 8000, abs=10)


def test_video_soundtrack_is_fingerprinted(tmp_path: Path, write_audio: Callable[..., Path]) -> None:
    engine = AudioEngine()
    wav = write_audio("music", notes(8.0, 7), SR)
    mp4 = tmp_path / "clip.mp4"
    run_ffmpeg_cli(
        "-f", "lavfi", "-i", "testsrc=s=160x120:r=10:d=8", "-i", str(wav),
        "-c:v", "libx264", "-c:a", "aac", "-shortest", str(mp4),
    )  # fmt: skip
    result = engine.compare(engine.fingerprint(wav), engine.fingerprint(mp4))
    assert 2.0**result.raw_score - 1.0 > 30  # evidence behind raw_score = log2(1 + evidence)
    assert result.details["segments"][0]["offset_s"] == pytest.approx(0.0, abs=0.06)


def test_video_without_audio_is_refused(tmp_path: Path) -> None:
    mp4 = tmp_path / "silent.mp4"
    run_ffmpeg_cli("-f", "lavfi", "-i", "testsrc=s=160x120:r=10:d=2", "-c:v", "libx264", str(mp4))
    with pytest.raises(UnsupportedMedia, match="no audio track"):
        AudioEngine().fingerprint(mp4)


def test_garbage_is_unsupported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF" + bytes(range(256)) * 10)
    with pytest.raises(UnsupportedMedia):
        decode_mono(bad, 8000, CAP5)
