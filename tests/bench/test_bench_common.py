"""bench.common: stable splits and seeds, the atomic file cache, the data folder lookup; and the pair
builder machinery's determinism (same seed -> identical pair ids, halves and file bytes)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import fake_bench_medium
import pytest

from bench import common
from bench.runner import build_medium_pairs, pairs_manifest

FAKE_PAIRS = "fake_bench_medium:build_pairs"


def test_split_of_is_stable_and_balanced():
    names = [f"clip_{i:03d}" for i in range(2000)]
    first = [common.split_of(n, 7) for n in names]
    assert first == [common.split_of(n, 7) for n in names]
    counts = Counter(first)
    assert set(counts) == {"calib", "report"}
    assert 0.45 < counts["calib"] / len(names) < 0.55
    # another seed reshuffles the halves
    assert first != [common.split_of(n, 8) for n in names]


def test_rng_for_is_deterministic_and_part_sensitive():
    a = common.rng_for(1, "kodak_001", "crop").random(5)
    b = common.rng_for(1, "kodak_001", "crop").random(5)
    c = common.rng_for(1, "kodak_001", "flip").random(5)
    assert (a == b).all() and not (a == c).all()
    # parts are separated unambiguously: ("ab", "c") != ("a", "bc")
    assert common.stable_hash("ab", "c") != common.stable_hash("a", "bc")


def test_cached_file_builds_once(tmp_path: Path):
    calls = []

    def make(tmp: Path) -> None:
        assert tmp.suffix == ".bin"
        calls.append(tmp)
        tmp.write_bytes(b"hello")

    p1 = common.cached_file(tmp_path, "k/1 weird:key", ".bin", make)
    p2 = common.cached_file(tmp_path, "k/1 weird:key", "bin", make)
    assert p1 == p2 and p1.read_bytes() == b"hello" and len(calls) == 1
    assert p1.parent == tmp_path
    assert common.cached_file(tmp_path, "k/1 weird-key", ".bin", make) != p1  # no collision


def test_cached_file_leaves_nothing_when_make_fails(tmp_path: Path):
    def boom(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise RuntimeError("encoder crashed")

    with pytest.raises(RuntimeError):
        common.cached_file(tmp_path, "x", ".bin", boom)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError, match="wrote nothing"):
        common.cached_file(tmp_path, "y", ".bin", lambda tmp: None)


def test_data_dir_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(common.DATA_ENV, str(tmp_path))
    assert common.data_dir() == tmp_path
    monkeypatch.setenv(common.DATA_ENV, str(tmp_path / "absent"))
    assert common.data_dir() is None


def test_pair_building_is_deterministic(fake_data: Path, tmp_path: Path):
    a = build_medium_pairs(FAKE_PAIRS, fake_data, tmp_path / "cache_a", seed=5, quick=False)
    b = build_medium_pairs(FAKE_PAIRS, fake_data, tmp_path / "cache_b", seed=5, quick=False)
    man_a = [{k: v for k, v in r.items() if k not in ("source", "target")} for r in pairs_manifest(a)]
    man_b = [{k: v for k, v in r.items() if k not in ("source", "target")} for r in pairs_manifest(b)]
    assert man_a == man_b  # ids, halves, families, truths and file hashes
    assert {p.split for p in a} == {"calib", "report"}
    c = build_medium_pairs(FAKE_PAIRS, fake_data, tmp_path / "cache_c", seed=6, quick=False)
    man_c = pairs_manifest(c)
    assert [r["split"] for r in man_c] != [r["split"] for r in man_a] or [r["target_sha256"] for r in man_c] != [
        r["target_sha256"] for r in man_a
    ]


def test_build_medium_pairs_rejects_split_by_pair(fake_data: Path, tmp_path: Path, monkeypatch):
    real = fake_bench_medium.build_pairs

    def leaky(data_dir, cache_dir, seed, quick):
        pairs = real(data_dir, cache_dir, seed, quick)
        p = pairs[0]
        flipped = "report" if p.split == "calib" else "calib"
        return [*pairs, type(p)(**{**p.__dict__, "pair_id": "leak", "split": flipped})]

    monkeypatch.setattr(fake_bench_medium, "build_pairs", leaky)
    with pytest.raises(ValueError, match="both halves"):
        build_medium_pairs(FAKE_PAIRS, fake_data, tmp_path / "c", seed=1, quick=False)

    monkeypatch.setattr(fake_bench_medium, "build_pairs", lambda *a: real(*a) + real(*a)[:1])
    with pytest.raises(ValueError, match="duplicate"):
        build_medium_pairs(FAKE_PAIRS, fake_data, tmp_path / "c", seed=1, quick=False)
