"""Audio engine on real recordings from the shared data folder (skipped when it is absent)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from audio_match.engine import AudioEngine
from audio_match.engine.decode import decode_mono
from medialayer.ffmpeg import ffmpeg_exe
from medialayer.verdict import decide

pytestmark = pytest.mark.realdata
SR = AudioEngine.sample_rate


def _load(audio_dir: Path, name: str) -> np.ndarray:
    return decode_mono(audio_dir / f"{name}.ogg", SR, None)


def test_excerpt_in_other_music_found_within_100ms(engine: AudioEngine, audio_dir: Path) -> None:
    src = _load(audio_dir, "librosa_brahms_hungarian_dance5")
    host = _load(audio_dir, "howler_foolboymedia_80s_vibe")
    s0, length, at = 21.3, 8.0, 13.7
    excerpt = src[int(s0 * SR) : int(s0 * SR) + int(length * SR)]
    target = np.concatenate([host[: int(at * SR)], excerpt, host[int(at * SR) : int(40 * SR)]])
    result = engine.compare(engine.fingerprint_samples(src, SR), engine.fingerprint_samples(target, SR))
    assert len(result.segments) >= 1
    seg = result.segments[0]
    assert seg.source_start == pytest.approx(s0, abs=0.35)
    assert seg.target_start == pytest.approx(at, abs=0.35)
    assert seg.source_end == pytest.approx(s0 + length, abs=0.35)
    assert (seg.target_start - seg.source_start) == pytest.approx(at - s0, abs=0.1)


def test_sped_up_copy_reports_its_speed(engine: AudioEngine, audio_dir: Path) -> None:
    src = _load(audio_dir, "librosa_pistachio_ragtime")[: 60 * SR]
    fast = resample_poly(src, 100, 105).astype(np.float32)  # 5 % faster, pitch up
    result = engine.compare(engine.fingerprint_samples(src, SR), engine.fingerprint_samples(fast, SR))
    assert result.details["segments"][0]["speed"] == pytest.approx(1.05, abs=0.005)
    assert result.segments[0].target_end == pytest.approx(result.segments[0].source_end / 1.05, abs=0.5)


def test_different_pieces_do_not_match(engine: AudioEngine, audio_dir: Path) -> None:
    a = engine.fingerprint(audio_dir / "librosa_macleod_sugar_plum_fairy.ogg")
    b = engine.fingerprint(audio_dir / "librosa_macleod_vibe_ace.ogg")  # same composer
    c = engine.fingerprint(audio_dir / "ljspeech_linda_johnson_01.ogg")
    d = engine.fingerprint(audio_dir / "ljspeech_linda_johnson_02.ogg")  # same speaker
    for x, y in ((a, b), (c, d)):
        result = engine.compare(x, y)
        assert decide(result, engine.calibration(), with_segments=True).segments == []
        assert engine.calibration().score(result.raw_score) < 0.5


def test_file_matches_itself_with_a_full_segment(engine: AudioEngine, audio_dir: Path) -> None:
    path = audio_dir / "ljspeech_linda_johnson_01.ogg"
    sig = engine.fingerprint(path)
    result = engine.compare(sig, sig)
    assert engine.calibration().score(result.raw_score) >= 0.8
    seg = result.segments[0]
    assert seg.source_start < 1.0 and seg.source_end > sig.duration_s - 1.5


def test_short_excerpt_in_noise_through_a_codec_is_found(engine: AudioEngine, audio_dir: Path, tmp_path: Path) -> None:
    """6 s of a recording inside another one, noise at SNR 3 dB, MP3 32 kb/s: matched, and the segment
    sits where the excerpt was put."""
    src = _load(audio_dir, "librosa_karissa_hobbs_lets_go_fishin")
    host = _load(audio_dir, "wavesurfer_audio")[: 30 * SR]
    s0, length, at = 17.2, 6.0, 11.5
    target = host.copy()
    target[int(at * SR) : int(at * SR) + int(length * SR)] = src[int(s0 * SR) : int(s0 * SR) + int(length * SR)]
    rng = np.random.default_rng(3)
    noise = rng.standard_normal(target.size).astype(np.float32)
    target = target + noise * np.sqrt(np.mean(target**2) / 10 ** (3 / 10))
    wav, mp3 = tmp_path / "t.wav", tmp_path / "t.mp3"
    sf.write(wav, 0.5 * target / np.abs(target).max(), SR)
    subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-i", str(wav), "-c:a", "libmp3lame", "-b:a", "32k", str(mp3)],
        check=True,
    )
    result = engine.compare(engine.fingerprint_samples(src, SR), engine.fingerprint(mp3))
    assert engine.calibration().score(result.raw_score) >= 0.5
    seg = result.segments[0]
    assert (seg.target_start - seg.source_start) == pytest.approx(at - s0, abs=0.1)
    assert seg.source_start == pytest.approx(s0, abs=1.0) and seg.source_end == pytest.approx(s0 + length, abs=1.0)
