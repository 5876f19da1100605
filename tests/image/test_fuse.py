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


def test_chance_inliers_grow_with_the_matches_that_survive():
    """Pages of text in one font: many ratio-test survivors (glyphs repeat), a few percent of them on
    one translation by chance — evidence only beyond that share."""
    assert fuse.chance_inliers(Verification(inliers=20, matches=40)) == fuse.CHANCE_INLIERS
    assert fuse.chance_inliers(Verification(inliers=20, matches=168)) == pytest.approx(0.135 * 168)
    text_pages = Verification(inliers=20, matches=168, coverage_source=0.03, coverage_target=0.03)  # share 0.119
    copy = Verification(inliers=20, matches=118, coverage_source=0.3, coverage_target=0.3)  # share 0.17
    assert fuse.geometry_score(text_pages) == 0.0 < fuse.geometry_score(copy)
    # monotone: more inliers at the same survivors never score less
    scores = [fuse.geometry_score(Verification(inliers=n, matches=168)) for n in range(0, 60)]
    assert all(b >= a for a, b in zip(scores, scores[1:], strict=False))


def _page(text: str, size: int = 22) -> Image.Image:
    from PIL import ImageDraw, ImageFont

    font = ImageFont.load_default(size=size)
    im = Image.new("RGB", (640, 480), (245, 245, 240))
    draw = ImageDraw.Draw(im)
    for k, line in enumerate(text.split("\n")):
        draw.text((32, 32 + k * 31), line, fill=(20, 20, 20), font=font)
    return im


PAGE_A = (
    "This license is quite different from the ordinary one;\nThese actions are prohibited by law if you do not\n"
    "accept this License. You may charge any fee you\nchoose for support of this Package. You can do so\n"
    "by permitting redistribution under these terms (or,\nalternatively, under the terms of the ordinary"
)
PAGE_B = (
    "The terms of this License apply to the whole work;\nyou may copy and distribute verbatim copies of the\n"
    "Program's source code as you receive it, in any\nmedium, provided that you conspicuously publish on\n"
    "each copy an appropriate copyright notice under the\nterms of this License and the ordinary disclaimer"
)


def test_two_pages_of_other_text_in_one_font_are_not_a_copy(engine, tmp_path: Path):
    from medialayer.caps import DEFAULT_CAPS

    a, b, crop = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "crop.png"
    _page(PAGE_A).save(a)
    _page(PAGE_B).save(b)
    _page(PAGE_A).crop((0, 0, 520, 260)).save(crop)
    sig = {p: engine.fingerprint(p, DEFAULT_CAPS["image"]) for p in (a, b, crop)}
    assert engine.compare(sig[a], sig[b]).raw_score <= 0.0  # below both floors: no evidence
    assert engine.compare(sig[a], sig[crop]).raw_score > 0.5  # a crop of the page still is one
