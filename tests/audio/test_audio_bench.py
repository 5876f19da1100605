"""The audio benchmark's own pieces: Chromaprint's sliding BER, and pair building on real data."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from bench.audio_peers import Chromaprint, best_ber, matchers
from bench.ours import OursMatcher


def test_best_ber_finds_the_shift() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**32, 300, dtype=np.uint64).astype(np.uint32)
    b = np.concatenate([rng.integers(0, 2**32, 50, dtype=np.uint64).astype(np.uint32), a[:200]])
    assert best_ber(a, b) == 0.0
    unrelated = rng.integers(0, 2**32, 300, dtype=np.uint64).astype(np.uint32)
    assert 0.4 < best_ber(a, unrelated) < 0.6
    assert best_ber(a, np.zeros(0, np.uint32)) == 1.0


def test_ours_is_listed_first() -> None:
    found = matchers()
    assert isinstance(found[0], OursMatcher) and found[0].name == "medialayer"
    assert any(isinstance(m, Chromaprint) for m in found)
    assert Chromaprint().available() == (shutil.which("fpcalc") is not None)


@pytest.mark.realdata
def test_quick_pairs_are_deterministic_and_split_by_original(audio_dir: Path) -> None:
    for package in ("pedalboard", "audiomentations"):  # the transforms: the bench extra
        pytest.importorskip(package, reason="the bench extra is not installed (make bench-setup)")
    from bench.audio_pairs import build_pairs
    from bench.common import DEFAULT_SEED, cache_root

    cache = cache_root() / "audio"  # the bench's own cache: rendered once, then reused
    pairs = build_pairs(audio_dir.parent, cache, seed=DEFAULT_SEED, quick=True)
    assert {p.split for p in pairs} == {"calib", "report"}
    by_original: dict[str, set[str]] = {}
    for p in pairs:
        by_original.setdefault(p.original, set()).add(p.split)
    assert all(len(s) == 1 for s in by_original.values())
    assert any(p.positive for p in pairs) and any(not p.positive for p in pairs)
    excerpt = next(p for p in pairs if p.family.startswith("excerpt"))
    assert excerpt.truth is not None and 5.0 <= excerpt.truth.source_end - excerpt.truth.source_start <= 30.0
    again = build_pairs(audio_dir.parent, cache, seed=DEFAULT_SEED, quick=True)
    assert [(p.pair_id, p.target, p.truth) for p in again] == [(p.pair_id, p.target, p.truth) for p in pairs]
