"""``python -m bench.audio_fidelity [--half calib|report]``: the audio engine's level deviation per family.

Where the constants of ``audio_match.engine.fidelity`` come from. Runs the engine on the pair bench's
copies of one half (``bench.audio_pairs``) and on the null bench's hard negatives of the same half
(``python -m bench negatives audio`` must have built its corpus), and tabulates, per edit family and per
kind of negative, the level deviation of the alignment that carries the score
(``details.fidelity.level_deviation``), the band correlation along it and the raw evidence before the
fidelity weight. Writes ``bench/results/audio_fidelity-<half>.md`` and a JSON of every pair beside it
in ``bench/.cache/results``.

Every negative of the half is compared again (the null bench's dump holds scores after the weight, so
it cannot tell which ones the weight pushed down); ``--min-raw`` leaves out those whose evidence before
the weight stays below it, in the table only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import DEFAULT_SEED, cache_root, data_dir, ensure_import_paths, repo_root

ensure_import_paths()

_ENGINE: Any = None
_SIGS: dict[str, Any] = {}


def _init() -> None:
    global _ENGINE
    from audio_match.engine import AudioEngine

    _ENGINE = AudioEngine()


def _compare(item: tuple[str, str, str, str]) -> dict[str, Any]:
    from medialayer.caps import DEFAULT_CAPS

    side, label, a, b = item
    for path in (a, b):
        if path not in _SIGS:
            _SIGS[path] = _ENGINE.fingerprint(Path(path), DEFAULT_CAPS["audio"])
    sa, sb = _SIGS[a], _SIGS[b]
    c = _ENGINE.compare(sa, sb)
    fid = c.details.get("fidelity", {})
    ver = c.details.get("verify", {})
    raw = float(c.raw_score)
    unweighted = float(np.log2(1.0 + float(fid.get("evidence_before", 0.0))))
    dev = fid.get("level_deviation")
    return {
        "side": side,
        "label": label,
        "a": a,
        "b": b,
        "raw": raw,
        "raw_unweighted": unweighted,
        "deviation": float(dev) if dev is not None else None,
        "correlation": float(ver.get("correlation", 0.0)),
    }


def items(half: str, seed: int) -> list[tuple[str, str, str, str]]:
    """(side, family or kind, source path, target path) of the copies and the hard negatives of ``half``."""
    from bench.audio_pairs import build_pairs
    from bench.negatives.run import raw_path

    folder = data_dir()
    if folder is None:
        raise SystemExit("no media folder (../shared/data)")
    out = [
        ("copy", p.family, str(p.source), str(p.target))
        for p in build_pairs(folder, cache_root() / "audio", seed, False)
        if p.split == half and p.positive
    ]
    doc = json.loads(raw_path("audio", False, seed).read_text())
    paths = {c["clip_id"]: c["path"] for c in doc["clips"]}
    out += [
        ("negative", r["kind"], paths[r["a"]], paths[r["b"]])
        for r in doc["records"]
        if r["half"] == half and r["raw"] is not None
    ]
    return out


def _q(values: Sequence[float], q: float) -> str:
    v = [x for x in values if x is not None and np.isfinite(x)]
    return f"{np.quantile(v, q):.3f}" if v else "—"


def render(rows: Sequence[dict[str, Any]], half: str, command: str) -> str:
    """Markdown table: per side and label, count, deviation quantiles, correlation median."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["side"], r["label"])].append(r)
    lines = [
        f"# Audio level deviation — {half} half",
        "",
        f"`{command}`. Level deviation (ln power) of the alignment that carries each pair's score "
        "(`audio_match.engine.fidelity`); `inf` (too short or quiet to measure) counts as missing. "
        "Copies: the pair bench's positives; negatives: the null bench's hard negatives the search aligned.",
        "",
        "| side | family / kind | pairs | deviation min | q50 | q90 | max | unmeasured | correlation q50 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (side, label), rs in sorted(groups.items()):
        dev = [r["deviation"] for r in rs]
        lines.append(
            f"| {side} | {label} | {len(rs)} | {_q(dev, 0)} | {_q(dev, 0.5)} | {_q(dev, 0.9)} | {_q(dev, 1)} | "
            f"{sum(d is None for d in dev)} | {_q([r['correlation'] for r in rs], 0.5)} |"
        )
    copies = [r["deviation"] for r in rows if r["side"] == "copy" and r["deviation"] is not None]
    negs = [r["deviation"] for r in rows if r["side"] == "negative" and r["deviation"] is not None]
    if copies and negs:
        lines += ["", f"Largest copy deviation {max(copies):.3f}; smallest negative deviation {min(negs):.3f}."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.audio_fidelity", description=__doc__)
    p.add_argument("--half", choices=("calib", "report"), default="calib")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument(
        "--min-raw",
        type=float,
        default=1.0,
        help="negatives whose evidence before the weight is below this are left out of the table",
    )
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    todo = items(args.half, args.seed)
    with mp.get_context("spawn").Pool(args.workers, initializer=_init) as pool:
        rows = pool.map(_compare, todo, chunksize=16)
    rows = [r for r in rows if r["side"] == "copy" or (r["raw_unweighted"] or 0.0) >= args.min_raw]
    command = f"python -m bench.audio_fidelity --half {args.half} --seed {args.seed} --min-raw {args.min_raw}"
    out = repo_root() / "bench" / "results" / f"audio_fidelity-{args.half}.md"
    out.write_text(render(rows, args.half, command))
    dump = cache_root() / "results" / f"audio_fidelity-{args.half}-seed{args.seed}.json"
    dump.write_text(json.dumps(rows))
    print(out.read_text())
    print(f"wrote {out} and {dump}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
