"""Hash lookup and Hough vote against brute force (the fast paths must not change what is found)."""

from __future__ import annotations

import numpy as np
import pytest

from audio_match.engine.align import HOUGH_MAX_VOTERS, hough_line
from audio_match.engine.matching import MAX_HITS_PER_KEY, KeyTable


@pytest.mark.parametrize("seed", range(10))
def test_key_table_lookup_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    tgt_keys = rng.integers(-1, 60, 400)
    tgt_keys[:40] = 7  # one hot key (more than MAX_HITS_PER_KEY hits): skipped
    src_keys = rng.integers(-1, 60, 150)
    si, ti = KeyTable.build(tgt_keys).lookup(src_keys)
    counts = np.bincount(tgt_keys[tgt_keys >= 0])
    expected = {
        (i, j)
        for i, k in enumerate(src_keys)
        for j, kt in enumerate(tgt_keys)
        if k >= 0 and k == kt and counts[k] <= MAX_HITS_PER_KEY
    }
    got = set(zip(si.tolist(), ti.tolist(), strict=True))
    assert got == expected
    assert len(got) == si.size  # no duplicates


def test_key_table_lookup_with_no_hits_is_empty() -> None:
    si, ti = KeyTable.build(np.array([1, 2, 3])).lookup(np.array([-1, 9]))
    assert si.size == 0 and ti.size == 0


def test_hough_on_a_long_file_finds_the_line_among_many_chance_matches() -> None:
    """More matches than HOUGH_MAX_VOTERS: the subsampled vote still lands on the true line."""
    rng = np.random.default_rng(3)
    n_true = HOUGH_MAX_VOTERS
    t_true = np.sort(rng.uniform(0, 18000, n_true))
    t_chance = rng.uniform(0, 18000, 3 * n_true)
    t_src = np.concatenate([t_true, t_chance])
    t_tgt = np.concatenate([1.004 * t_true + 250.0, rng.uniform(0, 18000, t_chance.size)])
    slope, offset, _ = hough_line(t_src, t_tgt, 1.0)
    assert slope == pytest.approx(1.004, abs=0.0006)
    assert abs(slope * 9000 + offset - (1.004 * 9000 + 250.0)) < 6.0


def _spy_on_screening(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the factor of every variant the search matches (screening and full)."""
    import audio_match.engine.matching as matching_mod

    seen: list[float] = []
    real = matching_mod.match_variant

    def spy(src, table, tgt_t1, variant):  # type: ignore[no-untyped-def]
        seen.append(variant.factor)
        return real(src, table, tgt_t1, variant)

    monkeypatch.setattr(matching_mod, "match_variant", spy)
    return seen


def test_a_decisive_identity_skips_the_far_variants(monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy at unchanged speed: only the identity and its 1 % neighbours are screened."""
    from audio_match.engine import AudioEngine
    from audio_match.engine.matching import search, variant_grid
    from tests.audio.synth import SR, add_noise, notes

    sig = AudioEngine().fingerprint_samples(add_noise(notes(60.0, seed=3), 10, 1), SR)
    seen = _spy_on_screening(monkeypatch)
    results = search(sig.pairs, sig.pairs)
    assert results[0].variant.factor == 1.0
    assert len(seen) < len(variant_grid()) // 2
    assert all(abs(f - 1.0) <= 0.0101 for f in seen)


def test_a_sped_up_copy_screens_every_variant(monkeypatch: pytest.MonkeyPatch) -> None:
    from scipy.signal import resample_poly

    from audio_match.engine import AudioEngine
    from audio_match.engine.matching import search, variant_grid
    from tests.audio.synth import SR, notes

    src = notes(60.0, seed=3)
    fast = resample_poly(src, 100, 105).astype(np.float32)
    eng = AudioEngine()
    seen = _spy_on_screening(monkeypatch)
    results = search(eng.fingerprint_samples(src, SR).pairs, eng.fingerprint_samples(fast, SR).pairs)
    assert len(seen) >= len(variant_grid())
    assert results[0].variant.factor == pytest.approx(1.05, abs=0.011)
