"""Audio matchers for the benchmark: ours first, then Chromaprint (``fpcalc``).

* ``medialayer`` — the product path: ``medialayer.pipeline.compare_paths(AudioEngine(), ...)`` (sniff,
  caps, fingerprint both, compare, calibrate). ``Verdict.score`` is the engine's raw score (what the
  calibration is fitted on); ``extra["similarity_score"]`` the calibrated one; segments with their
  estimated speed. Before a calibration file exists (the very first ``python -m bench calibrate
  audio``), it still reports raw scores, with ``match=None``.
* ``chromaprint`` — ``fpcalc -raw -length 0`` (Debian ``libchromaprint-tools``) gives one 32-bit
  sub-fingerprint per ~0.124 s. Two fingerprints are compared at their best relative offset: the bit
  error rate (BER) over the overlapping sub-fingerprints, sliding one over the other, with an overlap of
  at least ``MIN_OVERLAP`` sub-fingerprints (~8 s; shorter files use their whole length). ``score =
  1 - BER``; ``match`` at BER <= 0.35, the threshold Haitsma & Kalker published for this family of
  sub-fingerprint-bit fingerprints ("A Highly Robust Audio Fingerprinting System", ISMIR 2002, section
  4: 256 sub-fingerprints, threshold T = 0.35). Chromaprint gives no segments (``None``: it cannot).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from bench.ours import OursMatcher
from bench.types import Matcher, Pair, Verdict

CHROMAPRINT_BER_THRESHOLD = 0.35
MIN_OVERLAP = 64


def fpcalc_raw(path: Path, timeout_s: float = 60.0) -> np.ndarray:
    """Chromaprint's raw sub-fingerprints of the whole file (uint32)."""
    proc = subprocess.run(
        ["fpcalc", "-raw", "-length", "0", str(path)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    # fpcalc 1.5 exits non-zero with "Error decoding audio frame (End of file)" after fingerprinting
    # some files completely; a printed fingerprint is the result, a missing one the failure.
    for line in proc.stdout.splitlines():
        if line.startswith("FINGERPRINT="):
            body = line.split("=", 1)[1].strip()
            if not body:
                return np.zeros(0, np.uint32)
            return np.array([int(v) for v in body.split(",")], dtype=np.int64).astype(np.uint32)
    raise RuntimeError(f"fpcalc failed: {proc.stderr.strip()[-200:]}")


def best_ber(a: np.ndarray, b: np.ndarray, min_overlap: int = MIN_OVERLAP) -> float:
    """Lowest bit error rate over all relative offsets with at least ``min_overlap`` items overlapping
    (or the shorter fingerprint's whole length when it is shorter). 1.0 when either is empty."""
    n, m = a.size, b.size
    if n == 0 or m == 0:
        return 1.0
    need = min(min_overlap, n, m)
    best = 1.0
    for d in range(-(n - need), m - need + 1):  # b index = a index + d
        a0 = max(0, -d)
        b0 = max(0, d)
        k = min(n - a0, m - b0)
        if k < need:
            continue
        errors = int(np.bitwise_count(np.bitwise_xor(a[a0 : a0 + k], b[b0 : b0 + k])).sum())
        best = min(best, errors / (32.0 * k))
    return best


class Chromaprint:
    """Chromaprint/AcoustID's fingerprint with a sliding bit-error-rate comparison."""

    name = "chromaprint"

    def available(self) -> bool:
        return shutil.which("fpcalc") is not None

    def run(self, pair: Pair) -> Verdict:
        t0 = time.perf_counter()
        ber = best_ber(fpcalc_raw(pair.source), fpcalc_raw(pair.target))
        return Verdict(
            score=1.0 - ber,
            match=ber <= CHROMAPRINT_BER_THRESHOLD,
            segments=None,
            seconds=time.perf_counter() - t0,
            extra={"ber": ber},
        )


def matchers() -> list[Matcher]:
    """Ours first, then the peers."""
    from audio_match.engine import AudioEngine
    from audio_match.engine.engine import CALIBRATION_PATH

    return [OursMatcher(AudioEngine(), CALIBRATION_PATH), Chromaprint()]
