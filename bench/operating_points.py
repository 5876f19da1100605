"""``python -m bench.operating_points``: what each ``similarity_score`` threshold means, per medium.

Reads the last report-half runs from ``bench/.cache/results/`` — the medium's benchmark
(``<medium>-seed<N>.json``: positives and its own negatives) and the null bench
(``negatives-<medium>-seed<N>.json``: thousands of hard negatives) — and writes, for score thresholds
0.3, 0.4, ... 0.9, the false-positive rate with its one-sided 95 % Clopper-Pearson upper bound and the
true-positive rate, to ``bench/results/operating_points.md``; ``--docs`` also replaces the table between
the markers in ``docs/api.md``. Nothing is run: rerun the benches first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import DEFAULT_SEED, cache_root, repo_root
from bench.metrics import rate_upper_bound

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
MEDIA = ("image", "audio", "video")
OURS = "medialayer"
BEGIN, END = "<!-- operating-points:begin -->", "<!-- operating-points:end -->"


@dataclass
class Scores:
    """Report-half public scores of one medium: positives, and negatives by where they came from."""

    positives: list[float]
    negatives: list[float]
    n_bench_negatives: int
    n_null_negatives: int


def _bench_scores(path: Path) -> tuple[list[float], list[float]]:
    doc = json.loads(path.read_text())
    pos: list[float] = []
    neg: list[float] = []
    for pair, verdict in zip(doc["pairs"], doc["verdicts"].get(OURS, []), strict=False):
        score = (verdict.get("extra") or {}).get("similarity_score")
        if pair.get("split") != "report" or score is None:
            continue
        (pos if pair["positive"] else neg).append(float(score))
    return pos, neg


def _null_scores(path: Path) -> list[float]:
    doc = json.loads(path.read_text())
    rows = doc.get("records") or doc.get("pairs") or []
    out = []
    for row in rows:
        half = row.get("half") or row.get("split")
        score = row.get("similarity_score")
        if half == "report" and score is not None:
            out.append(float(score))
    return out


def load_scores(medium: str, seed: int = DEFAULT_SEED, results: Path | None = None) -> Scores | None:
    """The medium's report-half scores, or ``None`` when its benchmark has not been run."""
    folder = results or cache_root() / "results"
    bench = folder / f"{medium}-seed{seed}.json"
    if not bench.is_file():
        return None
    pos, neg = _bench_scores(bench)
    null_path = folder / f"negatives-{medium}-seed{seed}.json"
    null = _null_scores(null_path) if null_path.is_file() else []
    return Scores(pos, neg + null, len(neg), len(null))


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f} %"


def table(scores: dict[str, Scores], thresholds: Sequence[float] = THRESHOLDS) -> str:
    """The markdown operating-point table."""
    lines = [
        "| medium | score ≥ | FPR (false / negatives) | FPR 95 % upper bound | TPR |",
        "|---|---|---|---|---|",
    ]
    for medium, s in scores.items():
        for t in thresholds:
            fp = sum(1 for x in s.negatives if x >= t)
            tp = sum(1 for x in s.positives if x >= t)
            fpr = fp / len(s.negatives) if s.negatives else None
            tpr = tp / len(s.positives) if s.positives else None
            ub = rate_upper_bound(fp, len(s.negatives)) if s.negatives else None
            lines.append(f"| {medium} | {t:.1f} | {_pct(fpr)} ({fp} / {len(s.negatives)}) | {_pct(ub)} | {_pct(tpr)} |")
    return "\n".join(lines)


def render(scores: dict[str, Scores], seed: int) -> str:
    """The whole report page."""
    sizes = "; ".join(
        f"{m}: {len(s.positives)} positives, {s.n_bench_negatives} bench + {s.n_null_negatives} null-bench negatives"
        for m, s in scores.items()
    )
    return (
        "# Operating points (report half)\n\n"
        f"`python -m bench.operating_points`, seed {seed}, {dt.datetime.now(dt.UTC).date().isoformat()}. "
        f"Pairs: {sizes}.\n\n"
        "A threshold on `similarity_score` and what it gave on the report half: the calibration was fitted "
        "on the other half. `match` is score ≥ 0.5; `high` confidence is score ≥ 0.8. The upper bound is "
        "the one-sided 95 % Clopper–Pearson bound: 0 false matches in 3,000 negatives still allows 0.1 %.\n\n"
        + table(scores)
        + "\n"
    )


def update_docs(doc_path: Path, body: str) -> bool:
    """Replace the text between the markers in ``doc_path``; ``False`` when the markers are missing."""
    text = doc_path.read_text()
    if BEGIN not in text or END not in text:
        return False
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc_path.write_text(f"{head}{BEGIN}\n{body}\n{END}{tail}")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.operating_points", description=__doc__)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--results", type=Path, default=None, help="folder of run dumps (bench/.cache/results)")
    parser.add_argument("--out", type=Path, default=repo_root() / "bench" / "results" / "operating_points.md")
    parser.add_argument("--docs", action="store_true", help="also update the table in docs/api.md")
    args = parser.parse_args(argv)
    scores = {m: s for m in MEDIA if (s := load_scores(m, args.seed, args.results)) is not None}
    if not scores:
        print("no report-half runs found: run `python -m bench <medium>` (and `bench negatives`) first")
        return 2
    page = render(scores, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page)
    print(page)
    if args.docs and not update_docs(repo_root() / "docs" / "api.md", table(scores)):
        print("docs/api.md has no operating-point markers; table not copied")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
