"""The video engine on synthetic clips (ffmpeg lavfi sources): no data folder, no calibration needed.

These check the engine's own claims — alignment, segments, speed, mirror and border handling, blank
video — on raw scores and segments.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from medialayer.caps import DEFAULT_CAPS
from tests.video.conftest import run_ffmpeg_cli
from video_match.engine import VideoEngine, VideoSignature

CAPS = DEFAULT_CAPS["video"]


@pytest.fixture
def engine() -> VideoEngine:
    return VideoEngine(use_audio=False)


@pytest.fixture
def source(make_clip) -> Path:
    return make_clip("source", source="mandelbrot", seconds=12)


def _sig(engine: VideoEngine, path: Path) -> VideoSignature:
    return engine.fingerprint(path, CAPS)


def test_identical_copy_aligns_end_to_end(engine, source) -> None:
    a = _sig(engine, source)
    result = engine.compare(a, a)
    assert result.raw_score > 0.9  # 12 s: six 2 s blocks of agreeing change, all of them decisive
    seg = result.segments[0]
    assert seg.source_start == pytest.approx(0.0, abs=0.3)
    assert seg.source_end == pytest.approx(12.0, abs=0.5)
    assert seg.target_start == pytest.approx(seg.source_start, abs=0.3)
    assert result.details["speed"] == pytest.approx(1.0, abs=0.03)


def test_mirror_and_letterbox_copies_match_better_than_other_content(engine, source, make_clip) -> None:
    mirrored = make_clip("mirrored", source="mandelbrot", seconds=12, vf="hflip")
    boxed = make_clip("boxed", source="mandelbrot", seconds=12, vf="pad=iw:ih*1.5:0:(oh-ih)/2:black")
    other = make_clip("other", source="life=mold=10:ratio=0.5:seed=7", seconds=12)
    a = _sig(engine, source)
    m = engine.compare(a, _sig(engine, mirrored))
    b = engine.compare(a, _sig(engine, boxed))
    o = engine.compare(a, _sig(engine, other))
    assert m.details["mirrored"] is True
    assert b.details["mirrored"] is False
    assert min(m.raw_score, b.raw_score) > 0.9
    assert o.raw_score < min(m.raw_score, b.raw_score) - 0.2


def test_letterbox_bars_are_removed(engine, make_clip) -> None:
    boxed = make_clip("boxed", source="mandelbrot", seconds=4, vf="pad=iw:ih*1.5:0:(oh-ih)/2:black")
    top, bottom, left, right = _sig(engine, boxed).content_box
    # bars are 1/6 of the height each: 16 of the 96 thumbnail rows
    assert 14 <= top <= 19 and 77 <= bottom <= 82
    assert (left, right) == (0, 96)


def test_excerpt_inside_other_video_is_located(engine, source, tmp_path) -> None:
    target = tmp_path / "target.mp4"
    fill = "life=s=320x240:r=25:mold=10:ratio=0.5:seed={}"
    run_ffmpeg_cli(
        *("-f", "lavfi", "-t", "4", "-i", fill.format(1)),
        *("-ss", "3", "-t", "6", "-i", str(source)),
        *("-f", "lavfi", "-t", "4", "-i", fill.format(2)),
        "-filter_complex",
        "[0:v]format=yuv420p,setsar=1[a];[1:v]format=yuv420p,setsar=1[b];[2:v]format=yuv420p,setsar=1[c];"
        "[a][b][c]concat=n=3:v=1:a=0[v]",
        *("-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", str(target)),
    )
    result = engine.compare(_sig(engine, source), _sig(engine, target))
    seg = result.segments[0]
    assert seg.source_start == pytest.approx(3.0, abs=0.5)
    assert seg.source_end == pytest.approx(9.0, abs=0.5)
    assert seg.target_start == pytest.approx(4.0, abs=0.5)
    assert seg.target_end == pytest.approx(10.0, abs=0.5)


def test_speed_change_is_measured(engine, source, make_clip) -> None:
    fast = make_clip("fast", source="mandelbrot", seconds=12, vf="setpts=PTS/1.25")
    result = engine.compare(_sig(engine, source), _sig(engine, fast))
    assert result.raw_score > 0.8
    assert result.details["speed"] == pytest.approx(1.25, abs=0.05)
    seg = result.segments[0]
    assert seg.target_end - seg.target_start == pytest.approx((seg.source_end - seg.source_start) / 1.25, abs=0.6)


def test_blank_video_matches_nothing(engine, source, make_clip) -> None:
    black = make_clip("black", source="color=c=black", seconds=6)
    grey = make_clip("grey", source="color=c=gray", seconds=6)
    b = _sig(engine, black)
    assert engine.compare(b, _sig(engine, grey)).raw_score == 0.0
    assert engine.compare(b, _sig(engine, source)).raw_score == 0.0
    assert engine.compare(b, b).segments == []


def test_signature_is_small_plain_data(engine, source) -> None:
    sig = _sig(engine, source)
    blob = pickle.dumps(sig)
    assert len(blob) < 200_000  # 24 frames x 19 views x 63 float16
    assert pickle.loads(blob).n_frames == sig.n_frames
    assert all(d.dtype.name == "float16" for d in sig.descriptors.values())
