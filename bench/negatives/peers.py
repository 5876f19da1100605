"""Peers of the null bench: the pairwise-cheap ones, hashed once per clip and compared on every pair.

Each peer gives a picklable ``signature(path)`` and ``compare(sig_a, sig_b) -> (score, match)`` at its own
published threshold, the same as in the pair bench (``bench/<medium>_peers.py``, which documents the
thresholds and their sources):

* image: ``phash`` (imagehash, Hamming <= 10 of 64), ``pdq`` and ``pdq_dihedral`` (pdqhash, Hamming <= 31
  of 256; dihedral: the smallest distance over the first clip's 8 dihedral variants);
* audio: ``chromaprint`` (``fpcalc -raw``, Debian ``libchromaprint-tools``; best sliding bit error rate
  <= 0.35);
* video: ``vpdq`` (when the ``vpdq`` module imports; python-threatexchange's brute matcher).

Peers sharing a signature (``pdq`` and ``pdq_dihedral``) share ``sig_name``, so it is computed once.
The ORB+RANSAC verifier and videohash are not here: they are not cheap per pair, or not pairwise.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Protocol

import numpy as np


class PairPeer(Protocol):
    name: str
    sig_name: str
    rule: str

    def available(self) -> bool: ...

    def signature(self, path: Path) -> Any: ...

    def compare(self, a: Any, b: Any) -> tuple[float, bool]: ...


class PHash:
    name = sig_name = "phash"

    def __init__(self) -> None:
        from bench.image_peers import PHASH_THRESHOLD

        self.threshold = PHASH_THRESHOLD
        self.rule = f"Hamming <= {PHASH_THRESHOLD} of 64"

    def available(self) -> bool:
        try:
            import imagehash  # noqa: F401
        except ImportError:
            return False
        return True

    def signature(self, path: Path) -> np.ndarray:
        import imagehash

        from bench.image_peers import _rgb

        return np.asarray(imagehash.phash(_rgb(path)).hash, dtype=bool).reshape(-1)

    def compare(self, a: np.ndarray, b: np.ndarray) -> tuple[float, bool]:
        d = int(np.count_nonzero(a != b))
        return -float(d), d <= self.threshold


class Pdq:
    sig_name = "pdq8"

    def __init__(self, dihedral: bool) -> None:
        from bench.image_peers import PDQ_THRESHOLD

        self.dihedral = dihedral
        self.name = "pdq_dihedral" if dihedral else "pdq"
        self.threshold = PDQ_THRESHOLD
        self.rule = f"Hamming <= {PDQ_THRESHOLD} of 256" + (" (min over 8 dihedral variants)" if dihedral else "")

    def available(self) -> bool:
        try:
            import pdqhash  # noqa: F401
        except ImportError:
            return False
        return True

    def signature(self, path: Path) -> np.ndarray:
        """(8, 256) bool: the dihedral variants, the identity first."""
        import pdqhash

        from bench.image_peers import _rgb

        hashes, _ = pdqhash.compute_dihedral(np.asarray(_rgb(path)))
        return np.asarray(hashes, dtype=bool)

    def compare(self, a: np.ndarray, b: np.ndarray) -> tuple[float, bool]:
        if self.dihedral:
            d = int(np.min(np.count_nonzero(a != b[0][None, :], axis=1)))
        else:
            d = int(np.count_nonzero(a[0] != b[0]))
        return -float(d), d <= self.threshold


class Chromaprint:
    name = sig_name = "chromaprint"

    def __init__(self) -> None:
        from bench.audio_peers import CHROMAPRINT_BER_THRESHOLD

        self.threshold = CHROMAPRINT_BER_THRESHOLD
        self.rule = f"bit error rate <= {CHROMAPRINT_BER_THRESHOLD} at the best offset"

    def available(self) -> bool:
        return shutil.which("fpcalc") is not None

    def signature(self, path: Path) -> np.ndarray:
        from bench.audio_peers import fpcalc_raw

        return fpcalc_raw(path)

    def compare(self, a: np.ndarray, b: np.ndarray) -> tuple[float, bool]:
        from bench.audio_peers import best_ber

        ber = best_ber(a, b)
        return 1.0 - ber, ber <= self.threshold


class Vpdq:
    name = sig_name = "vpdq"

    def __init__(self) -> None:
        from bench import video_peers as vp

        self._vp = vp
        self.rule = (
            f"frames within Hamming {vp.VPDQ_DISTANCE_THRESHOLD}, >= {vp.VPDQ_QUERY_MATCH_PERCENT:.0f} % of the "
            "first clip's frames matched"
        )

    def available(self) -> bool:
        return self._vp.Vpdq().available()

    def signature(self, path: Path) -> np.ndarray:
        """(n, 256) bool bits of the quality-filtered, deduplicated frame hashes."""
        import vpdq

        feats = self._vp._quality_filtered(vpdq.computeHash(str(path), seconds_per_hash=1.0, thread_count=1))
        return self._vp._bits(feats) if feats else np.zeros((0, 256), bool)

    def compare(self, a: np.ndarray, b: np.ndarray) -> tuple[float, bool]:
        vp = self._vp
        if a.shape[0] == 0 or b.shape[0] == 0:
            return 0.0, False
        ia, ib = a.astype(np.int32), b.astype(np.int32)
        close = (ia.sum(1)[:, None] + ib.sum(1)[None, :] - 2 * (ia @ ib.T)) <= vp.VPDQ_DISTANCE_THRESHOLD
        q_pct = 100.0 * int(close.any(axis=1).sum()) / a.shape[0]
        c_pct = 100.0 * int(close.any(axis=0).sum()) / b.shape[0]
        match = q_pct >= vp.VPDQ_QUERY_MATCH_PERCENT and c_pct >= vp.VPDQ_INDEX_MATCH_PERCENT
        return q_pct / 100.0, match


def peers(medium: str) -> list[PairPeer]:
    """The medium's pairwise-cheap peers (available or not: the runner lists unavailable ones)."""
    if medium == "image":
        return [PHash(), Pdq(dihedral=False), Pdq(dihedral=True)]
    if medium == "audio":
        return [Chromaprint()]
    if medium == "video":
        return [Vpdq()]
    return []
