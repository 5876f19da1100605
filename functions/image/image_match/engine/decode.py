"""Safe, fast image decoding into the engine's working grayscale image.

Why these steps:

* **Bombs first.** Pillow reads only the header in ``open()``; we check pixel count and frame count
  there, before ``load()`` allocates anything, and treat ``DecompressionBombWarning`` as an error.
* **A cost budget, whatever the file says** (issue 13). The pixel cap is not a cost cap, so before
  ``load()`` we also refuse exactly what we can count: JPEG scans (CPU is linear in scans; a 470 KB file
  can hold 5,000), frames (counted by walking the TIFF directory chain or the GIF blocks ourselves, never
  past ``MAX_FRAMES + 1``: Pillow's ``n_frames`` walks every TIFF directory, quadratically) and memory
  (pixels x bytes per pixel of the decoded mode, plus what the format's decoder keeps: coefficient
  buffers of multi-scan JPEGs, WebP canvases, TIFF strips), against a budget that scales with the caps'
  pixel limit (so the demo route's smaller caps lower it). The decode itself runs in a forked child
  under ``CPU_LIMIT_S`` of CPU time and an address-space limit (:mod:`image_match.engine.decode_worker`):
  whatever slips past the exact checks ends as a clean error, never a stalled or bloated server.
* **No full-size copies.** Conversion to luminance runs over horizontal strips of the decoded image, so
  the only full-size buffers are the decoded image and the 8-bit luminance plane (the old chain of RGBA
  -> composite -> RGB -> L copies cost up to 20 bytes per pixel). Per pixel, the steps are the same as
  before, so the luminance is identical.
* **Fast.** For JPEG, ``draft()`` lets libjpeg decode at 1/2, 1/4 or 1/8 scale straight to grayscale,
  several times faster than a full decode; decoding, not matching, sets the speed of a pair.
* **Canonical pixels.** EXIF orientation is applied, alpha is composited onto white (as the benchmark
  data were prepared) and every colour mode (P, LA, RGBA, CMYK, I;16, F, ...) ends as 8-bit luminance.
  The engine only looks at luminance, like PDQ: it keeps grayscale and colour-shifted copies alike.
* **Typed errors.** Anything a decoder throws becomes :class:`UnsupportedMedia`; oversize images become
  :class:`FileTooLarge`. No decoder exception escapes raw.
"""

from __future__ import annotations

import mmap
import re
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from image_match.engine import decode_worker
from medialayer.caps import DEFAULT_CAPS, MediaCaps
from medialayer.errors import FileTooLarge, MediaLayerError, Overloaded, UnsupportedMedia

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

#: Scans (SOS segments) a JPEG may have. libjpeg's progressive scripts use 6-10, mozjpeg ~10-12; each
#: scan costs a pass over every block (~3 ms at 49 MP), so thousands are a CPU bomb.
MAX_JPEG_SCANS = 250
#: CPU time one decode may use. A request decodes two files, so a request's decoding stays under
#: 2 x this, within the 3 CPU-s a request may cost (issue 13).
CPU_LIMIT_S = 1.25
#: A worker that uses no CPU for this long is stuck (a deadlock): killed. A CPU-starved one on a busy host
#: keeps going (its CPU limit bounds it), up to ``WALL_LIMIT_S`` in all.
STALL_LIMIT_S = 5.0
WALL_LIMIT_S = 60.0
#: Memory budget of one decode per pixel the caps allow (decoded image + luminance plane + decoder
#: buffers; a 4-byte mode needs 5 bytes per pixel, WebP 17): 250 MB on the demo route (25 MP), and at
#: the default 50 MP what the shared pool allows one decode (464 MB).
MEMORY_BYTES_PER_PIXEL = 10
#: Pixels per strip of the luminance conversion (each strip's temporaries cost ~20 bytes per pixel).
STRIP_PIXELS = 1 << 20
#: Decoder memory beyond the decoded image, bytes per pixel (measured: see docs/security.md).
_WEBP_EXTRA = 12  # libwebp's canvases and decoded frame, Pillow's bytes copy (measured 12 + 5 B/px)
_HEIF_EXTRA = 8  # libheif/libavif planes and the decoder's own RGB(A) buffer before Pillow's copy
#: Isolate decoding in a limited child process (False: decode in-process, exact checks only).
ISOLATE: bool = decode_worker.ISOLATION_AVAILABLE

_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2, "BGR;15": 2, "BGR;16": 2}


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


def memory_budget(caps: MediaCaps | None = None) -> int:
    """Bytes one decode may use under ``caps`` (scales with their pixel cap; at most the shared pool)."""
    caps = caps or DEFAULT_CAPS["image"]
    max_pixels = min(caps.max_pixels or PIXEL_LIMIT, PIXEL_LIMIT)
    return min(max_pixels * MEMORY_BYTES_PER_PIXEL, decode_worker.POOL.total - decode_worker.RSS_SLACK)


def decode(path: Path, caps: MediaCaps | None = None, working_long_side: int = 640) -> Decoded:
    """Decode ``path`` into a :class:`Decoded` with long side ``working_long_side``.

    Raises :class:`FileTooLarge` for images over ``caps.max_pixels``, decompression bombs or images that
    would need more memory than the budget, and :class:`UnsupportedMedia` for unknown, truncated or
    corrupt files and for files too costly to decode (scans, frames, CPU time).
    """
    caps = caps or DEFAULT_CAPS["image"]
    max_pixels = caps.max_pixels or DEFAULT_CAPS["image"].max_pixels or 50_000_000
    # never above our own process-wide limit, whatever another library in the host process did to Pillow's
    # global guard (some set ``Image.MAX_IMAGE_PIXELS = None``) or to the warning filters
    max_pixels = min(max_pixels, PIXEL_LIMIT)
    budget = memory_budget(caps)
    path = Path(path)
    if not ISOLATE:
        holder: dict[str, np.ndarray] = {}

        def local_plane(h: int, w: int) -> np.ndarray:
            holder["plane"] = np.empty((h, w), np.uint8)
            return holder["plane"]

        meta = _decode_plane(path, max_pixels, budget, working_long_side, lambda n, shared: None, local_plane)
        return _finish(holder["plane"], meta, working_long_side)

    args = {"path": str(path), "max_pixels": max_pixels, "budget": budget, "working_long_side": working_long_side}
    try:
        with decode_worker.run_isolated(
            _JOB, args, cpu_s=CPU_LIMIT_S, stall_s=STALL_LIMIT_S, wall_s=WALL_LIMIT_S, open_bytes=_file_size(path)
        ) as (meta, out):
            return _finish_shared(out, meta, working_long_side)
    except decode_worker.WorkerFailed as exc:
        raise _worker_error(exc) from exc


_JOB = "image-decode"


def _job(args: dict[str, Any], reserve: decode_worker.Reserve, out: mmap.mmap) -> dict[str, Any]:
    """The worker's side of :func:`decode`: the luminance plane goes into the shared buffer ``out``."""
    return _decode_plane(
        Path(args["path"]),
        int(args["max_pixels"]),
        int(args["budget"]),
        int(args["working_long_side"]),
        reserve,
        _plane_in(out),
    )


decode_worker.register(_JOB, _job)
decode_worker.OUT_BYTES = PIXEL_LIMIT  # each worker's shared plane holds the largest image we accept


def _worker_error(exc: decode_worker.WorkerFailed) -> MediaLayerError:
    if exc.kind == "cpu":
        return UnsupportedMedia(f"The image is too costly to decode (over {CPU_LIMIT_S:g} CPU-seconds).")
    if exc.kind == "timeout":
        return UnsupportedMedia("The image could not be decoded in time.")
    if exc.kind == "memory":
        return FileTooLarge("The image needs more memory to decode than the limit allows.")
    if exc.kind == "busy":
        return Overloaded("The server is busy decoding other images; retry shortly.")
    return UnsupportedMedia("The image could not be decoded (corrupt or truncated file).")


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _plane_in(out: mmap.mmap) -> Callable[[int, int], np.ndarray]:
    def plane(h: int, w: int) -> np.ndarray:
        if h * w > len(out):
            raise FileTooLarge("The image has too many pixels.")
        return np.frombuffer(out, np.uint8, count=h * w).reshape(h, w)

    return plane


def _finish_shared(out: mmap.mmap, meta: dict[str, Any], working_long_side: int) -> Decoded:
    try:
        h, w = (int(v) for v in meta["shape"])
        if not (0 < h and 0 < w and h * w <= len(out)):
            raise ValueError("bad shape")
        plane = np.frombuffer(out, np.uint8, count=h * w).reshape(h, w)
        try:
            return _finish(plane, meta, working_long_side)
        finally:
            del plane  # no view may outlive the shared buffer
    except (KeyError, TypeError, ValueError) as exc:  # a worker's answer we cannot use: never a 500
        raise UnsupportedMedia("The image could not be decoded (corrupt or truncated file).") from exc


def _finish(gray: np.ndarray, meta: dict[str, Any], working_long_side: int) -> Decoded:
    """The resize to the working size (in the parent: OpenCV's thread pool is not fork-safe)."""
    long_side = max(gray.shape)
    factor = working_long_side / long_side
    new_size = (max(1, round(gray.shape[1] * factor)), max(1, round(gray.shape[0] * factor)))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    gray = cv2.resize(gray, new_size, interpolation=interp)
    out_w, out_h = int(meta["width"]), int(meta["height"])
    return Decoded(
        gray=np.ascontiguousarray(gray),
        width=out_w,
        height=out_h,
        scale=max(gray.shape) / max(out_w, out_h),
        fmt=str(meta["fmt"]),
        frames=int(meta["frames"]),
        notes=[str(n) for n in meta["notes"]],
    )


def _untransposed(plane: np.ndarray, orientation: int) -> np.ndarray:
    """A view of ``plane`` through which writing the stored image yields Pillow's ``exif_transpose`` of it
    (the inverse transposition; luminance commutes with it: the conversions are per pixel)."""
    if orientation == 2:  # FLIP_LEFT_RIGHT
        return plane[:, ::-1]
    if orientation == 3:  # ROTATE_180
        return plane[::-1, ::-1]
    if orientation == 4:  # FLIP_TOP_BOTTOM
        return plane[::-1]
    if orientation == 5:  # TRANSPOSE
        return plane.T
    if orientation == 6:  # ROTATE_270, undone by a quarter turn counter-clockwise
        return np.rot90(plane, 1)
    if orientation == 7:  # TRANSVERSE
        return plane[::-1, ::-1].T
    if orientation == 8:  # ROTATE_90, undone by a quarter turn clockwise
        return np.rot90(plane, -1)
    return plane


# --- the decode proper (in the child when isolated) ----------------------------------------------------


def _decode_plane(
    path: Path,
    max_pixels: int,
    budget: int,
    working_long_side: int,
    reserve: decode_worker.Reserve,
    plane_for: Callable[[int, int], np.ndarray],
) -> dict[str, Any]:
    """Open, check, load and convert ``path``; the luminance goes to ``plane_for(h, w)``; returns metadata."""
    reserve = _Once(reserve)
    try:
        canvas = _webp_canvas(path)
        if canvas is not None:  # libwebp allocates its canvases in open(): check and reserve before it
            _check_pixels(canvas[0] * canvas[1], max_pixels)
            pixels = canvas[0] * canvas[1]
            _reserve_within(reserve, pixels * (4 + 1 + _WEBP_EXTRA) + min(pixels, STRIP_PIXELS) * 24, pixels, budget)
        with Image.open(path) as im:
            return _decode_open(im, path, max_pixels, budget, working_long_side, reserve, plane_for)
    except (FileTooLarge, UnsupportedMedia, decode_worker.WorkerFailed):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FileTooLarge("The image has too many pixels.") from exc
    except Image.UnidentifiedImageError as exc:
        raise UnsupportedMedia("The file is not an image format we can read.") from exc
    except MemoryError as exc:
        raise FileTooLarge("The image is too large to decode.") from exc
    except Exception as exc:  # any decoder failure is a bad file, never a crash
        if _OUT_OF_MEMORY.search(str(exc)):  # a C decoder's failed allocation (address-space limit)
            raise FileTooLarge("The image is too large to decode.") from exc
        raise UnsupportedMedia("The image could not be decoded (corrupt or truncated file).") from exc


class _Once:
    """A ``reserve`` that takes effect once (WebP reserves before ``open()``, the others after it)."""

    def __init__(self, reserve: decode_worker.Reserve) -> None:
        self._reserve = reserve
        self.done = False

    def __call__(self, n: int, shared: int) -> None:
        if not self.done:
            self.done = True
            self._reserve(n, shared)


def _check_pixels(pixels: int, max_pixels: int) -> None:
    if pixels > max_pixels:
        raise FileTooLarge(f"The image has {pixels} pixels; the limit is {max_pixels}.")


def _reserve_within(reserve: decode_worker.Reserve, need: int, shared: int, budget: int) -> None:
    if need > budget:
        raise FileTooLarge(
            f"The image would need about {need // 2**20} MB to decode; the limit is {budget // 2**20} MB."
        )
    reserve(need, shared)


def _webp_canvas(path: Path) -> tuple[int, int] | None:
    """The canvas a WebP declares in its first chunk (VP8X, VP8L or VP8), or None if not a WebP."""
    try:
        with open(path, "rb") as f:
            head = f.read(30)
    except OSError:
        return None
    if len(head) < 30 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    chunk = head[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
    if chunk == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        return int.from_bytes(head[26:28], "little") & 0x3FFF, int.from_bytes(head[28:30], "little") & 0x3FFF
    return None


_OUT_OF_MEMORY = re.compile(r"memory|alloc", re.IGNORECASE)


def _decode_open(
    im: Image.Image,
    path: Path,
    max_pixels: int,
    budget: int,
    working_long_side: int,
    reserve: decode_worker.Reserve,
    plane_for: Callable[[int, int], np.ndarray],
) -> dict[str, Any]:
    fmt = (im.format or "").upper()
    if fmt not in ACCEPTED_FORMATS:
        raise UnsupportedMedia(f"Image format {fmt or 'unknown'} is not supported.")
    width, height = im.size
    _check_pixels(width * height, max_pixels)
    if min(width, height) < MIN_SIDE:
        raise UnsupportedMedia(f"The image is smaller than {MIN_SIDE} pixels on a side.")
    jpeg = _jpeg_structure(path) if fmt in ("JPEG", "MPO") else None
    if jpeg is not None and jpeg.scans > MAX_JPEG_SCANS:
        raise UnsupportedMedia(f"The JPEG has {MAX_JPEG_SCANS + 1}+ scans; the limit is {MAX_JPEG_SCANS}.")
    frames = _count_frames(im, path, fmt)
    if frames > MAX_FRAMES:
        shown = f"{frames}+" if fmt in ("TIFF", "GIF") else str(frames)  # counted up to the limit only
        raise UnsupportedMedia(f"The image has {shown} frames; the limit is {MAX_FRAMES}.")
    notes: list[str] = []
    if frames > 1:
        im.seek(0)
        notes.append(f"{fmt} has {frames} frames; the first frame was compared")

    if fmt == "JPEG" and im.mode in ("RGB", "L", "CMYK", "YCbCr"):
        ratio = working_long_side / max(width, height)
        if ratio < 1.0:  # ask libjpeg for the smallest DCT scale still >= the working size
            im.draft("L", (int(width * ratio) + 1, int(height * ratio) + 1))
    # the luminance plane is already mapped (shared with the parent): outside the child's allowance
    _reserve_within(reserve, _memory_needed(im, fmt, jpeg, (width, height)), im.size[0] * im.size[1], budget)
    im.load()
    orientation = int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
    if orientation != 1:
        notes.append(f"EXIF orientation {orientation} applied")
    out_w, out_h = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    stored_w, stored_h = im.size  # after draft(): the plane is at that scale
    plane_w, plane_h = (stored_h, stored_w) if orientation in (5, 6, 7, 8) else (stored_w, stored_h)
    _luminance_into(im, _untransposed(plane_for(plane_h, plane_w), orientation))
    return {
        "fmt": fmt,
        "width": out_w,
        "height": out_h,
        "frames": frames,
        "notes": notes,
        "shape": [plane_h, plane_w],
    }


# --- cost checks before load() --------------------------------------------------------------------------


@dataclass
class _JpegStructure:
    scans: int = 0
    #: (h, v) sampling factors of the frame's components, from its SOF
    sampling: list[tuple[int, int]] = field(default_factory=list)


# a marker inside entropy-coded data: 0xFF followed by anything but a stuffed 0x00, a restart marker or fill
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_structure(path: Path) -> _JpegStructure:
    """Scans and component sampling of the first image in a JPEG (up to its EOI), walking its markers the
    way libjpeg does; stops counting past ``MAX_JPEG_SCANS``."""
    info = _JpegStructure()
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        n, i = len(data), 2
        while i + 4 <= n:
            if data[i] != 0xFF:  # extraneous bytes: libjpeg skips to the next marker
                i = data.find(b"\xff", i)
                if i < 0:
                    break
                continue
            marker = data[i + 1]
            if marker == 0xFF:
                i += 1
                continue
            if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            if marker == 0xD9:
                break
            end = i + 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in _JPEG_SOF and not info.sampling and end <= n and end - i >= 10:
                count = data[i + 9]
                for k in range(count):
                    pos = i + 10 + 3 * k
                    if pos + 2 < end:
                        hv = data[pos + 1]
                        info.sampling.append((max(1, hv >> 4), max(1, hv & 0x0F)))
            if marker == 0xDA:
                info.scans += 1
                if info.scans > MAX_JPEG_SCANS:
                    break
                found = _JPEG_MARKER.search(data, end)  # type: ignore[call-overload]
                i = found.start() if found else n
            else:
                i = end
    return info


def _count_frames(im: Image.Image, path: Path, fmt: str) -> int:
    """Frames of a multi-frame file, counting at most ``MAX_FRAMES + 1`` where the count is walked."""
    if fmt == "TIFF":
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _tiff_frames(data, MAX_FRAMES + 1)
    if fmt == "GIF":
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _gif_frames(data, MAX_FRAMES + 1)
    # the others declare their count (APNG acTL, MPO index, HEIF items) or libwebp's demuxer counts in C
    return int(getattr(im, "n_frames", 1) or 1)


def _tiff_frames(data: Any, limit: int) -> int:
    """Directories in a TIFF's IFD chain (classic or BigTIFF), up to ``limit``; a loop ends the chain."""
    order = "<" if data[:2] == b"II" else ">"
    magic = struct.unpack(order + "H", data[2:4])[0]
    if magic == 43:  # BigTIFF
        count_fmt, entry, next_fmt, first_at = "Q", 20, "Q", 8
    else:
        count_fmt, entry, next_fmt, first_at = "H", 12, "I", 4
    count_size, next_size = struct.calcsize(count_fmt), struct.calcsize(next_fmt)
    offset = struct.unpack(order + next_fmt, data[first_at : first_at + next_size])[0]
    seen: set[int] = set()
    frames = 0
    while offset and offset not in seen and frames < limit:
        seen.add(offset)
        frames += 1
        if offset + count_size > len(data):
            break
        entries = struct.unpack(order + count_fmt, data[offset : offset + count_size])[0]
        at = offset + count_size + entries * entry
        if at + next_size > len(data):
            break
        offset = struct.unpack(order + next_fmt, data[at : at + next_size])[0]
    return max(1, frames)


def _gif_frames(data: Any, limit: int) -> int:
    """Image descriptors in a GIF's block stream, up to ``limit``."""
    n = len(data)
    if n < 13:
        return 1
    flags = data[10]
    pos = 13 + (3 * 2 ** ((flags & 0x07) + 1) if flags & 0x80 else 0)
    frames = 0

    def skip_sub_blocks(p: int) -> int:
        while p < n:
            size = data[p]
            p += 1 + size
            if size == 0:
                break
        return p

    while pos < n and frames < limit:
        kind = data[pos]
        if kind == 0x21:  # extension: label, sub-blocks
            pos = skip_sub_blocks(pos + 2)
        elif kind == 0x2C:  # image descriptor, optional local colour table, LZW size, sub-blocks
            frames += 1
            if pos + 10 > n:
                break
            local = data[pos + 9]
            pos += 10 + (3 * 2 ** ((local & 0x07) + 1) if local & 0x80 else 0) + 1
            pos = skip_sub_blocks(pos)
        else:  # trailer or garbage: Pillow stops there too
            break
    return max(1, frames)


def _memory_needed(im: Image.Image, fmt: str, jpeg: _JpegStructure | None, full_size: tuple[int, int]) -> int:
    """Bytes the decode will hold at its peak: the decoded image (at its draft size), the luminance plane,
    strip temporaries and the format decoder's own buffers."""
    w, h = im.size
    pixels = w * h
    strip = 2 if im.mode == "L" else 24  # per strip pixel: the L copy, or the conversions' temporaries
    need = pixels * _MODE_BYTES.get(im.mode, 4) + pixels + min(pixels, STRIP_PIXELS) * strip
    full_w, full_h = full_size
    if jpeg is not None and jpeg.scans > 1 and jpeg.sampling:
        # multi-scan (progressive) JPEG: libjpeg buffers every component's coefficients at full size
        h_max = max(s[0] for s in jpeg.sampling)
        v_max = max(s[1] for s in jpeg.sampling)
        mcu_w, mcu_h = -(-full_w // (8 * h_max)), -(-full_h // (8 * v_max))
        need += sum(mcu_w * hs * mcu_h * vs * 128 for hs, vs in jpeg.sampling)
    elif fmt == "WEBP":
        need += pixels * _WEBP_EXTRA
    elif fmt in ("HEIF", "AVIF"):
        need += pixels * _HEIF_EXTRA
    elif fmt == "TIFF":
        need += _tiff_strip_bytes(im)
    return need


def _tiff_strip_bytes(im: Image.Image) -> int:
    """libtiff's buffer for one strip or tile (decoded), as RGBA where libtiff converts."""
    tags = getattr(im, "tag_v2", {})
    w, h = im.size
    samples = int(tags.get(277, 1) or 1)
    bits = tags.get(258, (8,))
    depth = max((int(b) for b in bits), default=8) if isinstance(bits, tuple) else int(bits or 8)
    per_pixel = max(4, samples * -(-depth // 8))
    if 322 in tags and 323 in tags:
        return int(tags[322]) * int(tags[323]) * per_pixel
    rows = int(tags.get(278, h) or h)
    return min(rows, h) * w * per_pixel


# --- luminance --------------------------------------------------------------------------------------------


def _luminance_into(im: Image.Image, plane: np.ndarray) -> None:
    """``plane[:] = luminance of im``, converting strip by strip (no full-size temporaries)."""
    h, w = plane.shape
    rows = max(1, STRIP_PIXELS // w)
    extrema = _float_extrema(im, rows) if im.mode in _INT_MODES else None
    if rows >= h:
        plane[:] = _to_luminance(im, extrema)
        return
    for y in range(0, h, rows):
        y1 = min(h, y + rows)
        plane[y:y1] = _to_luminance(im.crop((0, y, w, y1)), extrema)


_INT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


def _float_extrema(im: Image.Image, rows: int) -> tuple[float, float]:
    """min/max of the image as float32, the way ``np.asarray(im, float32).min()`` sees it."""
    w, h = im.size
    lo, hi = np.inf, -np.inf
    for y in range(0, h, rows):
        strip = im if rows >= h else im.crop((0, y, w, min(h, y + rows)))
        arr = np.asarray(strip, dtype=np.float32)
        lo, hi = min(lo, float(arr.min())), max(hi, float(arr.max()))
        if np.isnan(lo) or np.isnan(hi):
            return float("nan"), float("nan")
    return lo, hi


def _to_luminance(im: Image.Image, extrema: tuple[float, float] | None = None) -> np.ndarray:
    """Any Pillow mode -> uint8 luminance, alpha composited onto white (per pixel: works on strips).

    Identity conversions are skipped, and a composited RGBA goes to L directly (Pillow's RGBA -> L and
    RGBA -> RGB -> L are the same formula): the same pixels as the full chain, in fewer passes."""
    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        mode = im.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im if mode == "RGBA" else im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("L"), dtype=np.uint8)
    if mode in _INT_MODES:
        arr = np.asarray(im, dtype=np.float32)
        lo, hi = extrema if extrema is not None else (float(arr.min()), float(arr.max()))
        if hi <= lo:
            return np.zeros(arr.shape, dtype=np.uint8)
        return ((arr - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    if mode == "1":
        im = im.convert("L")
    if im.mode != "L":
        im = (im if im.mode == "RGB" else im.convert("RGB")).convert("L")
    return np.asarray(im, dtype=np.uint8)
