"""Hard-negative image corpus of the null bench: pictures that are not copies of each other but look alike.

``build_corpus(data_dir, cache_dir, seed, quick) -> list[Clip]``; derived files are JPEG (quality 92) or
PNG under ``cache_dir`` (``bench/.cache/negatives/image/``), deterministic from the seed.

Kinds (pair labels; see :mod:`bench.negatives.types`):

``same_category``
    every original of ``<data>/images``, grouped by data set: Urban100 buildings, Sun80 scenes, BSD68 and
    Set5/Set14 photos, UKBench objects (10 different objects: no two views of one object here).
``same_photo_set``
    the 24 Kodak PhotoCD PCD0992 photographs (one photographer's set).
``same_dataset``
    the mixed imageio and PDQ test images.
``disjoint_halves``
    for a seeded fifth of the originals, the left and right halves (top and bottom for portrait
    pictures) with a 4 % strip between them cut out: one photo, one camera, one light, no shared pixel
    (``pair_within_source=True``; a half is never paired with its own whole photo). Halves of different
    photos of one data set pair as ``same_category`` etc.
``uniform``
    flat colours with and without sensor-like noise, black, white, linear and radial gradients.
``text``
    paragraphs of different texts (:mod:`bench.negatives.texts`) rendered with Pillow's bundled default
    font (Aileron, ``ImageFont.load_default(size=...)``) in one layout.

Halves: a derived image's top-level original is its photo (halves) or its own synthetic id, so every
file derived from one photo falls in that photo's half.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from bench.common import cached_file, rng_for
from bench.negatives import texts as texts_mod
from bench.negatives.types import Clip

VERSION = 1
IMAGE_EXTS = (".jpg", ".jpeg", ".png")
HALVES_SHARE = 0.2
GAP_SHARE = 0.04
N_UNIFORM = 30
N_TEXT = 30
#: data-set prefix -> kind of pairs within the set (default ``same_category``)
SET_KINDS = {"kodak": "same_photo_set", "imageio": "same_dataset", "pdq": "same_dataset", "set5": "same_category"}
#: Set5 and Set14 are one benchmark family (both super-resolution test sets)
SET_GROUPS = {"set5": "dataset:set5_set14", "set14": "dataset:set5_set14"}


def _prefix(stem: str) -> str:
    return stem.rsplit("_", 1)[0]


class _Builder:
    def __init__(self, data_dir: Path, cache_dir: Path, seed: int, quick: bool) -> None:
        self.image_dir = Path(data_dir) / "images"
        self.cache = Path(cache_dir)
        self.seed = seed
        self.quick = quick

    def file(self, key: str, suffix: str, make: Callable[[Path], None]) -> Path:
        return cached_file(self.cache, f"v{VERSION}-s{self.seed}-{key}", suffix, make)

    def originals(self) -> list[Path]:
        files = sorted(p for p in self.image_dir.glob("*") if p.suffix.lower() in IMAGE_EXTS)
        if self.quick:  # a few per data set
            by_set: dict[str, list[Path]] = {}
            for p in files:
                by_set.setdefault(_prefix(p.stem), []).append(p)
            files = [p for members in by_set.values() for p in members[:6]]
        return files

    def photos(self) -> list[Clip]:
        clips: list[Clip] = []
        for src in self.originals():
            prefix = _prefix(src.stem)
            group = SET_GROUPS.get(prefix, f"dataset:{prefix}")
            kind = SET_KINDS.get(prefix, "same_category")
            clips.append(Clip(src, f"photo/{src.stem}", src.stem, group, kind))
            share = 0.5 if self.quick else HALVES_SHARE
            if rng_for(self.seed, "image-halves", src.stem).random() < share:
                for side in (0, 1):
                    path = self.file(f"half-{src.stem}-{side}", ".jpg", lambda p, s=src, k=side: _half(s, k, p))
                    clips.append(
                        Clip(
                            path,
                            f"half/{src.stem}/{side}",
                            src.stem,
                            group,
                            kind,
                            True,
                            extra_groups=((f"photo:{src.stem}", "disjoint_halves"),),
                        )
                    )
        return clips

    def uniform(self) -> list[Clip]:
        n = 8 if self.quick else N_UNIFORM
        styles = ("flat", "flat_noise", "linear", "radial", "black", "white", "flat_noise", "linear")
        clips = []
        for k in range(n):
            style = styles[k % len(styles)]
            key = f"uniform-{style}-{k:02d}"
            rng = rng_for(self.seed, key)
            path = self.file(key, ".png", lambda p, st=style, r=rng: _uniform(st, r).save(p, compress_level=1))
            clips.append(Clip(path, f"uniform/{style}/{k:02d}", key, "synthetic:uniform", "uniform"))
        return clips

    def text(self) -> list[Clip]:
        n = 8 if self.quick else N_TEXT
        clips = []
        for k, body in enumerate(texts_mod.texts(self.seed + 1, n, min_words=40, max_words=70)):
            key = f"text-{k:02d}"
            rng = rng_for(self.seed, key)
            path = self.file(key, ".png", lambda p, b=body, r=rng: _text_image(b, r).save(p, compress_level=1))
            clips.append(Clip(path, f"text/{k:02d}", key, "synthetic:text", "text"))
        return clips

    def build(self) -> list[Clip]:
        return self.photos() + self.uniform() + self.text()


def _half(src: Path, side: int, out: Path) -> None:
    """Left/right (or top/bottom for portrait) half of ``src``, without the middle ``GAP_SHARE`` strip."""
    with Image.open(src) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
    w, h = im.size
    if w >= h:
        cut, gap = w // 2, int(w * GAP_SHARE / 2)
        box = (0, 0, cut - gap, h) if side == 0 else (cut + gap, 0, w, h)
    else:
        cut, gap = h // 2, int(h * GAP_SHARE / 2)
        box = (0, 0, w, cut - gap) if side == 0 else (0, cut + gap, w, h)
    im.crop(box).save(out, quality=92)


def _uniform(style: str, rng: np.random.Generator) -> Image.Image:
    w, h = [(640, 480), (480, 640), (800, 600), (512, 512)][int(rng.integers(4))]
    c1 = rng.uniform(0, 255, 3)
    c2 = rng.uniform(0, 255, 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if style == "black":
        arr = np.zeros((h, w, 3)) + rng.uniform(0, 6)
    elif style == "white":
        arr = np.full((h, w, 3), 255.0) - rng.uniform(0, 6)
    elif style in ("flat", "flat_noise"):
        arr = np.broadcast_to(c1, (h, w, 3)).astype(float)
    elif style == "linear":
        ang = rng.uniform(0, 2 * np.pi)
        t = (xx * np.cos(ang) + yy * np.sin(ang)).astype(float)
        t = (t - t.min()) / max(float(np.ptp(t)), 1.0)
        arr = c1 * (1 - t[..., None]) + c2 * t[..., None]
    else:  # radial
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        t = np.hypot(xx - cx, yy - cy)
        t = (t / max(float(t.max()), 1.0))[..., None]
        arr = c1 * (1 - t) + c2 * t
    if style == "flat_noise" or rng.random() < 0.3:
        arr = arr + rng.normal(0, float(rng.uniform(1.0, 8.0)), arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def _text_image(body: str, rng: np.random.Generator) -> Image.Image:
    """One paragraph in the bundled default font, one layout for all (640 x 480, dark on light)."""
    w, h = 640, 480
    size = int(rng.choice([20, 22, 24]))
    font = ImageFont.load_default(size=size)
    bg = tuple(int(v) for v in rng.uniform(235, 255, 3))
    im = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(im)
    margin, y = 32, 32
    line = ""
    for word in body.split():
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) > w - 2 * margin and line:
            draw.text((margin, y), line, fill=(20, 20, 20), font=font)
            y += int(size * 1.4)
            line = word
            if y > h - margin - size:
                break
        else:
            line = trial
    if line and y <= h - margin - size:
        draw.text((margin, y), line, fill=(20, 20, 20), font=font)
    return im


def build_corpus(data_dir: Path, cache_dir: Path, seed: int, quick: bool) -> list[Clip]:
    """The image clips (module doc); ``quick`` keeps a few per data set."""
    return _Builder(data_dir, cache_dir, seed, quick).build()
