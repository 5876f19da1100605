"""A tiny real benchmark per medium: a handful of real pairs through ours and every available peer.

Skips cleanly when ../shared/data (or MEDIALAYER_TEST_DATA) or the medium's bench modules are absent.
Builds the medium's quick pairs (cached in bench/.cache after the first run), keeps two positives of
different families and two negatives from the report half, runs every available matcher in-process,
and renders the report.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

from bench import report
from bench.common import DEFAULT_SEED, cache_root, data_dir
from bench.runner import OURS, RunResult, build_medium_pairs, matcher_runners, run_pairs
from bench.types import Pair

pytestmark = pytest.mark.realdata
#: the bench extra's packages each medium's pairs/peers need (`make bench-setup`); skip when absent
BENCH_EXTRA = {"image": ("augly", "imagehash", "pdqhash"), "audio": ("pedalboard", "audiomentations"), "video": ()}


def handful(pairs: list[Pair], n_pos: int = 2, n_neg: int = 2) -> list[Pair]:
    """A few positives of distinct families (aligned ones first) and a few negatives, report half."""
    rep = [p for p in pairs if p.split == "report"]
    pos: list[Pair] = []
    for p in sorted((p for p in rep if p.positive), key=lambda p: p.truth is None):
        if len(pos) < n_pos and p.family not in {q.family for q in pos}:
            pos.append(p)
    neg = [p for p in rep if not p.positive][:n_neg]
    return pos + neg


@pytest.mark.parametrize("medium", ["image", "audio", "video"])
def test_realdata_smoke(medium: str, tmp_path: Path):
    folder = data_dir()
    if folder is None:
        pytest.skip("no ../shared/data")
    for mod in (f"bench.{medium}_pairs", f"bench.{medium}_peers"):
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f"{mod} not written yet")
    for package in BENCH_EXTRA[medium]:
        pytest.importorskip(package, reason="the bench extra is not installed (make bench-setup)")
    pairs = build_medium_pairs(f"bench.{medium}_pairs", folder, cache_root() / medium, DEFAULT_SEED, True)
    chosen = handful(pairs)
    assert any(p.positive for p in chosen) and any(not p.positive for p in chosen)
    with matcher_runners(f"bench.{medium}_peers:matchers", isolate=False) as (runners, unavailable):
        assert runners and runners[0].name == OURS, "ours must be the first matcher"
        verdicts, _ = run_pairs(chosen, runners, warm_up=False, progress=None)
    ours = verdicts[OURS]
    assert all(v.error is None for v in ours), [v.error for v in ours]
    assert all(v.score is not None and math.isfinite(v.score) for v in ours)
    result = RunResult(medium, DEFAULT_SEED, True, "smoke", "now", chosen, verdicts, unavailable=unavailable)
    summaries = report.summarize_run(result, with_floor=False)
    md = report.render_markdown(result, summaries, ffmpeg_version=None, png_name=None)
    assert f"| {OURS} |" in md


@pytest.mark.slow
@pytest.mark.parametrize("medium", ["image", "audio", "video"])
def test_real_builders_are_deterministic(medium: str, tmp_path: Path):
    """Same seed, two empty caches -> identical pair ids, halves, truths and file bytes (slow: builds
    every quick pair twice from scratch)."""
    from bench.runner import pairs_manifest

    folder = data_dir()
    if folder is None:
        pytest.skip("no ../shared/data")
    if importlib.util.find_spec(f"bench.{medium}_pairs") is None:
        pytest.skip(f"bench.{medium}_pairs not written yet")
    runs = []
    for name in ("a", "b"):
        pairs = build_medium_pairs(f"bench.{medium}_pairs", folder, tmp_path / name, DEFAULT_SEED, True)
        runs.append([{k: v for k, v in r.items() if k not in ("source", "target")} for r in pairs_manifest(pairs)])
    assert runs[0] == runs[1]
