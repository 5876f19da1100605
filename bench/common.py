"""Small shared helpers of the benchmark: where the data is, stable splits and seeds, and a file cache.

Everything here is deterministic across processes and machines: splits and random generators are derived
from SHA-256 of their inputs (never from Python's salted ``hash``), so the same seed always gives the same
pairs, the same calibration/report halves and the same transformed files.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.types import Split

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_ENV = "MEDIALAYER_TEST_DATA"
DEFAULT_SEED = 20261125


def repo_root() -> Path:
    """The checkout this ``bench`` package lives in."""
    return REPO_ROOT


def ensure_import_paths() -> None:
    """Put ``shared/`` and ``functions/<medium>/`` on ``sys.path`` (as pytest's ``pythonpath`` does), so
    ``python -m bench`` can import ``medialayer`` and the medium packages from a plain checkout."""
    wanted = [
        REPO_ROOT / "shared",
        *(REPO_ROOT / "functions" / m for m in ("image", "audio", "video")),
        REPO_ROOT,
    ]
    for path in reversed(wanted):
        if path.is_dir() and str(path) not in sys.path:
            sys.path.insert(0, str(path))


def data_dir() -> Path | None:
    """The real-media folder: env ``MEDIALAYER_TEST_DATA`` if set, else ``<repo>/../shared/data``.

    Returns ``None`` when the folder does not exist, so callers (and tests) can skip cleanly.
    """
    env = os.environ.get(DATA_ENV)
    candidate = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


CACHE_ENV = "MEDIALAYER_BENCH_CACHE"


def cache_root() -> Path:
    """``bench/.cache`` (gitignored; env ``MEDIALAYER_BENCH_CACHE`` overrides): built files live here."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else REPO_ROOT / "bench" / ".cache"


def stable_hash(*parts: object) -> bytes:
    """SHA-256 of the parts' ``str`` forms, separated unambiguously."""
    h = hashlib.sha256()
    for part in parts:
        data = str(part).encode("utf-8")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.digest()


def split_of(original_name: str, seed: int) -> Split:
    """Which half an original belongs to: ``"calib"`` or ``"report"`` (~50/50, stable per seed).

    Splitting is by original, never by pair, so no original's transforms leak across halves.
    """
    return "calib" if stable_hash("split", seed, original_name)[0] % 2 == 0 else "report"


def rng_for(*parts: object) -> np.random.Generator:
    """A numpy generator seeded from a stable hash of ``parts`` (e.g. ``rng_for(seed, name, "crop")``)."""
    return np.random.default_rng(int.from_bytes(stable_hash("rng", *parts)[:16], "big"))


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_key(key: str) -> str:
    """A file-name-safe form of ``key``; long keys are shortened with a hash suffix to stay unique."""
    safe = _UNSAFE.sub("_", key).strip("._") or "x"
    if safe != key or len(safe) > 120:
        safe = f"{safe[:100]}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    return safe


def cached_file(cache_dir: Path, key: str, suffix: str, make: Callable[[Path], None]) -> Path:
    """Return ``cache_dir/<key><suffix>``, building it once with ``make(tmp_path)``.

    ``make`` writes to a temporary path that already has ``suffix`` (so ffmpeg and Pillow infer the
    format); the result is renamed into place atomically, so a crash never leaves a half-written file
    that later runs would trust. ``key`` should encode everything the file depends on (seed, original,
    transform and its parameters).
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    if suffix and not suffix.startswith("."):
        suffix = "." + suffix
    final = cache_dir / f"{_safe_key(key)}{suffix}"
    if final.exists() and final.stat().st_size > 0:
        return final
    tmp = cache_dir / f".tmp-{os.getpid()}-{final.stem}{suffix}"
    try:
        make(tmp)
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise RuntimeError(f"cached_file: make() wrote nothing for {key!r}")
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    return final


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (for determinism checks and report provenance)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
