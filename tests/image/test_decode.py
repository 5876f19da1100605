"""Decoding: every accepted format, EXIF orientation, alpha, colour modes, bombs and broken files.

All inputs are generated in ``tmp_path``; no data folder needed.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from image_match.engine.decode import decode
from medialayer.caps import MediaCaps
from medialayer.errors import FileTooLarge, UnsupportedMedia
from tests.image.conftest import synthetic_image

FORMATS = [
    ("jpeg", "JPEG", {"quality": 90}),
    ("png", "PNG", {}),
    ("webp", "WEBP", {"quality": 90}),
    ("gif", "GIF", {}),
    ("bmp", "BMP", {}),
    ("tiff", "TIFF", {}),
    ("heic", "HEIF", {"quality": 90}),
    ("avif", "AVIF", {"quality": 90}),
]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ref") / "reference.png"
    synthetic_image(1).save(path)
    return path


@pytest.mark.parametrize(("suffix", "fmt", "options"), FORMATS, ids=[f[0] for f in FORMATS])
def test_each_format_decodes_and_matches_the_png(engine, reference, tmp_path, suffix, fmt, options):
    if fmt == "HEIF":
        pytest.importorskip("pillow_heif")
    path = tmp_path / f"image.{suffix}"
    synthetic_image(1).save(path, fmt, **options)
    sig = engine.fingerprint(path)
    assert sig.fmt == fmt
    assert (sig.width, sig.height) == (640, 480)
    assert max(sig.gray.shape) == 640
    comparison = engine.compare(engine.fingerprint(reference), sig)
    # the same picture in another container: the hash alone sees it (GIF's palette costs a few bits)
    assert comparison.details["hash"]["distance"] <= 20
    json.dumps(comparison.details)


def test_animated_gif_compares_its_first_frame(engine, tmp_path):
    frames = [synthetic_image(1), synthetic_image(2), synthetic_image(3)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    sig = engine.fingerprint(path)
    assert sig.frames == 3
    assert any("first frame" in note for note in sig.notes)
    first = tmp_path / "first.png"
    frames[0].save(first)
    second = tmp_path / "second.png"
    frames[1].save(second)
    first_cmp = engine.compare(engine.fingerprint(first), sig)
    second_cmp = engine.compare(engine.fingerprint(second), sig)
    assert first_cmp.details["target"]["first_frame_only"] is True
    assert first_cmp.raw_score > second_cmp.raw_score + 0.3


def test_exif_orientation_is_applied(engine, tmp_path):
    upright = synthetic_image(4)
    upright_path = tmp_path / "upright.jpg"
    upright.save(upright_path, quality=92)
    # store the pixels rotated and tag orientation 6 ("rotate 90° CW to display"): the viewer sees upright
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    tagged = tmp_path / "tagged.jpg"
    stored.save(tagged, quality=92, exif=exif)
    sig = engine.fingerprint(tagged)
    assert (sig.width, sig.height) == (640, 480)
    assert any("EXIF orientation 6" in note for note in sig.notes)
    comparison = engine.compare(engine.fingerprint(upright_path), sig)
    assert comparison.details["hash"]["distance"] <= 10
    assert comparison.details["hash"]["variant"] == "identity"


def test_alpha_is_composited_onto_white(tmp_path):
    rgb = np.asarray(synthetic_image(5)).copy()
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[:, :200] = 0  # left part fully transparent
    rgba_path = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(rgba_path)
    flat = rgb.copy()
    flat[:, :200] = 255
    flat_path = tmp_path / "flat.png"
    Image.fromarray(flat).save(flat_path)
    a, b = decode(rgba_path), decode(flat_path)
    assert np.abs(a.gray.astype(int) - b.gray.astype(int)).max() <= 1


@pytest.mark.parametrize("mode", ["L", "P", "LA", "1", "I;16", "CMYK", "RGBA"])
def test_colour_modes_normalise_to_8_bit_luminance(tmp_path, mode):
    if mode == "I;16":
        image = Image.fromarray(np.asarray(synthetic_image(6).convert("L"), np.uint16) * 257)
        assert image.mode.startswith("I;16")
    else:
        image = synthetic_image(6).convert(mode)
    suffix = "jpg" if mode == "CMYK" else "png"
    path = tmp_path / f"mode.{suffix}"
    image.save(path)
    decoded = decode(path)
    assert decoded.gray.dtype == np.uint8
    assert decoded.gray.ndim == 2
    assert decoded.gray.std() > 10  # real content survived the conversion


def test_pixel_cap_refuses_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    Image.new("L", (2000, 2000), 128).save(path)
    with pytest.raises(FileTooLarge):
        decode(path, MediaCaps(max_bytes=10**9, max_pixels=1_000_000))


def test_decompression_bomb_is_refused(tmp_path):
    # 12,000 x 12,000 one-bit pixels compress to a tiny file but would need 144 MP once decoded
    path = tmp_path / "bomb.png"
    Image.new("1", (12_000, 12_000), 0).save(path, optimize=True)
    assert path.stat().st_size < 100_000
    with pytest.raises(FileTooLarge):
        decode(path)


def test_truncated_file_is_unsupported(tmp_path):
    whole = tmp_path / "whole.jpg"
    synthetic_image(7).save(whole, quality=90)
    data = whole.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnsupportedMedia):
        decode(cut)


@pytest.mark.parametrize("payload", [b"", b"not an image at all" * 10, b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_garbage_is_unsupported(tmp_path, payload):
    path = tmp_path / "garbage.bin"
    path.write_bytes(payload)
    with pytest.raises(UnsupportedMedia):
        decode(path)


def test_tiny_images_are_refused(tmp_path):
    path = tmp_path / "tiny.png"
    Image.new("RGB", (4, 4), (1, 2, 3)).save(path)
    with pytest.raises(UnsupportedMedia):
        decode(path)


def test_signature_pickles_and_compare_is_pure(engine, tmp_path):
    path_a, path_b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    synthetic_image(8).save(path_a, quality=90)
    synthetic_image(8).crop((50, 40, 500, 400)).save(path_b, quality=70)
    a, b = engine.fingerprint(path_a), engine.fingerprint(path_b)
    a2, b2 = pickle.loads(pickle.dumps(a)), pickle.loads(pickle.dumps(b))
    first, second = engine.compare(a, b), engine.compare(a2, b2)
    assert first.raw_score == pytest.approx(second.raw_score)
    assert first.details == second.details


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_pillow_bomb_limit_holds_even_under_looser_caps(tmp_path):
    # 64 MP: above Pillow's lowered MAX_IMAGE_PIXELS (50 MP) but under these caps: still refused
    path = tmp_path / "warn.png"
    Image.new("1", (8_000, 8_000), 0).save(path, optimize=True)
    with pytest.raises(FileTooLarge):
        decode(path, MediaCaps(max_bytes=10**9, max_pixels=200_000_000))
