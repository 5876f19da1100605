"""Image speed at camera sizes: 1-3 MP JPEG pairs on one core, ours beside the peers in the same run.

    python -m bench.image_speed [--stride 9] [--core 1]

The accuracy bench's photos are web sizes (0.1-1 MP); the speed target is stated for 1-3 MP JPEGs.
This module takes every ``stride``-th pair of each family and negative kind of the image bench's
**report half** (so the mix keeps the accuracy bench's proportions: about half the pairs are
unrelated), scales both files of the pair by one factor so that the source lands at a seeded
1.0-3.0 MP, and saves both as JPEG (quality 90). A crop stays a crop of the same scene, an
unrelated pair stays unrelated.

Every matcher runs in its own worker process (:mod:`bench.runner`) pinned, like this process, to one CPU
(``os.sched_setaffinity``) with BLAS/OpenMP/OpenCV pools at one thread: "one core" as the target says.
Latency is the wall clock of one ``run(pair)``: decode + fingerprint of both files + compare (+ the
calibrated verdict for ours), fetch excluded. Writes ``bench/results/image_speed.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.common import DEFAULT_SEED, cache_root, data_dir, ensure_import_paths, repo_root, rng_for
from bench.types import Pair, Verdict

ensure_import_paths()

MIN_MP, MAX_MP = 1.0, 3.0
JPEG_QUALITY = 90
ONE_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENCV_FOR_THREADS_NUM")
RESULTS = repo_root() / "bench" / "results" / "image_speed.md"


def _scaled_jpeg(src: Path, out: Path, factor: float) -> None:
    from PIL import Image, ImageOps

    if out.exists():
        return
    with Image.open(src) as im:
        rgb = ImageOps.exif_transpose(im).convert("RGB")
    size = (max(8, round(rgb.width * factor)), max(8, round(rgb.height * factor)))
    tmp = out.with_suffix(".tmp.jpg")
    rgb.resize(size, Image.Resampling.LANCZOS).save(tmp, "JPEG", quality=JPEG_QUALITY)
    tmp.replace(out)


def camera_size_pairs(pairs: Sequence[Pair], stride: int, seed: int, cache: Path) -> list[Pair]:
    """Every ``stride``-th report-half pair of each family and negative kind (so the mix keeps the accuracy
    bench's proportions), both files scaled by one factor so the source is 1-3 MP (JPEG q90)."""
    from PIL import Image

    cache.mkdir(parents=True, exist_ok=True)
    by_family: dict[str, list[Pair]] = {}
    for p in pairs:
        if p.split == "report":
            by_family.setdefault(p.family, []).append(p)
    chosen = [p for members in by_family.values() for p in members[::stride]]
    out = []
    for p in chosen:
        rng = rng_for(seed, "image_speed", p.pair_id)
        with Image.open(p.source) as im:
            pixels = im.width * im.height
        factor = float(np.sqrt(rng.uniform(MIN_MP, MAX_MP) * 1e6 / pixels))
        src, tgt = cache / f"{p.pair_id}-src.jpg", cache / f"{p.pair_id}-tgt.jpg"
        _scaled_jpeg(p.source, src, factor)
        _scaled_jpeg(p.target, tgt, factor)
        out.append(replace(p, source=src, target=tgt))
    return out


def pin_to_one_core(core: int) -> None:
    """This process and the workers it spawns: one CPU, single-threaded numeric pools."""
    for name in ONE_THREAD_ENV:
        os.environ[name] = "1"
    os.sched_setaffinity(0, {core})


def _ms(values: Sequence[float], q: float) -> str:
    return f"{np.percentile(np.asarray(values) * 1000.0, q):.0f} ms" if values else "—"


def _rows(pairs: Sequence[Pair], verdicts: dict[str, list[Verdict]]) -> list[list[str]]:
    ours = verdicts.get("medialayer", [])
    ours_p50 = float(np.median([v.seconds for v in ours])) if ours else None
    rows = []
    for name, vs in verdicts.items():
        ok = [v for v in vs if v.error is None]
        secs = [v.seconds for v in ok]
        pos = [v.seconds for v, p in zip(vs, pairs, strict=True) if p.positive and v.error is None]
        neg = [v.seconds for v, p in zip(vs, pairs, strict=True) if not p.positive and v.error is None]
        ratio = f"{float(np.median(secs)) / ours_p50:.2f}×" if secs and ours_p50 else "—"
        errors = str(len(vs) - len(ok))
        rows.append([name, _ms(secs, 50), _ms(secs, 95), _ms(pos, 50), _ms(neg, 50), _ms(neg, 95), ratio, errors])
    return rows


def _family_rows(pairs: Sequence[Pair], verdicts: dict[str, list[Verdict]]) -> tuple[list[str], list[list[str]]]:
    names = list(verdicts)
    families = sorted({p.family for p in pairs})
    rows = []
    for fam in families:
        idx = [i for i, p in enumerate(pairs) if p.family == fam]
        cells = [_ms([verdicts[n][i].seconds for i in idx if verdicts[n][i].error is None], 50) for n in names]
        rows.append([fam, str(len(idx)), *cells])
    return ["family", "n", *names], rows


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def render(pairs: Sequence[Pair], verdicts: dict[str, list[Verdict]], command: str, core: int) -> str:
    """The markdown report."""
    from PIL import Image

    mp = []
    for p in pairs:
        with Image.open(p.source) as im:
            mp.append(im.width * im.height / 1e6)
    n_pos = sum(p.positive for p in pairs)
    header = ["matcher", "p50", "p95", "p50 positives", "p50 unrelated", "p95 unrelated", "p50 ÷ ours", "errors"]
    fam_header, fam_rows = _family_rows(pairs, verdicts)
    return "\n".join(
        [
            "# Image speed: 1-3 MP JPEG pairs, one core",
            "",
            f"- Command: `{command}`",
            f"- Date (UTC): {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S}; pinned to CPU {core} of `nproc` = "
            f"{os.cpu_count()}; numeric thread pools at 1",
            f"- Pairs: {len(pairs)} ({n_pos} positive, {len(pairs) - n_pos} unrelated) — every k-th pair of each "
            "family and negative kind of the image bench's report half, both files rescaled by one factor so the "
            f"source is {MIN_MP:.0f}-{MAX_MP:.0f} MP "
            f"(median {np.median(mp):.2f} MP, range {min(mp):.2f}-{max(mp):.2f}), JPEG quality {JPEG_QUALITY}",
            "- Latency: wall clock of one `run(pair)` in the matcher's own worker process: decode + fingerprint of "
            "both files + compare (ours: the API's `compare_paths`, calibrated verdict included); fetch excluded; "
            "one untimed warm-up pair per worker.",
            "",
            "## Per pair",
            "",
            _table(header, _rows(pairs, verdicts)),
            "",
            "`p50 ÷ ours`: the matcher's median latency over ours (above 1: slower than ours).",
            "",
            "## Median per family",
            "",
            _table(fam_header, fam_rows),
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.image_speed", description=__doc__)
    parser.add_argument("--stride", type=int, default=9, help="take every k-th report-half pair (default 9)")
    parser.add_argument("--core", type=int, default=max(0, (os.cpu_count() or 1) - 1), help="CPU to pin to")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--matchers", default=None, help="comma-separated matcher names (default all)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    folder = data_dir()
    if folder is None:
        print("no media folder: put it at ../shared/data or set MEDIALAYER_TEST_DATA", file=sys.stderr)
        return 2
    pin_to_one_core(args.core)
    from bench.runner import build_medium_pairs, matcher_runners, run_pairs

    base = build_medium_pairs("bench.image_pairs", folder, cache_root() / "image", args.seed, False)
    pairs = camera_size_pairs(base, args.stride, args.seed, cache_root() / "image_speed")
    only = args.matchers.split(",") if args.matchers else None
    with matcher_runners("bench.image_peers:matchers", only=only) as (runners, _unavailable):
        verdicts, _ = run_pairs(pairs, runners)
    command = "python -m bench.image_speed" + "".join(
        f" --{k} {v}" for k, v in (("stride", args.stride), ("core", args.core)) if v is not None
    )
    md = render(pairs, verdicts, command, args.core)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
