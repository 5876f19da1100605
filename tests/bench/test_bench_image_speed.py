"""bench.image_speed: camera-size pairs keep the family mix and the scale; the report names every matcher."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from bench.image_speed import MAX_MP, MIN_MP, camera_size_pairs, render
from bench.types import Pair, Verdict


def _photo(path: Path, size: tuple[int, int], seed: int) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path, quality=90)
    return path


def _pairs(tmp_path: Path) -> list[Pair]:
    pairs = []
    for k in range(12):
        family, positive = [("crop", True), ("jpeg", True), ("negative", False)][k % 3]
        src = _photo(tmp_path / f"s{k}.jpg", (400, 300), k)
        tgt = _photo(tmp_path / f"t{k}.jpg", (200, 150), 100 + k)
        split = "report" if k < 9 else "calib"
        pairs.append(Pair(f"p{k}", "image", split, family, positive, src, tgt, f"o{k}"))
    return pairs


def test_camera_size_pairs_sample_each_family_and_scale_both_files_alike(tmp_path: Path):
    out = camera_size_pairs(_pairs(tmp_path), stride=2, seed=7, cache=tmp_path / "cache")
    assert [p.pair_id for p in out] == ["p0", "p6", "p1", "p7", "p2", "p8"]  # every 2nd report pair per family
    for p in out:
        with Image.open(p.source) as s, Image.open(p.target) as t:
            assert MIN_MP * 1e6 * 0.99 <= s.width * s.height <= MAX_MP * 1e6 * 1.01
            assert s.format == t.format == "JPEG"
            assert abs(t.width / s.width - 0.5) < 0.01  # one factor for both files: the edit is kept
    again = camera_size_pairs(_pairs(tmp_path), stride=2, seed=7, cache=tmp_path / "cache")
    assert [p.source for p in again] == [p.source for p in out]


def test_render_reports_each_matcher_and_ratio(tmp_path: Path):
    pairs = camera_size_pairs(_pairs(tmp_path), stride=3, seed=7, cache=tmp_path / "cache")
    verdicts = {
        "medialayer": [Verdict(score=1.0, match=True, seconds=0.020) for _ in pairs],
        "pdq": [Verdict(score=1.0, match=True, seconds=0.060) for _ in pairs],
    }
    md = render(pairs, verdicts, "python -m bench.image_speed", core=0)
    assert "| medialayer | 20 ms | 20 ms |" in md
    assert "| pdq | 60 ms | 60 ms |" in md and "3.00×" in md
    assert "## Median per family" in md
