"""The engine on real photos from ../shared/data, with the fitted calibration (through the pipeline).

Edits are made here in ``tmp_path`` with Pillow, independent of the benchmark's own transforms.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from image_match.engine import ImageEngine
from medialayer.pipeline import compare_paths

pytestmark = pytest.mark.realdata

PHOTOS = ["kodak_005.jpg", "urban100_010.jpg", "sun80_020.jpg", "bsd68_030.jpg"]


def _rgb(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


def _edit(name: str, image: Image.Image, other: Image.Image) -> Image.Image:
    w, h = image.size
    if name == "identical":
        return image
    if name == "reencoded":
        return image.resize((w // 2, h // 2))
    if name == "cropped":
        return image.crop((int(w * 0.2), int(h * 0.15), int(w * 0.85), int(h * 0.8)))
    if name == "rotated":
        return image.rotate(10, resample=Image.Resampling.BILINEAR, expand=True)
    if name == "mirrored":
        return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if name == "mirrored_crop":
        return image.crop((0, 0, int(w * 0.7), int(h * 0.75))).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if name == "overlaid":
        out = image.copy()
        draw = ImageDraw.Draw(out)
        draw.rectangle((int(w * 0.05), int(h * 0.7), int(w * 0.6), int(h * 0.9)), fill=(240, 20, 20))
        draw.text((int(w * 0.1), int(h * 0.1)), "WATERMARK " * 3, fill=(255, 255, 255))
        return out
    if name == "bordered":
        canvas = Image.new("RGB", (w + 160, h + 90), (30, 140, 60))
        canvas.paste(image, (80, 45))
        return canvas
    if name == "picture_in_picture":
        canvas = other.resize((1024, 768))
        canvas.paste(image.resize((512, round(512 * h / w))), (400, 150))
        return canvas
    raise ValueError(name)


EDITS = [
    "identical",
    "reencoded",
    "cropped",
    "rotated",
    "mirrored",
    "mirrored_crop",
    "overlaid",
    "bordered",
    "picture_in_picture",
]


@pytest.fixture(scope="module")
def engine() -> ImageEngine:
    return ImageEngine()


@pytest.mark.parametrize("photo", PHOTOS)
@pytest.mark.parametrize("edit", EDITS)
def test_edited_copies_match(engine, real_images, tmp_path, photo, edit):
    source = real_images / photo
    other = _rgb(real_images / "sun80_001.jpg")
    target = tmp_path / f"{edit}.jpg"
    _edit(edit, _rgb(source), other).save(target, quality=75)
    outcome = compare_paths(engine, source, target, details=True)
    assert outcome.match, (edit, outcome.raw_score, outcome.details.get("geometry"))
    assert outcome.similarity_score >= 0.5


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("kodak_005.jpg", "kodak_006.jpg"),
        ("urban100_010.jpg", "urban100_011.jpg"),
        ("sun80_020.jpg", "sun80_021.jpg"),
        ("imageio_010.jpg", "imageio_011.jpg"),
        ("set14_005.jpg", "bsd68_030.jpg"),
    ],
)
def test_different_photos_do_not_match(engine, real_images, a, b):
    outcome = compare_paths(engine, real_images / a, real_images / b, details=True)
    assert not outcome.match
    assert outcome.similarity_score < 0.5


def test_relation_of_a_real_crop(engine, real_images, tmp_path):
    source = real_images / "urban100_010.jpg"
    image = _rgb(source)
    w, h = image.size
    box = (int(w * 0.3), int(h * 0.2), int(w * 0.9), int(h * 0.85))
    target = tmp_path / "crop.jpg"
    image.crop(box).save(target, quality=80)
    outcome = compare_paths(engine, source, target, details=True)
    relation = outcome.details["relation"]
    assert np.allclose(relation["crop_box"], box, atol=0.02 * w)
    assert relation["mirrored"] is False
    assert abs(relation["rotation_deg"]) < 1.0
    assert relation["scale"] == pytest.approx(1.0, abs=0.05)
