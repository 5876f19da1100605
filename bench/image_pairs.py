"""Image benchmark pairs: seeded edits of the real photos in ``shared/data/images`` (GUIDE §5).

Positives pair an original (source) with an edited copy (target) from one transform family; the family
names are short and stable because reports group by them:

``jpeg`` q10–30 · ``downscale`` to 20–50 % · ``crop`` to 40–70 % area · ``rotate`` 3–15° · ``rotate90`` ·
``flip`` · ``grayscale`` · ``color`` (brightness/contrast/saturation/gamma) · ``blur`` · ``noise`` ·
``text`` overlay · ``logo`` (emoji) overlay · ``border`` (coloured padding) · ``letterbox`` (black bars
to 16:9 or 9:16) · ``pip`` (picture-in-picture on another photo) · ``stretch`` (aspect 0.6–0.8 or
1.25–1.6) · ``perspective`` · ``chain`` (three edits in a row).

Negatives pair two different originals: ``negative`` (different source sets), ``hard_negative`` (same
set: two Urban100 buildings, two Kodak shots, two Sun80 scenes, the text pages...), ``negative_edit``
(an original against an *edited* other original, so that shared edits - bars, borders, overlays - are
not mistaken for shared content) and ``dark_negative`` (two near-black versions of different originals,
whose hashes are mostly noise).

Everything is deterministic from the seed: the split is by original (``bench.common.split_of``), every
random choice comes from ``bench.common.rng_for(seed, ...)``, and the edited files are written once
into ``cache_dir`` by ``bench.common.cached_file``. AugLy (``augly.image``) provides the overlay,
noise, padding, colour and aspect edits; rotation and perspective use Pillow/OpenCV (AugLy's own
``rotate`` and ``perspective_transform`` break on NumPy 2).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench.common import cached_file, rng_for, split_of
from bench.types import Pair

VERSION = "v1"  # bump when a transform changes, so cached files are rebuilt
FAMILIES: tuple[str, ...] = (
    "jpeg",
    "downscale",
    "crop",
    "rotate",
    "rotate90",
    "flip",
    "grayscale",
    "color",
    "blur",
    "noise",
    "text",
    "logo",
    "border",
    "letterbox",
    "pip",
    "stretch",
    "perspective",
    "chain",
)
FAMILIES_PER_ORIGINAL = 12  # full mode: each original gets this many families, rotating through all
QUICK_ORIGINALS_PER_SPLIT = 14
QUICK_FAMILIES_PER_ORIGINAL = 4
NEGATIVES_FULL = {"negative": 450, "hard_negative": 450, "negative_edit": 300, "dark_negative": 40}
NEGATIVES_QUICK = {"negative": 10, "hard_negative": 10, "negative_edit": 6, "dark_negative": 2}
_WORDS = (
    "SALE",
    "breaking news",
    "© 2024 photo",
    "lol",
    "WOW",
    "follow for more",
    "original content",
    "weekend vibes",
    "#throwback",
    "do not copy",
)

Transform = Callable[[Image.Image, np.random.Generator, "_Context"], Image.Image]


class _Context:
    """What a transform may need besides the image: other originals (for picture-in-picture)."""

    def __init__(self, others: list[Path]) -> None:
        self.others = others


def build_pairs(data_dir: Path, cache_dir: Path, seed: int, quick: bool) -> list[Pair]:
    """All image pairs for ``seed``: positives from every family, negatives of four kinds, both splits.

    ``data_dir`` is the shared data folder (with ``images/``); edited files go to ``cache_dir``.
    ``quick`` gives ~150 pairs drawn from a fixed subset of originals.
    """
    originals = sorted((Path(data_dir) / "images").glob("*.jpg"))
    if not originals:
        raise FileNotFoundError(f"no images under {data_dir}/images")
    out_dir = Path(cache_dir)
    by_split: dict[str, list[Path]] = {"calib": [], "report": []}
    for path in originals:
        by_split[split_of(path.stem, seed)].append(path)
    pairs: list[Pair] = []
    for split, members in by_split.items():
        chosen = _choose_originals(members, seed, split, quick)
        per_original = QUICK_FAMILIES_PER_ORIGINAL if quick else FAMILIES_PER_ORIGINAL
        positives: list[Pair] = []
        for index, original in enumerate(chosen):
            for family in _families_for(index, per_original, seed, split, quick):
                positives.append(_positive(original, family, members, out_dir, seed, split))
        pairs.extend(positives)
        budget = NEGATIVES_QUICK if quick else NEGATIVES_FULL
        pairs.extend(_negatives(chosen if quick else members, members, positives, budget, out_dir, seed, split))
    return pairs


def _choose_originals(members: list[Path], seed: int, split: str, quick: bool) -> list[Path]:
    if not quick:
        return members
    order = rng_for(seed, "quick-originals", split).permutation(len(members))
    return sorted(members[i] for i in order[:QUICK_ORIGINALS_PER_SPLIT])


def _families_for(index: int, count: int, seed: int, split: str, quick: bool) -> list[str]:
    """Rotate through the families so each gets an even share of originals."""
    offset = int(rng_for(seed, "family-offset", split, quick).integers(len(FAMILIES)))
    start = offset + index * count
    return [FAMILIES[(start + k) % len(FAMILIES)] for k in range(min(count, len(FAMILIES)))]


def _positive(original: Path, family: str, members: list[Path], out_dir: Path, seed: int, split: str) -> Pair:
    others = [p for p in members if p != original]
    ctx = _Context(others)
    target = _edited(original, family, ctx, out_dir, seed)
    return Pair(
        pair_id=f"img-{original.stem}-{family}",
        medium="image",
        split=split,  # type: ignore[arg-type]
        family=family,
        positive=True,
        source=original,
        target=target,
        original=original.stem,
    )


def _edited(original: Path, family: str, ctx: _Context, out_dir: Path, seed: int) -> Path:
    """The cached edited copy of ``original`` for ``family``."""

    def make(tmp: Path) -> None:
        rng = rng_for(seed, original.stem, family)
        with Image.open(original) as im:
            image = im.convert("RGB")
        if family == "jpeg":
            image.save(tmp, "JPEG", quality=int(rng.integers(10, 31)))
            return
        edited = TRANSFORMS[family](image, rng, ctx)
        edited.convert("RGB").save(tmp, "JPEG", quality=90)

    return cached_file(out_dir, f"{VERSION}-{seed}-{original.stem}-{family}", ".jpg", make)


def _negatives(
    members: list[Path],
    split_members: list[Path],
    positives: list[Pair],
    budget: dict[str, int],
    out_dir: Path,
    seed: int,
    split: str,
) -> list[Pair]:
    rng = rng_for(seed, "negatives", split)
    sets: dict[str, list[Path]] = {}
    for path in members:
        sets.setdefault(_set_of(path), []).append(path)
    pairs: list[Pair] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: str, a: Path, target: Path, target_name: str, source: Path | None = None) -> None:
        key = (a.stem, target_name)
        if key in seen or a.stem == target_name.split(":")[0]:
            return
        seen.add(key)
        pairs.append(
            Pair(
                pair_id=f"img-{kind}-{a.stem}-{target_name.replace(':', '-')}",
                medium="image",
                split=split,  # type: ignore[arg-type]
                family=kind,
                positive=False,
                source=source or a,
                target=target,
                original=a.stem,
            )
        )

    for kind, count in budget.items():
        tries = 0
        start = len(pairs)
        while len(pairs) - start < count and tries < count * 20:
            tries += 1
            a = members[int(rng.integers(len(members)))]
            if kind == "negative":
                b = members[int(rng.integers(len(members)))]
                if _set_of(a) != _set_of(b):
                    add(kind, a, b, b.stem)
            elif kind == "hard_negative":
                group = sets[_set_of(a)]
                if len(group) > 1:
                    b = group[int(rng.integers(len(group)))]
                    add(kind, a, b, b.stem)
            elif kind == "negative_edit" and positives:
                p = positives[int(rng.integers(len(positives)))]
                # a picture-in-picture target contains another original: never pair it with that one
                if p.original != a.stem and not (
                    p.family == "pip" and _pip_background(p, split_members, seed) == a.stem
                ):
                    add(kind, a, p.target, f"{p.original}:{p.family}")
            elif kind == "dark_negative":
                b = members[int(rng.integers(len(members)))]
                if a != b:
                    add(kind, a, _dark(b, out_dir, seed), b.stem, source=_dark(a, out_dir, seed))
    return pairs


def _set_of(path: Path) -> str:
    """The source set of an original (``kodak``, ``urban100``...): the name before the number."""
    return path.stem.rsplit("_", 1)[0]


def _pip_background(pair: Pair, split_members: list[Path], seed: int) -> str:
    """Which original a ``pip`` target was pasted onto (the same draws as :func:`_pip`)."""
    rng = rng_for(seed, pair.original, "pip")
    rng.uniform(0.35, 0.6)
    pick = int(rng.integers(1 << 30))
    others = [p for p in split_members if p.stem != pair.original]
    return others[pick % len(others)].stem


def _dark(original: Path, out_dir: Path, seed: int) -> Path:
    def make(tmp: Path) -> None:
        with Image.open(original) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.float32) * 0.06
        Image.fromarray(arr.astype(np.uint8)).save(tmp, "JPEG", quality=85)

    return cached_file(out_dir, f"{VERSION}-{seed}-{original.stem}-dark", ".jpg", make)


# --- transforms ------------------------------------------------------------------------------------


def _augly() -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import augly.image as augly_image
    return augly_image


def _downscale(im: Image.Image, rng: np.random.Generator, ctx: _Context) -> Image.Image:
    f = rng.uniform(0.2, 0.5)
    return im.resize((max(16, round(im.width * f)), max(16, round(im.height * f))), Image.BILINEAR)


def _crop(
    im: Image.Image, rng: np.random.Generator, ctx: _Context, area: tuple[float, float] = (0.4, 0.7)
) -> Image.Image:
    a = rng.uniform(*area)
    r = rng.uniform(0.8, 1.25)
    fw, fh = min(1.0, np.sqrt(a) * r), min(1.0, np.sqrt(a) / r)
    fh = min(1.0, a / fw)
    w, h = round(im.width * fw), round(im.height * fh)
    x, y = int(rng.integers(0, im.width - w + 1)), int(rng.integers(0, im.height - h + 1))
    return im.crop((x, y, x + w, y + h))


def _rotate(im: Image.Image, rng: np.random.Generator, ctx: _Context, lo: float = 3.0, hi: float = 15.0) -> Image.Image:
    deg = rng.uniform(lo, hi) * (1 if rng.random() < 0.5 else -1)
    return im.rotate(deg, resample=Image.BILINEAR, expand=bool(rng.random() < 0.5), fillcolor=(0, 0, 0))


def _rotate90(im: Image.Image, rng: np.random.Generator, ctx: _Context) -> Image.Image:
    op = (Image.ROTATE_90, Image.ROTATE_180, Image.ROTATE_270)[int(rng.integers(3))]
    return im.transpose(op)


def _flip(im: Image.Image, rng: np.random.Generator, ctx: _Context) -> Image.Image:
    return im.transpose(Image.FLIP_LEFT_RIGHT if rng.random() < 0.8 else Image.FLIP_TOP_BOTTOM)


def _grayscale(im: Image.Image, rng: np.random.Generator, ctx: _Context) -> Image.Image:
    return _augly().grayscale(im)


def _color(im: Image.Image, rng: np.random.Generator, ctx: _Context) -> Image.Image:
    out = _augly().color_jitter(
        im,
        brightness_factor=rng.uniform(0.6, 1.4),
        contrast_factor=rng.uniform(0.6, 1.4),
        saturation_factor=rng.uniform(0.3, 1.7),
    )
    gamma = rng.uniform(0.6, 1.6)
    lut = [min(255, round(255 * (i / 255) ** gamma)) for i in range(256)] * 3
    return out.convert("RGB").point(lut)


def _blur(im: Image.Image, rng: np.random.Generator, ctx: _Context) -> Image.Image:
    return _augly().blur(im, radius=rng.uniform(1.5, 4.0))


def _noise(im: Image.Image, rng: np.random.Generator, ctx: _Context) -> Image.Image:
    return _augly().random_noise(im, var=rng.uniform(0.01, 0.04), seed=int(rng.integers(1 << 30)))


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    fonts = Path(_augly().__file__).resolve().parents[1] / "assets" / "fonts"
    for name in ("Raleway-ExtraBold.ttf", "OpenSans-Bold.ttf", "NotoSans-Regular.ttf"):
        if (fonts / name).exists():
            return ImageFont.truetype(str(fonts / name), size)
    return ImageFont.load_default(size)


def _text(im: Image.Image, rng: np.random.Generator, ctx: _Context) -> Image.Image:
    out = im.copy()
    draw = ImageDraw.Draw(out)
    for _ in range(int(rng.integers(1, 4))):
        size = max(10, round(im.height * rng.uniform(0.06, 0.12)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        word = _WORDS[int(rng.integers(len(_WORDS)))]
        x, y = im.width * rng.uniform(0.0, 0.6), im.height * rng.uniform(0.0, 0.85)
        draw.text((x, y), word, fill=colour, font=_font(size), stroke_width=1, stroke_fill=(0, 0, 0))
    return out


def _logo(im: Image.Image, rng: np.random.Generator, ctx: _Context) -> Image.Image:
    emojis = sorted((Path(_augly().__file__).resolve().parents[1] / "assets" / "twemojis").glob("*/*.png"))
    emoji = emojis[int(rng.integers(len(emojis)))]
    return _augly().overlay_emoji(
        im,
        emoji_path=str(emoji),
        emoji_size=rng.uniform(0.15, 0.3),
        x_pos=rng.uniform(0.0, 0.75),
        y_pos=rng.uniform(0.0, 0.75),
        opacity=rng.uniform(0.7, 1.0),
    )


def _border(im: Image.Image, rng: np.random.Generator, ctx: _Context) -> Image.Image:
    colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    return _augly().pad(im, w_factor=rng.uniform(0.05, 0.3), h_factor=rng.uniform(0.05, 0.3), color=colour)


def _letterbox(im: Image.Image, rng: np.random.Generator, ctx: _Context) -> Image.Image:
    aspect = 16 / 9 if rng.random() < 0.7 else 9 / 16
    w, h = im.size
    if w / h < aspect:
        canvas = Image.new("RGB", (round(h * aspect), h), (0, 0, 0))
    else:
        canvas = Image.new("RGB", (w, round(w / aspect)), (0, 0, 0))
    if canvas.size == im.size:  # already that shape: letterbox to the other one
        canvas = Image.new("RGB", (w, round(w * 1.3)), (0, 0, 0))
    canvas.paste(im, ((canvas.width - w) // 2, (canvas.height - h) // 2))
    return canvas


def _pip(im: Image.Image, rng: np.random.Generator, ctx: _Context) -> Image.Image:
    """Paste the photo, scaled to 35–60 % of the width, onto another original of the same split."""
    frac = rng.uniform(0.35, 0.6)
    pick = int(rng.integers(1 << 30))
    background_path = ctx.others[pick % len(ctx.others)]
    with Image.open(background_path) as bg_im:
        bg = bg_im.convert("RGB")
    w = max(16, round(bg.width * frac))
    h = max(16, round(im.height * w / im.width))
    if h > bg.height * 0.9:
        h = round(bg.height * 0.9)
        w = max(16, round(im.width * h / im.height))
    small = im.resize((w, h), Image.BILINEAR)
    x = int(rng.integers(0, bg.width - w + 1))
    y = int(rng.integers(0, bg.height - h + 1))
    bg.paste(small, (x, y))
    return bg


def _stretch(im: Image.Image, rng: np.random.Generator, ctx: _Context) -> Image.Image:
    f = rng.uniform(0.6, 0.8) if rng.random() < 0.5 else rng.uniform(1.25, 1.6)
    return im.resize((max(16, round(im.width * f)), im.height), Image.BILINEAR)


def _perspective(im: Image.Image, rng: np.random.Generator, ctx: _Context) -> Image.Image:
    arr = np.asarray(im)
    h, w = arr.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = rng.uniform(0.05, 0.15, size=(4, 2)) * np.float32([w, h])
    signs = np.float32([[1, 1], [-1, 1], [-1, -1], [1, -1]])
    dst = (src + jitter * signs).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    return Image.fromarray(cv2.warpPerspective(arr, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0)))


def _jpeg_mid(im: Image.Image, rng: np.random.Generator, ctx: _Context) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=int(rng.integers(30, 51)))
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _chain(im: Image.Image, rng: np.random.Generator, ctx: _Context) -> Image.Image:
    """Three edits in a row: a mild crop or rotation, then two photometric/overlay edits, then JPEG."""
    first: list[Transform] = [
        lambda i, r, c: _crop(i, r, c, area=(0.6, 0.85)),
        lambda i, r, c: _rotate(i, r, c, lo=3.0, hi=8.0),
        _flip,
    ]
    then: list[Transform] = [_text, _logo, _color, _downscale, _grayscale, _border]
    out = first[int(rng.integers(len(first)))](im, rng, ctx)
    for k in rng.choice(len(then), size=2, replace=False):
        out = then[int(k)](out.convert("RGB"), rng, ctx)
    return _jpeg_mid(out.convert("RGB"), rng, ctx)


TRANSFORMS: dict[str, Transform] = {
    "downscale": _downscale,
    "crop": _crop,
    "rotate": _rotate,
    "rotate90": _rotate90,
    "flip": _flip,
    "grayscale": _grayscale,
    "color": _color,
    "blur": _blur,
    "noise": _noise,
    "text": _text,
    "logo": _logo,
    "border": _border,
    "letterbox": _letterbox,
    "pip": _pip,
    "stretch": _stretch,
    "perspective": _perspective,
    "chain": _chain,
}
