"""The raw score: decisive channels above their floors, a graded sub-floor term below them (issue 14)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from image_match.engine import fuse
from image_match.engine.local_features import Verification
from tests.image.conftest import synthetic_image

DISTANCES = (0, 40, 63, 64, 70, 90, 100, 110, 116, 128, 140, 256)
QUALITIES = (0.0, 0.5, 1.0, 2.0, 10.0)
MATCHES = (0, 1, 5, 8, 11, 20, 56, 500)
INLIERS = (0, 3, 4, 5, 6, 8, 12, 40)
COVERAGES = (0.0, 0.001, 0.005, 0.2)


def _v(inliers: int, coverage: float = 0.2) -> Verification:
    return Verification(inliers=inliers, matches=max(inliers, 8), coverage_source=coverage, coverage_target=coverage)


def _sub(
    distance: int = 116, quality: float = 10.0, matches: int = 11, inliers: int = 0, coverage: float = 0.2
) -> float:
    return fuse.sub_floor_score(distance, quality, matches, _v(inliers, coverage))


def test_sub_floor_stays_in_its_band_below_the_floor():
    values = [
        _sub(d, q, m, i, c) for d, q, m, i, c in itertools.product(DISTANCES, QUALITIES, MATCHES, INLIERS, COVERAGES)
    ]
    assert min(values) >= -fuse.SUB_FLOOR_SPAN
    assert max(values) < 0.0
    # no evidence at all sits at the bottom of the band; the most evidence approaches the floor
    assert _sub(256, 0.0, 0, 0) == pytest.approx(-fuse.SUB_FLOOR_SPAN)
    assert -1e-4 < _sub(fuse.HASH_NO_EVIDENCE, 10.0, 10**6, 8) < 0.0


def test_sub_floor_is_below_every_above_floor_score():
    weakest_hash = fuse.hash_score(fuse.HASH_NO_EVIDENCE - 1, fuse.MIN_HASH_QUALITY)
    weakest_geometry = fuse.geometry_score(_v(int(fuse.CHANCE_INLIERS) + 1))
    strongest_sub = _sub(fuse.HASH_NO_EVIDENCE, 10.0, 10**6, 40)
    assert strongest_sub < 0.0 < min(weakest_hash, weakest_geometry)
    # the whole band is narrower than one hash bit above the floor
    assert fuse.SUB_FLOOR_SPAN <= weakest_hash
    for h, g in [(1e-9, 0.0), (0.0, 1e-9), (weakest_hash, 0.0), (0.0, weakest_geometry), (0.7, 0.3)]:
        assert fuse.fuse(h, g, strongest_sub) == max(h, g)
    assert fuse.fuse(0.0, 0.0, strongest_sub) == strongest_sub


@pytest.mark.parametrize("quality", [0.5, 2.0, 10.0])
def test_sub_floor_grows_as_the_hash_distance_falls(quality):
    values = [_sub(d, quality) for d in range(256, fuse.HASH_NO_EVIDENCE - 1, -1)]
    assert all(b >= a for a, b in zip(values, values[1:], strict=False))
    # graded between chance and the floor
    assert _sub(100, quality) > _sub(110, quality) > _sub(120, quality)


def test_sub_floor_grows_with_matches_inliers_and_quality():
    for distance, inliers in itertools.product(DISTANCES[3:], INLIERS):
        by_matches = [_sub(distance, 10.0, m, inliers) for m in range(0, 200)]
        assert all(b > a for a, b in zip(by_matches, by_matches[1:], strict=False))
    for distance, matches in itertools.product(DISTANCES[3:], MATCHES):
        by_inliers = [_sub(distance, 10.0, matches, i) for i in range(0, 20)]
        assert all(b >= a for a, b in zip(by_inliers, by_inliers[1:], strict=False))
        assert by_inliers[fuse.MINIMAL_SAMPLE] == by_inliers[0]  # a homography fits 4 points exactly
        assert by_inliers[int(fuse.CHANCE_INLIERS)] > by_inliers[fuse.MINIMAL_SAMPLE + 1] > by_inliers[0]
    for distance in DISTANCES[3:10]:
        by_quality = [_sub(distance, q) for q in np.linspace(0.0, 5.0, 26)]
        assert all(b >= a for a, b in zip(by_quality, by_quality[1:], strict=False))


def test_sliver_inliers_count_half_below_the_floor_too():
    assert _sub(inliers=8, coverage=0.001) < _sub(inliers=8, coverage=0.2)
    assert _sub(inliers=8, coverage=0.001) == pytest.approx(_sub(inliers=4, coverage=0.2))
    assert _sub(inliers=12, coverage=0.001) == pytest.approx(_sub(inliers=6, coverage=0.2))


def test_near_blank_hash_carries_no_sub_floor_evidence():
    # two uniform images agree on every (noise) bit: that is not evidence
    assert _sub(0, 0.0, 0, 0) == pytest.approx(-fuse.SUB_FLOOR_SPAN)


def test_engine_grades_unrelated_pairs_below_the_floor(engine, tmp_path: Path):
    def save(image: Image.Image, name: str) -> Path:
        path = tmp_path / name
        image.convert("RGB").save(path, quality=90)
        return path

    a = engine.fingerprint(save(synthetic_image(18), "a.jpg"))
    b = engine.fingerprint(save(synthetic_image(19), "b.jpg"))
    blank = engine.fingerprint(save(Image.new("RGB", (640, 480), (128, 128, 128)), "blank.jpg"))
    unrelated = engine.compare(a, b)
    assert -fuse.SUB_FLOOR_SPAN <= unrelated.raw_score < 0.0
    assert unrelated.details["stage"] == "none"
    assert unrelated.details["sub_floor_score"] == pytest.approx(unrelated.raw_score, abs=1e-6)
    assert "most_matches" in unrelated.details["geometry"]
    # a blank image against a photo has less chance-level evidence than two textured photos
    assert engine.compare(a, blank).raw_score < unrelated.raw_score
