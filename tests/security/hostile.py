"""Hostile media, generated cheaply on the fly (Pillow, soundfile, zlib, the bundled ffmpeg with lavfi).

Each :class:`Case` names a file, the route it is sent to and the outcomes that are *right* for it: an error
code (``unsupported_media``, ``file_too_large``, ``duration_too_long``), or ``ok`` where the file is in fact
valid media (a JPEG with a ZIP appended is a JPEG). No case may crash, hang or balloon memory.
"""

from __future__ import annotations

import io
import struct
import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from medialayer.ffmpeg import ffmpeg_exe
from tests.support.media import jpeg_bytes, png_bytes, wav_bytes

OK = "ok"
UNSUPPORTED = "unsupported_media"
TOO_LARGE = "file_too_large"
TOO_LONG = "duration_too_long"


@dataclass(frozen=True)
class Case:
    name: str
    medium: str
    make: Callable[[Path], bytes]
    expect: frozenset[str]
    slow: bool = False


# --- image -------------------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int, height: int, *, bit_depth: int = 1, colour: int = 0, full: bool = True) -> bytes:
    """A valid PNG of ``width`` x ``height`` zero pixels, compressed row by row (a 30000 x 30000 bomb is
    ~100 KB and takes well under a second). ``full=False`` writes only the first rows' data."""
    row_len = 1 + (width * bit_depth * (3 if colour == 2 else 1) + 7) // 8
    comp = zlib.compressobj(9)
    parts = []
    if not full:  # a few bytes of pixel data: the header alone is the attack
        parts.append(comp.compress(b"\x00" * min(row_len, 4096)))
    else:
        block = b"\x00" * row_len * 256
        for start in range(0, height, 256):
            n = min(256, height - start)
            parts.append(comp.compress(block if n == 256 else block[: row_len * n]))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_with_dims(width: int, height: int) -> bytes:
    """A small real JPEG whose SOF header is patched to claim ``width`` x ``height``."""
    data = bytearray(jpeg_bytes(3, size=(64, 48)))
    i = 2
    while i < len(data):
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            data[i + 5 : i + 9] = struct.pack(">HH", height, width)
            return bytes(data)
        i += 2 + length
    raise AssertionError("no SOF marker")


def _gif_frame_data(size: int) -> bytes:
    """Pillow's LZW image data (min code size byte + sub-blocks + terminator) for one ``size``² frame."""
    buf = io.BytesIO()
    Image.new("P", (size, size), 1).save(buf, "GIF")
    data = buf.getvalue()
    start = data.index(b"\x2c", 13 + 6)  # image descriptor after the header and a 2-colour table
    return data[start + 10 : -1]


def gif_frames(n: int, size: int = 8) -> bytes:
    """An animated GIF with ``n`` tiny frames, assembled by hand (Pillow would take seconds per 10k)."""
    buf = io.BytesIO()
    Image.new("P", (size, size), 1).save(buf, "GIF")
    head = buf.getvalue()
    table_size = 3 * 2 ** ((head[10] & 0x07) + 1)
    out = bytearray(head[: 13 + table_size])
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frame = (
        b"\x21\xf9\x04\x04"
        + struct.pack("<H", 1)
        + b"\x00\x00"
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, size, size, 0)
        + _gif_frame_data(size)
    )
    out += frame * n
    out += b"\x3b"
    return bytes(out)


def gif_dims(width: int, height: int) -> bytes:
    """A GIF whose logical screen claims ``width`` x ``height`` with one 8x8 frame."""
    g = bytearray(gif_frames(1))
    g[6:10] = struct.pack("<HH", width, height)
    return bytes(g)


def gif_js_polyglot() -> bytes:
    """Valid JavaScript and a GIF header at once: ``GIF89a/*...*/=alert(1);`` (width 0x2a2f = 10799)."""
    body = gif_frames(1)[10:]
    return b"GIF89a/*" + body + b"*/=alert(document.domain);"


def zip_bytes() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("evil.sh", "#!/bin/sh\necho pwned\n")
    return buf.getvalue()


def bmp_dims(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (16, 16), 128).save(buf, "BMP")
    data = bytearray(buf.getvalue())
    data[18:26] = struct.pack("<ii", width, height)
    return bytes(data)


def webp_bytes() -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(jpeg_bytes(4))).save(buf, "WEBP")
    return buf.getvalue()


def tiff_bomb() -> bytes:
    """A TIFF that claims 60000 x 60000 pixels (strip offsets point at a few bytes)."""
    buf = io.BytesIO()
    Image.new("L", (16, 16)).save(buf, "TIFF")
    data = bytearray(buf.getvalue())
    # patch ImageWidth (256) and ImageLength (257) entries in the first IFD
    ifd = struct.unpack("<I", data[4:8])[0]
    count = struct.unpack("<H", data[ifd : ifd + 2])[0]
    for k in range(count):
        e = ifd + 2 + 12 * k
        tag, typ = struct.unpack("<HH", data[e : e + 4])
        if tag in (256, 257):
            if typ == 3:
                data[e + 8 : e + 10] = struct.pack("<H", 60000)
            else:
                data[e + 8 : e + 12] = struct.pack("<I", 60000)
    return bytes(data)


def _corrupt(data: bytes, start: float, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    b = bytearray(data)
    lo = int(len(b) * start)
    idx = rng.integers(lo, len(b), size=max(8, len(b) // 50))
    for i in idx:
        b[i] = int(rng.integers(0, 256))
    return bytes(b)


IMAGE_CASES = [
    Case("zero-byte", "image", lambda d: b"", frozenset({UNSUPPORTED})),
    Case("one-byte", "image", lambda d: b"\xff", frozenset({UNSUPPORTED})),
    Case("magic-only-jpeg", "image", lambda d: b"\xff\xd8\xff\xe0" + b"\x00" * 60, frozenset({UNSUPPORTED})),
    Case("truncated-jpeg", "image", lambda d: jpeg_bytes(5)[: len(jpeg_bytes(5)) // 2], frozenset({UNSUPPORTED})),
    Case("truncated-png", "image", lambda d: png_bytes(5)[:3000], frozenset({UNSUPPORTED})),
    Case("png-header-only", "image", lambda d: png_bytes(5)[:33], frozenset({UNSUPPORTED})),
    Case("corrupt-jpeg-body", "image", lambda d: _corrupt(jpeg_bytes(6), 0.3), frozenset({OK, UNSUPPORTED})),
    Case(
        "corrupt-jpeg-header",
        "image",
        lambda d: _corrupt(jpeg_bytes(6)[:700], 0.0, 1) + jpeg_bytes(6)[700:],
        frozenset({OK, UNSUPPORTED}),
    ),
    Case("corrupt-png-crc", "image", lambda d: _corrupt(png_bytes(7), 0.5), frozenset({UNSUPPORTED})),
    Case("html-as-jpg", "image", lambda d: b"<!doctype html><html>" + b"x" * 200, frozenset({UNSUPPORTED})),
    Case(
        "svg-as-png",
        "image",
        lambda d: b'<svg xmlns="http://www.w3.org/2000/svg"><image href="http://169.254.169.254/"/></svg>',
        frozenset({UNSUPPORTED}),
    ),
    Case("wav-as-jpg", "image", lambda d: wav_bytes(0.5), frozenset({UNSUPPORTED})),
    Case("zip-as-jpg", "image", lambda d: zip_bytes(), frozenset({UNSUPPORTED})),
    Case("wrong-magic-png-named-jpg", "image", lambda d: png_bytes(8), frozenset({OK})),
    Case("jpeg-zip-polyglot", "image", lambda d: jpeg_bytes(9) + zip_bytes(), frozenset({OK})),
    Case("gif-js-polyglot", "image", lambda d: gif_js_polyglot(), frozenset({UNSUPPORTED, TOO_LARGE, OK})),
    Case("png-bomb-30000", "image", lambda d: png_bomb(30000, 30000), frozenset({TOO_LARGE})),
    Case(
        "png-bomb-rgb-20000",
        "image",
        lambda d: png_bomb(20000, 20000, bit_depth=8, colour=2, full=False),
        frozenset({TOO_LARGE}),
    ),
    Case("png-huge-declared", "image", lambda d: png_bomb(65535, 65535, full=False), frozenset({TOO_LARGE})),
    Case("png-2G-wide", "image", lambda d: png_bomb(2**31 - 1, 1, full=False), frozenset({TOO_LARGE, UNSUPPORTED})),
    Case("png-just-under-cap", "image", lambda d: png_bomb(7000, 7000), frozenset({OK})),
    Case("jpeg-huge-declared", "image", lambda d: jpeg_with_dims(65500, 65500), frozenset({TOO_LARGE})),
    Case("gif-huge-screen", "image", lambda d: gif_dims(65535, 65535), frozenset({TOO_LARGE})),
    Case("bmp-huge-declared", "image", lambda d: bmp_dims(100000, 100000), frozenset({TOO_LARGE, UNSUPPORTED})),
    Case("bmp-negative-dims", "image", lambda d: bmp_dims(-5, -(2**31)), frozenset({TOO_LARGE, UNSUPPORTED})),
    Case("tiff-bomb", "image", lambda d: tiff_bomb(), frozenset({TOO_LARGE, UNSUPPORTED})),
    Case("gif-3000-frames", "image", lambda d: gif_frames(3000), frozenset({UNSUPPORTED})),
    Case("gif-1500-frames", "image", lambda d: gif_frames(1500, 16), frozenset({OK})),
    Case("gif-200000-frames", "image", lambda d: gif_frames(200_000), frozenset({UNSUPPORTED})),
    Case("tiny-1x1", "image", lambda d: png_bomb(1, 1), frozenset({UNSUPPORTED})),
    Case("webp-truncated", "image", lambda d: webp_bytes()[:200], frozenset({UNSUPPORTED})),
]


# --- image: decode cost under the pixel cap (issue 13) ---------------------------------------------------


def png_zero_rows(width: int, height: int, colour: int, chunks: bytes = b"") -> bytes:
    """An 8-bit PNG of ``width`` x ``height`` zero pixels in colour type ``colour`` (0 gray, 2 RGB, 3 palette,
    4 gray+alpha, 6 RGBA), ``chunks`` (PLTE, tRNS) before the data. 7000 x 7000 RGBA compresses to ~190 KB."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    row = b"\x00" * (1 + width * channels)
    comp = zlib.compressobj(9)
    parts = [comp.compress(row * min(256, height - start)) for start in range(0, height, 256)]
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + chunks
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def png_palette_transparent(width: int, height: int) -> bytes:
    """A palette PNG with a tRNS chunk: decoders expand it to RGBA (4 bytes per pixel) before compositing."""
    return png_zero_rows(
        width, height, 3, _png_chunk(b"PLTE", bytes(range(256)) * 3) + _png_chunk(b"tRNS", bytes(range(256)))
    )


def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of every segment of a JPEG; a scan's segment runs to the end of its data."""
    out, i = [], 2
    while i < len(data):
        marker = data[i + 1]
        if marker == 0xD9:
            out.append((marker, i, i + 2))
            break
        end = i + 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker == 0xDA:
            while True:
                end = data.index(b"\xff", end)
                if data[end + 1] != 0 and not 0xD0 <= data[end + 1] <= 0xD7:
                    break
                end += 2
        out.append((marker, i, end))
        i = end
    return out


def jpeg_many_scans(n: int, size: tuple[int, int] = (7000, 7000)) -> bytes:
    """A progressive grayscale JPEG whose last first-pass AC scan (and its Huffman table) is repeated ``n``
    times before EOI: ~100 bytes a scan, and libjpeg passes over every block of the image for each one
    (5,000 scans at 7000 x 7000: ~680 KB, 19 CPU-s in Pillow)."""
    buf = io.BytesIO()
    Image.new("L", size, 128).save(buf, "JPEG", progressive=True, quality=75)
    data = buf.getvalue()
    segs = _jpeg_segments(data)
    pick = 0
    for k, (marker, start, _end) in enumerate(segs):
        if marker == 0xDA:
            count = data[start + 4]
            ss, ah_al = data[start + 5 + 2 * count], data[start + 7 + 2 * count]
            if ss > 0 and ah_al >> 4 == 0:
                pick = k
    start = segs[pick - 1][1] if segs[pick - 1][0] == 0xC4 else segs[pick][1]
    scan = data[start : segs[pick][2]]
    eoi = segs[-1][1]
    return data[:eoi] + scan * n + data[eoi:]


def webp_zero_bit_canvas(width: int, height: int) -> bytes:
    """A lossless WebP (VP8L, no VP8X) whose five prefix codes have one symbol each, so every pixel costs
    zero bits: 16383 x 3000 RGBA in 34 bytes. libwebp and Pillow hold ~17 bytes per pixel decoding it."""
    bits: list[int] = []

    def put(value: int, n: int) -> None:
        bits.extend((value >> k) & 1 for k in range(n))

    put(0x2F, 8)
    put(width - 1, 14)
    put(height - 1, 14)
    put(1, 1)  # alpha used
    put(0, 3)  # version
    put(0, 3)  # no transform, no colour cache, no meta prefix codes
    for symbol in (0, 0, 0, 255, 0):  # green, red, blue, alpha, distance: simple code, one 8-bit symbol
        put(0b101, 3)
        put(symbol, 8)
    bits.extend([0] * (-len(bits) % 8))
    payload = bytes(sum(bits[i + k] << k for k in range(8)) for i in range(0, len(bits), 8))
    payload += b"\x00" * (len(payload) % 2)
    body = b"WEBP" + b"VP8L" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def tiff_rgba_one_strip(width: int, height: int) -> bytes:
    """A deflate-compressed RGBA TIFF of zeros in a single strip: libtiff decodes the whole strip into one
    buffer (4 bytes per pixel) besides Pillow's image. 7000 x 7000 is ~190 KB."""
    row = b"\x00" * (width * 4)
    comp = zlib.compressobj(9)
    parts = [comp.compress(row * min(256, height - start)) for start in range(0, height, 256)]
    strip = b"".join(parts) + comp.flush()
    # tag, type (3 SHORT, 4 LONG), count, value; BitsPerSample and StripOffsets are patched below
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 4, 0),
        (259, 3, 1, 8),  # deflate
        (262, 3, 1, 2),  # RGB
        (273, 4, 1, 0),
        (277, 3, 1, 4),
        (278, 4, 1, height),
        (279, 4, 1, len(strip)),
        (284, 3, 1, 1),
        (338, 3, 1, 2),  # unassociated alpha
    ]
    bits_at = 8 + 2 + 12 * len(entries) + 4
    strip_at = bits_at + 8
    out = bytearray(b"II*\x00" + struct.pack("<IH", 8, len(entries)))
    for tag, kind, count, value in entries:
        value = {258: bits_at, 273: strip_at}.get(tag, value)
        packed = struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, kind, count) + packed
    out += struct.pack("<I", 0) + struct.pack("<HHHH", 8, 8, 8, 8) + strip
    return bytes(out)


def tiff_chained_ifds(n: int) -> bytes:
    """A TIFF with ``n`` image directories (8 x 8 gray, sharing one strip) chained one after another:
    100,000 is ~11 MB, and Pillow's ``n_frames`` walks them quadratically (~60 CPU-s)."""
    entries = [(256, 8), (257, 8), (258, 8), (259, 1), (262, 1), (273, 8), (277, 1), (278, 8), (279, 64)]
    size = 2 + 12 * len(entries) + 4
    first = 8 + 64
    out = bytearray(b"II*\x00" + struct.pack("<I", first) + b"\x80" * 64)
    body = b"".join(struct.pack("<HHIHH", tag, 3, 1, value, 0) for tag, value in entries)
    for k in range(n):
        nxt = first + (k + 1) * size if k < n - 1 else 0
        out += struct.pack("<H", len(entries)) + body + struct.pack("<I", nxt)
    return bytes(out)


#: Files under the pixel cap whose decode would cost seconds of CPU or a gigabyte of memory; each must
#: be refused before decoding, or decode within the budget (``image_match.engine.decode``).
BUDGET_CASES = [
    Case("jpeg-5000-scans", "image", lambda d: jpeg_many_scans(5000), frozenset({UNSUPPORTED})),
    Case("webp-34-bytes-16383x3000", "image", lambda d: webp_zero_bit_canvas(16383, 3000), frozenset({TOO_LARGE})),
    Case("png-rgba-7000", "image", lambda d: png_zero_rows(7000, 7000, 6), frozenset({OK, UNSUPPORTED})),
    Case("png-palette-trns-7000", "image", lambda d: png_palette_transparent(7000, 7000), frozenset({OK, UNSUPPORTED})),
    Case(
        "tiff-rgba-7000-one-strip",
        "image",
        lambda d: tiff_rgba_one_strip(7000, 7000),
        frozenset({OK, UNSUPPORTED, TOO_LARGE}),
    ),
    Case("tiff-100k-ifds", "image", lambda d: tiff_chained_ifds(100_000), frozenset({UNSUPPORTED})),
]
IMAGE_CASES += BUDGET_CASES


# --- audio -------------------------------------------------------------------------------------------


def wav_header_lie(declared_s: float, real_s: float, sr: int = 8000) -> bytes:
    """A 16-bit mono PCM WAV with ``real_s`` of samples whose RIFF/data sizes claim ``declared_s``."""
    rng = np.random.default_rng(1)
    samples = (rng.normal(0, 3000, int(real_s * sr))).astype("<i2").tobytes()
    declared = min(int(declared_s * sr) * 2, 0xFFFFFFFF - 36)
    fmt = struct.pack("<HHIIHH", 1, 1, sr, sr * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", declared + 36)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", declared)
        + samples
    )


def wav_fmt(sr: int, channels: int, bits: int = 16) -> bytes:
    fmt = struct.pack(
        "<HHIIHH", 1, channels, sr, sr * channels * bits // 8 & 0xFFFFFFFF, channels * bits // 8 & 0xFFFF, bits
    )
    data = b"\x01\x02" * 4000
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


def ffmpeg_lavfi(dest: Path, *args: str) -> bytes:
    subprocess.run(
        [ffmpeg_exe(), "-y", "-nostdin", "-loglevel", "error", *args, str(dest)],
        check=True,
        timeout=120,
        capture_output=True,
    )
    return dest.read_bytes()


def flac_bytes(d: Path) -> bytes:
    return ffmpeg_lavfi(d / "t.flac", "-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-ar", "22050")


def mp3_bytes(d: Path) -> bytes:
    return ffmpeg_lavfi(d / "t.mp3", "-f", "lavfi", "-i", "anoisesrc=d=3:seed=3", "-ar", "22050", "-b:a", "64k")


AUDIO_CASES = [
    Case("zero-byte", "audio", lambda d: b"", frozenset({UNSUPPORTED})),
    Case("riff-only", "audio", lambda d: b"RIFF\x00\x00\x00\x00WAVE", frozenset({UNSUPPORTED})),
    Case("truncated-wav-header", "audio", lambda d: wav_bytes(1.0)[:40], frozenset({UNSUPPORTED})),
    Case("truncated-flac", "audio", lambda d: flac_bytes(d)[:500], frozenset({UNSUPPORTED, OK})),
    Case("truncated-mp3", "audio", lambda d: mp3_bytes(d)[:2000], frozenset({UNSUPPORTED, OK})),
    Case("corrupt-mp3", "audio", lambda d: _corrupt(mp3_bytes(d), 0.1), frozenset({UNSUPPORTED, OK})),
    Case("corrupt-flac", "audio", lambda d: _corrupt(flac_bytes(d), 0.05), frozenset({UNSUPPORTED, OK})),
    Case(
        "id3-garbage",
        "audio",
        lambda d: b"ID3\x04\x00\x00\x00\x00\x00\x00" + np.random.default_rng(2).bytes(5000),
        frozenset({UNSUPPORTED}),
    ),
    Case("jpeg-as-wav", "audio", lambda d: jpeg_bytes(1), frozenset({UNSUPPORTED})),
    Case("text-as-mp3", "audio", lambda d: b"hello world, not audio at all" * 10, frozenset({UNSUPPORTED})),
    # a header may claim more than the file holds: refusing it or decoding the real 2 s are both right
    Case("header-claims-10h", "audio", lambda d: wav_header_lie(36000, 2), frozenset({TOO_LONG, OK})),
    Case("header-claims-1s-holds-400s", "audio", lambda d: wav_header_lie(1, 400), frozenset({TOO_LONG})),
    Case("header-claims-4GB", "audio", lambda d: wav_header_lie(10**9, 1), frozenset({TOO_LONG, OK})),
    Case("wav-zero-rate", "audio", lambda d: wav_fmt(0, 1), frozenset({UNSUPPORTED})),
    Case("wav-4G-rate", "audio", lambda d: wav_fmt(0xFFFFFFFF, 1), frozenset({UNSUPPORTED, OK})),
    Case("wav-65535-channels", "audio", lambda d: wav_fmt(8000, 65535), frozenset({UNSUPPORTED})),
    Case("wav-zero-channels", "audio", lambda d: wav_fmt(8000, 0), frozenset({UNSUPPORTED})),
    Case("wav-1Hz", "audio", lambda d: wav_fmt(1, 1), frozenset({UNSUPPORTED, OK, TOO_LONG})),
    Case(
        "video-only-mp4",
        "audio",
        lambda d: ffmpeg_lavfi(
            d / "v.mp4", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=2", "-pix_fmt", "yuv420p"
        ),
        frozenset({UNSUPPORTED}),
    ),
]


# --- video -------------------------------------------------------------------------------------------


def small_mp4(d: Path, seconds: float = 3, name: str = "s.mp4") -> bytes:
    return ffmpeg_lavfi(
        d / name,
        "-f",
        "lavfi",
        "-i",
        f"testsrc=size=96x72:rate=10:duration={seconds}",
        "-pix_fmt",
        "yuv420p",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-movflags",
        "+faststart",
    )


def mvhd_duration_lie(data: bytes, factor: float) -> bytes:
    """Scale the duration fields of ``mvhd``, ``tkhd`` and ``mdhd`` (a header that lies about length)."""
    b = bytearray(data)
    for box, off in ((b"mvhd", 16), (b"mdhd", 16), (b"tkhd", 20)):
        start = 0
        while (i := b.find(box, start)) >= 0:
            start = i + 4
            version = b[i + 4]
            if version != 0:
                continue
            pos = i + 4 + off
            (value,) = struct.unpack(">I", b[pos : pos + 4])
            b[pos : pos + 4] = struct.pack(">I", min(0xFFFFFFFF, max(1, int(value * factor))))
    return bytes(b)


def long_streamed_mkv(d: Path, seconds: int = 200) -> bytes:
    """A Matroska written to a pipe: no duration in the header at all; the real length exceeds the cap."""
    proc = subprocess.run(
        [
            ffmpeg_exe(),
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size=32x32:rate=2:duration={seconds}",
            "-c:v",
            "mpeg4",
            "-q:v",
            "20",
            "-f",
            "matroska",
            "pipe:1",
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    return proc.stdout


def many_streams(d: Path, n: int = 40) -> bytes:
    args = []
    for k in range(n):
        args += ["-f", "lavfi", "-i", f"color=c=0x{(k * 37) % 256:02x}4080:size=16x16:rate=2:duration=2"]
    maps = [x for k in range(n) for x in ("-map", str(k))]
    return ffmpeg_lavfi(d / "many.mkv", *args, *maps, "-c:v", "mpeg4")


VIDEO_CASES = [
    Case("zero-byte", "video", lambda d: b"", frozenset({UNSUPPORTED})),
    Case("ftyp-only", "video", lambda d: b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", frozenset({UNSUPPORTED})),
    Case(
        "ftyp-garbage",
        "video",
        lambda d: b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + np.random.default_rng(3).bytes(20000),
        frozenset({UNSUPPORTED}),
    ),
    Case("truncated-mp4", "video", lambda d: small_mp4(d)[:1500], frozenset({UNSUPPORTED})),
    Case("truncated-mp4-half", "video", lambda d: small_mp4(d)[: len(small_mp4(d)) // 2], frozenset({UNSUPPORTED, OK})),
    Case("corrupt-mp4", "video", lambda d: _corrupt(small_mp4(d), 0.3), frozenset({UNSUPPORTED, OK})),
    Case(
        "ebml-garbage",
        "video",
        lambda d: b"\x1a\x45\xdf\xa3" + np.random.default_rng(4).bytes(5000),
        frozenset({UNSUPPORTED}),
    ),
    Case("jpeg-as-mp4", "video", lambda d: jpeg_bytes(2), frozenset({UNSUPPORTED})),
    Case(
        "audio-only-m4a-as-video",
        "video",
        lambda d: ffmpeg_lavfi(d / "a.mp4", "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac"),
        frozenset({UNSUPPORTED}),
    ),
    Case("header-claims-10h", "video", lambda d: mvhd_duration_lie(small_mp4(d), 12000), frozenset({TOO_LONG, OK})),
    Case(
        "header-claims-short",
        "video",
        lambda d: mvhd_duration_lie(small_mp4(d, 200, "l.mp4"), 0.001),
        frozenset({TOO_LONG}),
    ),
    Case("no-duration-200s", "video", long_streamed_mkv, frozenset({TOO_LONG})),
    Case("40-streams", "video", many_streams, frozenset({OK, UNSUPPORTED})),
    Case(
        "tiny-2x2-frames",
        "video",
        lambda d: ffmpeg_lavfi(
            d / "tiny.mkv", "-f", "lavfi", "-i", "testsrc=size=2x2:rate=30:duration=3", "-c:v", "ffv1"
        ),
        frozenset({OK, UNSUPPORTED}),
    ),
    Case(
        "1000fps-tiny",
        "video",
        lambda d: ffmpeg_lavfi(
            d / "fast.mkv", "-f", "lavfi", "-i", "testsrc=size=16x16:rate=1000:duration=6", "-c:v", "ffv1"
        ),
        frozenset({OK, UNSUPPORTED}),
    ),
]

ALL_CASES = IMAGE_CASES + AUDIO_CASES + VIDEO_CASES
