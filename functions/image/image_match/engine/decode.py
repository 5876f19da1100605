"""Safe, fast image decoding into the engine's working grayscale image.

Why these steps:

* **Bombs first.** Pillow reads only the header in ``open()``; we check pixel count and frame count
  there, before ``load()`` allocates anything, and treat ``DecompressionBombWarning`` as an error.
* **Fast.** For JPEG, ``draft()`` lets libjpeg decode at 1/2, 1/4 or 1/8 scale straight to grayscale,
  several times faster than a full decode; decoding, not matching, sets the speed of a pair.
* **Canonical pixels.** EXIF orientation is applied, alpha is composited onto white (as the benchmark
  data were prepared) and every colour mode (P, LA, RGBA, CMYK, I;16, F, ...) ends as 8-bit luminance.
  The engine only looks at luminance, like PDQ: it keeps grayscale and colour-shifted copies alike.
* **Typed errors.** Anything a decoder throws becomes :class:`UnsupportedMedia`; oversize images become
  :class:`FileTooLarge`. No decoder exception escapes raw.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from medialayer.caps import DEFAULT_CAPS, MediaCaps
from medialayer.errors import FileTooLarge, UnsupportedMedia

try:  # HEIC/HEIF via pillow-heif; AVIF is native in Pillow >= 11.3 (pillow-heif also registers it).
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a runtime requirement
    pass

# Pillow's global guard: never above our default cap (per-call caps are checked explicitly below), and
# its bomb warning is an error. Set once, process-wide: ``warnings.catch_warnings`` is not thread-safe
# and the pipeline fingerprints both files in two threads.
PIXEL_LIMIT: int = DEFAULT_CAPS["image"].max_pixels or 50_000_000
Image.MAX_IMAGE_PIXELS = PIXEL_LIMIT
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF", "AVIF", "MPO"})
MAX_FRAMES = 2_000
MIN_SIDE = 8
_EXIF_ORIENTATION = 0x0112


@dataclass
class Decoded:
    """A decoded image: working luminance plus what we learned about the file.

    ``gray`` has its long side at ``working_long_side`` (up- or down-scaled), ``width``/``height`` are
    the original's size after EXIF orientation, ``scale`` = working pixels per original pixel.
    """

    gray: np.ndarray
    width: int
    height: int
    scale: float
    fmt: str
    frames: int = 1
    notes: list[str] = field(default_factory=list)


def decode(path: Path, caps: MediaCaps | None = None, working_long_side: int = 640) -> Decoded:
    """Decode ``path`` into a :class:`Decoded` with long side ``working_long_side``.

    Raises :class:`FileTooLarge` for images over ``caps.max_pixels`` (or decompression bombs) and
    :class:`UnsupportedMedia` for unknown, truncated or corrupt files.
    """
    caps = caps or DEFAULT_CAPS["image"]
    max_pixels = caps.max_pixels or DEFAULT_CAPS["image"].max_pixels or 50_000_000
    # never above our own process-wide limit, whatever another library in the host process did to Pillow's
    # global guard (some set ``Image.MAX_IMAGE_PIXELS = None``) or to the warning filters
    max_pixels = min(max_pixels, PIXEL_LIMIT)
    try:
        with Image.open(path) as im:
            return _decode_open(im, max_pixels, working_long_side)
    except (FileTooLarge, UnsupportedMedia):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FileTooLarge("The image has too many pixels.") from exc
    except Image.UnidentifiedImageError as exc:
        raise UnsupportedMedia("The file is not an image format we can read.") from exc
    except MemoryError as exc:
        raise FileTooLarge("The image is too large to decode.") from exc
    except Exception as exc:  # any decoder failure is a bad file, never a crash
        raise UnsupportedMedia("The image could not be decoded (corrupt or truncated file).") from exc


def _decode_open(im: Image.Image, max_pixels: int, working_long_side: int) -> Decoded:
    fmt = (im.format or "").upper()
    if fmt not in ACCEPTED_FORMATS:
        raise UnsupportedMedia(f"Image format {fmt or 'unknown'} is not supported.")
    width, height = im.size
    if width * height > max_pixels:
        raise FileTooLarge(f"The image has {width * height} pixels; the limit is {max_pixels}.")
    if min(width, height) < MIN_SIDE:
        raise UnsupportedMedia(f"The image is smaller than {MIN_SIDE} pixels on a side.")
    frames = int(getattr(im, "n_frames", 1) or 1)
    if frames > MAX_FRAMES:
        raise UnsupportedMedia(f"The image has {frames} frames; the limit is {MAX_FRAMES}.")
    notes: list[str] = []
    if frames > 1:
        im.seek(0)
        notes.append(f"{fmt} has {frames} frames; the first frame was compared")

    orientation = int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
    if fmt == "JPEG" and im.mode in ("RGB", "L", "CMYK", "YCbCr"):
        ratio = working_long_side / max(width, height)
        if ratio < 1.0:  # ask libjpeg for the smallest DCT scale still >= the working size
            im.draft("L", (int(width * ratio) + 1, int(height * ratio) + 1))
    im.load()
    if orientation != 1:
        im = ImageOps.exif_transpose(im)
        notes.append(f"EXIF orientation {orientation} applied")
    out_w, out_h = (height, width) if orientation in (5, 6, 7, 8) else (width, height)

    gray = _to_luminance(im)
    long_side = max(gray.shape)
    factor = working_long_side / long_side
    new_size = (max(1, round(gray.shape[1] * factor)), max(1, round(gray.shape[0] * factor)))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    gray = cv2.resize(gray, new_size, interpolation=interp)
    return Decoded(
        gray=np.ascontiguousarray(gray),
        width=out_w,
        height=out_h,
        scale=max(gray.shape) / max(out_w, out_h),
        fmt=fmt,
        frames=frames,
        notes=notes,
    )


def _to_luminance(im: Image.Image) -> np.ndarray:
    """Any Pillow mode -> uint8 luminance, alpha composited onto white."""
    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        mode = im.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
        mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float32)
        lo, hi = float(arr.min()), float(arr.max())
        if hi <= lo:
            return np.zeros(arr.shape, dtype=np.uint8)
        return ((arr - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    if mode == "1":
        im = im.convert("L")
    if im.mode != "L":
        im = im.convert("RGB").convert("L")
    return np.asarray(im, dtype=np.uint8)
