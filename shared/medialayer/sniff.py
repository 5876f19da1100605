"""What a file really is, from its first bytes — never from its extension or Content-Type.

``sniff`` returns the container format and the media it may carry. Containers of the ISO/MP4, Matroska and
Ogg families can hold audio, video or both, so they name both media; the engine then checks the streams.
Anything else — HTML error pages, playlists (HLS, ffconcat), archives, text — is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from medialayer.caps import MediaType
from medialayer.errors import UnsupportedMedia

HEAD_BYTES = 64

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_AUDIO_MP4_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A "}


@dataclass(frozen=True)
class Sniffed:
    """A recognised container: ``fmt`` (short name) and the media it may carry."""

    fmt: str
    media: frozenset[MediaType]

    def allows(self, medium: MediaType) -> bool:
        return medium in self.media


_IMAGE = frozenset({"image"})
_AUDIO = frozenset({"audio"})
_AV = frozenset({"audio", "video"})


def sniff_bytes(head: bytes) -> Sniffed | None:
    """Recognise a container from its first bytes (at least 12 needed, 64 read); None if unknown."""
    if len(head) < 4:
        return None
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("jpeg", _IMAGE)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("png", _IMAGE)
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("gif", _IMAGE)
    if head[:4] == b"RIFF" and len(head) >= 12:
        kind = head[8:12]
        if kind == b"WEBP":
            return Sniffed("webp", _IMAGE)
        if kind == b"WAVE":
            return Sniffed("wav", _AUDIO)
        if kind == b"AVI ":
            return Sniffed("avi", _AV)
        return None
    if head[:2] == b"BM" and len(head) >= 14:
        return Sniffed("bmp", _IMAGE)
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return Sniffed("tiff", _IMAGE)
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        compatible = {head[i : i + 4] for i in range(16, min(len(head), 48), 4)}
        if brand in _AVIF_BRANDS:
            return Sniffed("avif", _IMAGE)
        if brand in _HEIF_BRANDS or (brand not in (b"isom", b"mp41", b"mp42") and compatible & _HEIF_BRANDS):
            return Sniffed("heif", _IMAGE)
        if brand in _AUDIO_MP4_BRANDS:
            return Sniffed("m4a", _AUDIO)
        if brand == b"qt  ":
            return Sniffed("mov", _AV)
        return Sniffed("mp4", _AV)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Sniffed("matroska", _AV)
    if head.startswith(b"fLaC"):
        return Sniffed("flac", _AUDIO)
    if head.startswith(b"OggS"):
        return Sniffed("ogg", _AUDIO)
    if head.startswith(b"ID3"):
        return Sniffed("mp3", _AUDIO)
    if head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        layer = (head[1] >> 1) & 0x03
        if layer == 0:  # ADTS AAC
            return Sniffed("aac", _AUDIO)
        return Sniffed("mp3", _AUDIO)
    if head.startswith(b"FLV\x01"):
        return Sniffed("flv", _AV)
    if head[0] == 0x47 and len(head) >= 1:
        return None  # MPEG-TS needs more than the head to tell; not accepted
    return None


def sniff(path: Path) -> Sniffed:
    """Sniff a local file; raises :class:`UnsupportedMedia` when it is empty or not a known container."""
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    if not head:
        raise UnsupportedMedia("the file is empty")
    found = sniff_bytes(head)
    if found is None:
        raise UnsupportedMedia("the file is not a supported image, audio or video format")
    return found


def require_medium(sniffed: Sniffed, medium: MediaType) -> None:
    """Refuse a file of another medium than the route's, e.g. an image sent to ``/audio/match``."""
    if not sniffed.allows(medium):
        carried = "/".join(sorted(sniffed.media))
        raise UnsupportedMedia(f"expected {medium}, but the file is {sniffed.fmt} ({carried})")
