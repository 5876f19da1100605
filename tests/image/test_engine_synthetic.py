"""The engine on generated images (no data folder): stages, relation details, normalisation, purity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from image_match.engine import ImageEngine
from image_match.engine.global_hash import compute as hash_of
from image_match.engine.global_hash import distance as hash_distance
from image_match.engine.normalise import content_box
from medialayer.engine import Engine
from medialayer.pipeline import compare_paths
from tests.image.conftest import synthetic_image


def _save(image: Image.Image, path: Path, quality: int = 90) -> Path:
    image.convert("RGB").save(path, quality=quality)
    return path


def test_engine_satisfies_the_protocol(engine):
    assert isinstance(engine, Engine)
    assert engine.media_type == "image"
    assert engine.version


def test_uniform_bars_are_trimmed():
    gray = np.asarray(synthetic_image(11).convert("L"))
    padded = np.zeros((gray.shape[0] + 120, gray.shape[1] + 40), np.uint8)
    padded[60:-60, 20:-20] = gray
    box = content_box(padded)
    assert (box.x0, box.y0, box.x1, box.y1) == (20, 60, 20 + gray.shape[1], 60 + gray.shape[0])


def test_near_uniform_image_keeps_its_frame():
    flat = np.full((300, 400), 200, np.uint8)
    box = content_box(flat)
    assert (box.x0, box.y0, box.x1, box.y1) == (0, 0, 400, 300)


def test_letterboxed_copy_hashes_like_the_original(engine, tmp_path):
    image = synthetic_image(12)
    canvas = Image.new("RGB", (image.width + 80, image.height + 200), (0, 0, 0))
    canvas.paste(image, (40, 100))
    a = engine.fingerprint(_save(image, tmp_path / "a.jpg"))
    b = engine.fingerprint(_save(canvas, tmp_path / "b.jpg"))
    assert engine.compare(a, b).details["hash"]["distance"] <= 12


@pytest.mark.parametrize(
    ("op", "name"),
    [
        (Image.Transpose.FLIP_LEFT_RIGHT, "flip_h"),
        (Image.Transpose.FLIP_TOP_BOTTOM, "flip_v"),
        (Image.Transpose.ROTATE_180, "rotate180"),
        (Image.Transpose.ROTATE_270, "rotate90"),  # Pillow's ROTATE_270 turns clockwise
    ],
)
def test_dihedral_variants_are_found_by_the_hash(tmp_path, op, name):
    gray = np.asarray(synthetic_image(13).convert("L"))
    edited = np.asarray(Image.fromarray(gray).transpose(op))
    d, k = hash_distance(hash_of(gray), hash_of(np.ascontiguousarray(edited)))
    assert d == 0
    from image_match.engine.global_hash import DIHEDRAL_NAMES

    assert DIHEDRAL_NAMES[k] == name


def test_crop_is_verified_geometrically_with_its_box(engine, tmp_path):
    image = synthetic_image(14)
    box = (150, 100, 550, 420)  # 400 x 320 of 640 x 480: 42 % of the area
    a = engine.fingerprint(_save(image, tmp_path / "a.jpg"))
    b = engine.fingerprint(_save(image.crop(box), tmp_path / "b.jpg", quality=60))
    comparison = engine.compare(a, b)
    assert comparison.details["stage"] == "geometry"
    assert comparison.details["geometry"]["inliers"] >= 30
    relation = comparison.details["relation"]
    assert relation["mirrored"] is False
    assert np.allclose(relation["crop_box"], box, atol=8)
    assert abs(relation["rotation_deg"]) < 1.0
    assert relation["scale"] == pytest.approx(1.0, abs=0.03)


def test_mirrored_rotated_crop_reports_mirror_and_rotation(engine, tmp_path):
    image = synthetic_image(15)
    edited = image.crop((60, 40, 560, 440)).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    edited = edited.rotate(12, resample=Image.Resampling.BILINEAR, expand=True)
    a = engine.fingerprint(_save(image, tmp_path / "a.jpg"))
    b = engine.fingerprint(_save(edited, tmp_path / "b.jpg"))
    comparison = engine.compare(a, b)
    geometry = comparison.details["geometry"]
    assert geometry["mirrored"] is True
    assert "mirror" in geometry["stages"]
    assert geometry["inliers"] >= 20
    # Pillow rotates counter-clockwise on screen; the relation counts clockwise on screen
    assert comparison.details["relation"]["rotation_deg"] == pytest.approx(-12, abs=1.5)
    assert comparison.details["relation"]["mirrored"] is True


@pytest.mark.parametrize(
    ("op", "rotation", "mirrored"),
    [
        (Image.Transpose.ROTATE_270, 90, False),  # Pillow's ROTATE_270 turns 90° clockwise
        (Image.Transpose.ROTATE_90, -90, False),
        (Image.Transpose.FLIP_LEFT_RIGHT, 0, True),
        (Image.Transpose.FLIP_TOP_BOTTOM, 180, True),
    ],
)
def test_hash_stage_relation_names_the_turn(engine, tmp_path, op, rotation, mirrored):
    image = synthetic_image(23)
    a = engine.fingerprint(_save(image, tmp_path / "a.jpg"))
    b = engine.fingerprint(_save(image.transpose(op), tmp_path / "b.jpg"))
    comparison = engine.compare(a, b)
    assert comparison.details["stage"] == "hash"
    relation = comparison.details["relation"]
    assert (relation["rotation_deg"], relation["mirrored"]) == (rotation, mirrored)
    assert relation["scale"] == pytest.approx(1.0, abs=0.02)


def test_picture_in_picture_is_found(engine, tmp_path):
    inner = synthetic_image(16)
    background = synthetic_image(17, size=(1024, 768))
    background.paste(inner.resize((360, 270)), (500, 300))
    a = engine.fingerprint(_save(inner, tmp_path / "a.jpg"))
    b = engine.fingerprint(_save(background, tmp_path / "b.jpg"))
    comparison = engine.compare(a, b)
    assert comparison.details["geometry"]["inliers"] >= 15
    relation = comparison.details["relation"]
    assert relation["scale"] == pytest.approx(360 / 640, abs=0.03)
    assert relation["crop_box"] == pytest.approx([0, 0, 640, 480], abs=16)
    assert relation["mirrored"] is False


def test_unrelated_images_find_no_geometry(engine, tmp_path):
    a = engine.fingerprint(_save(synthetic_image(18), tmp_path / "a.jpg"))
    b = engine.fingerprint(_save(synthetic_image(19), tmp_path / "b.jpg"))
    comparison = engine.compare(a, b)
    assert comparison.details["geometry"]["inliers"] <= 6
    assert comparison.details["hash"]["distance"] > 60
    assert comparison.details["geometry"]["stages"][:3] == ["direct", "mirror", "inset"]


def test_details_are_json_serialisable(engine, tmp_path):
    image = synthetic_image(20)
    a = engine.fingerprint(_save(image, tmp_path / "a.jpg"))
    b = engine.fingerprint(_save(image.crop((0, 0, 400, 300)), tmp_path / "b.png"))
    json.dumps(engine.compare(a, b).details)


def test_calibrated_verdicts_through_the_pipeline(tmp_path):
    engine = ImageEngine()
    image = synthetic_image(21)
    source = _save(image, tmp_path / "a.jpg")
    copy = _save(image.resize((320, 240)), tmp_path / "copy.jpg", quality=30)
    crop = _save(image.crop((100, 50, 540, 400)), tmp_path / "crop.jpg")
    other = _save(synthetic_image(22), tmp_path / "other.jpg")
    assert compare_paths(engine, source, copy).match
    assert compare_paths(engine, source, crop).match
    outcome = compare_paths(engine, source, other, details=True)
    assert not outcome.match
    assert outcome.similarity_score < 0.5
    assert "hash" in outcome.details
