"""The video matchers compared in one benchmark run: ours first, then the peers (GUIDE §5).

* ``medialayer`` - ours, through :func:`medialayer.pipeline.compare_paths` with the video engine
  (sniff, caps, fingerprint both, align, fuse audio, calibrate). ``score`` is the raw fused score,
  ``extra["similarity_score"]`` the calibrated one, ``segments`` the aligned segments as
  :class:`Alignment` (speed from the engine's details), ``match`` ``None`` until a calibration exists.
* ``vpdq`` - Meta's vPDQ (``vpdq`` 0.2.5, 1 PDQ hash per second): the brute matcher of
  python-threatexchange: frames of quality >= 50, deduplicated; a source frame matches when some target
  frame is within Hamming 31; match when >= 80 % of the source's frames match (and >= 0 % of the
  target's) — ``VPDQ_QUALITY_THRESHOLD``, ``VPDQ_DISTANCE_THRESHOLD``,
  ``VPDQ_QUERY_MATCH_THRESHOLD_PERCENT``, ``VPDQ_INDEX_MATCH_THRESHOLD_PERCENT`` of ``vpdq_util.py``.
  ``score`` is the source match percentage / 100. No segments (a bag of frames).
* ``videohash`` - ``videohash`` 3.0.1: one 64-bit hash per video (collage of frames); match at its own
  ``is_similar`` (Hamming <= 15 % of 64 bits = 10). ``score`` = 1 - Hamming / 64. No segments.

Peers are asked only what they can answer; their ``segments`` are ``None`` ("cannot say"), not empty.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bench.decode_floor import ffmpeg_exe
from bench.ours import OursMatcher
from bench.types import Matcher, Pair, Verdict

VPDQ_QUALITY_THRESHOLD = 50
VPDQ_DISTANCE_THRESHOLD = 31
VPDQ_QUERY_MATCH_PERCENT = 80.0
VPDQ_INDEX_MATCH_PERCENT = 0.0
VIDEOHASH_BITS = 64
VIDEOHASH_SIMILAR = 10


def _quality_filtered(features: list) -> list:
    seen: set[str] = set()
    out = []
    for f in features:
        if f.quality < VPDQ_QUALITY_THRESHOLD or f.hex in seen:
            continue
        seen.add(f.hex)
        out.append(f)
    return out


def _bits(features: list) -> np.ndarray:
    """(n, 256) bool bits of the features' PDQ hashes (from their hex form)."""
    raw = np.array([list(bytes.fromhex(f.hex)) for f in features], dtype=np.uint8)
    return np.unpackbits(raw, axis=1).astype(bool)


def _hamming_matrix(a: list, b: list) -> np.ndarray:
    """Pairwise Hamming distances of two feature lists."""
    ba, bb = _bits(a).astype(np.int32), _bits(b).astype(np.int32)
    return ba.sum(1)[:, None] + bb.sum(1)[None, :] - 2 * (ba @ bb.T)


class Vpdq:
    """Meta's vPDQ with python-threatexchange's brute-force matcher and published thresholds."""

    name = "vpdq"

    def available(self) -> bool:
        try:
            import vpdq  # noqa: F401
        except ImportError:
            return False
        return True

    def _hash(self, path: Path) -> list:
        import vpdq

        return _quality_filtered(vpdq.computeHash(str(path), seconds_per_hash=1.0, thread_count=1))

    def run(self, pair: Pair) -> Verdict:
        query, compared = self._hash(pair.source), self._hash(pair.target)
        if not query or not compared:
            return Verdict(score=0.0, match=False, segments=None, extra={"query_percent": 0.0})
        close = _hamming_matrix(query, compared) <= VPDQ_DISTANCE_THRESHOLD
        q = int(close.any(axis=1).sum())
        c = int(close.any(axis=0).sum())
        q_pct = 100.0 * q / len(query)
        c_pct = 100.0 * c / len(compared)
        match = q_pct >= VPDQ_QUERY_MATCH_PERCENT and c_pct >= VPDQ_INDEX_MATCH_PERCENT
        return Verdict(
            score=q_pct / 100.0,
            match=match,
            segments=None,
            extra={"query_percent": q_pct, "compared_percent": c_pct},
        )


@contextlib.contextmanager
def _ffmpeg_on_path() -> Iterator[None]:
    """Put the bundled ffmpeg on PATH (as ``ffmpeg``) for the duration of one videohash call."""
    tmp = Path(tempfile.mkdtemp(prefix="vh-bin-"))
    old = os.environ.get("PATH", "")
    try:
        (tmp / "ffmpeg").symlink_to(ffmpeg_exe())
        os.environ["PATH"] = f"{tmp}{os.pathsep}{old}"
        yield
    finally:
        os.environ["PATH"] = old
        shutil.rmtree(tmp, ignore_errors=True)


class VideoHash:
    """``videohash``: a 64-bit hash of a frame collage per video."""

    name = "videohash"

    def available(self) -> bool:
        try:
            self._module()
        except ImportError:
            return False
        return True

    @staticmethod
    def _module():
        import PIL.Image

        if not hasattr(PIL.Image, "ANTIALIAS"):  # removed in Pillow 10; videohash still uses it
            PIL.Image.ANTIALIAS = PIL.Image.LANCZOS  # type: ignore[attr-defined]
        import videohash

        return videohash

    def _hash(self, path: Path):
        module = self._module()
        storage = tempfile.mkdtemp(prefix="vh-store-")
        try:
            with _ffmpeg_on_path():
                return module.VideoHash(path=str(path), storage_path=storage + os.sep)
        finally:
            shutil.rmtree(storage, ignore_errors=True)

    def run(self, pair: Pair) -> Verdict:
        a, b = self._hash(pair.source), self._hash(pair.target)
        distance = int(a - b)
        return Verdict(
            score=1.0 - distance / VIDEOHASH_BITS,
            match=distance <= VIDEOHASH_SIMILAR,
            segments=None,
            extra={"hamming": float(distance)},
        )


def matchers() -> list[Matcher]:
    """Ours first, then the peers, each built fresh (the runner builds one per worker process)."""
    from video_match.engine import CALIBRATION_PATH, VideoEngine

    return [OursMatcher(VideoEngine(), CALIBRATION_PATH), Vpdq(), VideoHash()]
