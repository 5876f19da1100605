"""The null bench's hard-negative video corpus (bench/negatives/video_corpus.py).

A tiny fake data folder (PNG photos, lavfi videos, noise WAVs) is built into a quick corpus twice: same
seed, same clip ids and byte-identical files; every clip belongs to one half with all its originals; no
photo serves two clips; windows of one video or speech file are disjoint. A real-data smoke builds the
quick corpus from ../shared/data (cached in bench/.cache after the first run).
"""

from __future__ import annotations

import io
import re
import subprocess
import wave
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.common import DEFAULT_SEED, cache_root, data_dir, file_sha256, split_of
from bench.decode_floor import ffmpeg_exe
from bench.negatives import video_corpus as vc
from bench.negatives.types import clip_split

SEED = 7


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *args], check=True, capture_output=True)


def _wav(path: Path, seconds: float, seed: int, speech: bool = False) -> None:
    rng = np.random.default_rng(seed)
    rate = 8000
    t = np.arange(int(seconds * rate)) / rate
    tone = np.sin(2 * np.pi * rng.uniform(200, 800) * t * (1 + 0.3 * np.sin(2 * np.pi * 0.2 * t)))
    env = (np.sin(2 * np.pi * (3.0 if speech else 1.0) * t) > 0).astype(float)  # syllable-like bursts
    x = 0.3 * tone * env + 0.05 * rng.standard_normal(len(t))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
    path.write_bytes(buf.getvalue())


@pytest.fixture(scope="module")
def fake_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("video_corpus_data")
    (root / "images").mkdir()
    rng = np.random.default_rng(0)
    for k in range(20):
        img = rng.integers(0, 255, size=(4, 6, 3), dtype=np.uint8)
        Image.fromarray(img).resize((192, 128), Image.BICUBIC).save(root / "images" / f"photo_{k:02d}.png")
    (root / "video").mkdir()
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x90:r=10:d=30", "-pix_fmt", "yuv420p", str(root / "video/cam.mp4"))
    _ffmpeg("-f", "lavfi", "-i", "testsrc=s=160x90:r=10:d=9", "-pix_fmt", "yuv420p", str(root / "video/short.mp4"))
    (root / "audio").mkdir()
    for k in range(4):
        _wav(root / "audio" / f"howler_foolboymedia_t{k}.wav", 20.0, k)
    for k in range(2):
        _wav(root / "audio" / f"silero_talk{k}.wav", 40.0, 10 + k, speech=True)
    return root


def test_quick_corpus_is_deterministic_and_split_by_original(fake_media: Path, tmp_path: Path):
    first = vc.build_corpus_detailed(fake_media, tmp_path / "a", SEED, quick=True)
    second = vc.build_corpus_detailed(fake_media, tmp_path / "b", SEED, quick=True)
    assert [c.clip_id for c, _ in first] == [c.clip_id for c, _ in second]
    assert [file_sha256(c.path) for c, _ in first] == [file_sha256(c.path) for c, _ in second]
    assert first[0][0].path.parent != second[0][0].path.parent

    clips = [c for c, _ in first]
    assert len({c.clip_id for c in clips}) == len(clips)
    assert len({c.path for c in clips}) == len(clips)
    halves = Counter(p.half for _, p in first)
    assert set(halves) == {"calib", "report"}
    kinds = {k for c in clips for _, k in c.memberships()}
    assert {vc.SAME_MOTION, vc.ANY_MOTION, vc.BLACK_UNIFORM, vc.OTHER_TAKE, "unrelated"} <= kinds

    photo_use: Counter[str] = Counter()
    audio_windows: dict[str, list[tuple[float, float]]] = defaultdict(list)
    video_windows: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for clip, prov in first:
        # One half per clip, and every original it is made of lies in that half.
        assert clip.clip_id.startswith(prov.half + "/")
        assert clip_split(clip, SEED) == prov.half == vc.clip_half(clip, SEED)
        originals = [*prov.photos]
        originals += [prov.audio[0]] if prov.audio else []
        originals += [prov.video[0]] if prov.video else []  # no manifest: a video's group is its stem
        assert all(split_of(o, SEED) == prov.half for o in originals), (clip.clip_id, originals)
        photo_use.update(prov.photos)
        if prov.audio:
            audio_windows[prov.audio[0]].append(prov.audio[1:])
        if prov.video:
            video_windows[prov.video[0]].append(prov.video[1:])
        if clip.group == vc.STILLS:
            assert len(prov.photos) == 4 and len(set(prov.photos)) == 4
    assert photo_use and max(photo_use.values()) == 1, "a photo serves two clips"

    # Music files serve one clip; speech windows of one file are disjoint, >= 3 s apart.
    for stem, windows in audio_windows.items():
        if not stem.startswith("silero"):
            assert len(windows) == 1, stem
        spans = sorted(windows)
        assert all(a[0] + a[1] + 3.0 <= b[0] for a, b in zip(spans, spans[1:], strict=False)), (stem, spans)

    # The long fake camera gives disjoint windows >= 2 s apart; they pair within the source.
    cam = sorted(video_windows["cam"])
    assert len(cam) == 2
    assert cam[0][0] + cam[0][1] + 2.0 <= cam[1][0]
    takes = [c for c in clips if c.kind == "other_take"]
    assert len(takes) == 2 and all(c.pair_within_source and c.source_id == "cam" for c in takes)
    assert [c.kind for c in clips if c.source_id == "short"] == ["unrelated"]

    # Clips are short, small H.264 MP4s.
    for clip in clips:
        dur, size = _probe_video(clip.path)
        assert vc.MIN_CLIP - 0.2 <= dur <= vc.MAX_CLIP + 0.2, (clip.clip_id, dur)
        assert size[0] <= vc.W and size[1] == vc.H, (clip.clip_id, size)


def _probe_video(path: Path) -> tuple[float, tuple[int, int]]:
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, check=False)
    text = proc.stderr.decode(errors="replace")
    h, m, s = text.split("Duration: ", 1)[1].split(",", 1)[0].split(":")
    w, hh = re.search(r", (\d+)x(\d+)", next(li for li in text.splitlines() if "Video: h264" in li)).groups()
    return int(h) * 3600 + int(m) * 60 + float(s), (int(w), int(hh))


def test_repeat_guard_refuses_a_looped_window():
    rng = np.random.default_rng(3)
    loop = rng.standard_normal((int(4 * vc._FRAMES_PER_S), 32)).astype(np.float32)
    looped = np.concatenate([loop] * 8)  # 32 s of one 4 s pattern
    fresh = rng.standard_normal(looped.shape).astype(np.float32)
    assert vc.repeat_score(looped, (0.0, 10.0), (14.0, 10.0)) > 0.99
    assert vc.repeat_score(np.concatenate([looped, fresh]), (0.0, 10.0), (40.0, 10.0)) < vc.REPEAT_CORR


def test_audio_labels():
    assert vc.audio_label("howler_foolboymedia_80s_vibe") == "artist:foolboymedia"
    assert vc.audio_label("mdn_macleod_outfoxing_the_fox") == vc.audio_label("librosa_macleod_vibe_ace")
    assert vc.audio_label("something_else") == "genre:other"


@pytest.mark.realdata
def test_realdata_quick_corpus():
    folder = data_dir()
    if folder is None:
        pytest.skip("no ../shared/data")
    detailed = vc.build_corpus_detailed(folder, cache_root() / "negatives" / "video", DEFAULT_SEED, quick=True)
    per_half = Counter(p.half for _, p in detailed)
    assert per_half["calib"] >= 10 and per_half["report"] >= 10, per_half
    kinds = Counter(k for c, _ in detailed for _, k in c.memberships())
    assert {vc.SAME_MOTION, vc.ANY_MOTION, vc.SAME_GENRE, vc.BLACK_UNIFORM, vc.OTHER_TAKE} <= set(kinds), kinds
    for clip, prov in detailed:
        assert clip.path.is_file() and clip.path.stat().st_size > 0
        assert clip_split(clip, DEFAULT_SEED) == prov.half
        if prov.video:
            assert not prov.video[0].startswith("tmk_chair") or prov.video[0] == "tmk_chair_orig_22_sd"
