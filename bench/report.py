"""Turn a :class:`~bench.runner.RunResult` into per-matcher summaries and ``bench/results/<medium>.md``.

Everything reported is computed on the REPORT half only; the calibration half is what ours' thresholds
were fitted on and is never scored here.
"""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import metrics
from bench.runner import OURS, RunResult
from bench.types import Pair, Verdict

FPR_1 = 0.01
FPR_01 = 0.001
DASH = "—"


@dataclass
class MatcherSummary:
    """One matcher's numbers on one medium's report half (``None`` = cannot say, shown as "—")."""

    name: str
    n_pos: int
    n_neg: int
    errors: int
    auc: float | None
    tpr_fpr1: float | None
    tpr_fpr01: float | None
    decision_tpr: float | None
    decision_fpr: float | None
    decision_fpr_upper95: float | None = None
    family_tpr_decision: dict[str, float | None] = field(default_factory=dict)
    family_tpr_fpr01: dict[str, float | None] = field(default_factory=dict)
    negative_family_fpr: dict[str, float | None] = field(default_factory=dict)
    n_aligned: int = 0
    n_with_segment: int | None = None
    iou_source_mean: float | None = None
    iou_target_mean: float | None = None
    iou_source_median: float | None = None
    iou_target_median: float | None = None
    offset_error_median: float | None = None
    boundary_error_median: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    peak_rss_median_mb: float | None = None
    peak_rss_max_mb: float | None = None
    decode_ratio_median: float | None = None
    first_error: str | None = None


def report_half(pairs: Sequence[Pair], verdicts: Sequence[Verdict]) -> tuple[list[Pair], list[Verdict]]:
    """The pairs (and their verdicts, aligned by index) of the report half."""
    keep = [i for i, p in enumerate(pairs) if p.split == "report"]
    return [pairs[i] for i in keep], [verdicts[i] for i in keep]


def summarize(
    name: str,
    pairs: Sequence[Pair],
    verdicts: Sequence[Verdict],
    floors: Sequence[float | None] | None = None,
) -> MatcherSummary:
    """Compute every metric for one matcher from pairs and verdicts that are already the report half.

    ``floors`` gives each pair's ffmpeg decode-only seconds (both files), for the speed ratio.
    """
    pos = [(p, v) for p, v in zip(pairs, verdicts, strict=True) if p.positive]
    neg = [(p, v) for p, v in zip(pairs, verdicts, strict=True) if not p.positive]
    neg_scores = [v.score for _, v in neg]
    pos_scores = [v.score for _, v in pos]
    errors = [v.error for v in verdicts if v.error]
    s = MatcherSummary(
        name=name,
        n_pos=len(pos),
        n_neg=len(neg),
        errors=len(errors),
        first_error=errors[0] if errors else None,
        auc=metrics.roc_auc(neg_scores, pos_scores),
        tpr_fpr1=metrics.tpr_at_fpr(neg_scores, pos_scores, FPR_1),
        tpr_fpr01=metrics.tpr_at_fpr(neg_scores, pos_scores, FPR_01),
        decision_tpr=metrics.decision_rate([v.match for _, v in pos]),
        decision_fpr=metrics.decision_rate([v.match for _, v in neg]),
    )
    has_decision = any(v.match is not None for v in verdicts)
    if s.decision_fpr is not None:
        false_pos = sum(1 for _, v in neg if v.match)
        s.decision_fpr_upper95 = metrics.rate_upper_bound(false_pos, len(neg))
    t01 = metrics.threshold_at_fpr(neg_scores, FPR_01)
    for fam in sorted({p.family for p, _ in pos}):
        fam_v = [v for p, v in pos if p.family == fam]
        s.family_tpr_decision[fam] = metrics.decision_rate([v.match for v in fam_v]) if has_decision else None
        fam_scores = [metrics.clean_scores([v.score])[0] for v in fam_v]
        s.family_tpr_fpr01[fam] = None if t01 is None else sum(x >= t01 for x in fam_scores) / len(fam_v)
    for fam in sorted({p.family for p, _ in neg}):
        fam_v = [v for p, v in neg if p.family == fam]
        s.negative_family_fpr[fam] = metrics.decision_rate([v.match for v in fam_v]) if has_decision else None

    aligned = [(p, v) for p, v in pos if p.truth is not None]
    s.n_aligned = len(aligned)
    if aligned and any(v.segments is not None for _, v in aligned):
        scores = [
            metrics.best_segment(v.segments if v.segments is not None else [], p.truth)  # type: ignore[arg-type]
            for p, v in aligned
        ]
        got = [sc for sc in scores if sc is not None]
        s.n_with_segment = sum(1 for _, v in aligned if v.segments)
        iou_s = [sc.iou_source for sc in got]
        iou_t = [sc.iou_target for sc in got]
        s.iou_source_mean = sum(iou_s) / len(iou_s)
        s.iou_target_mean = sum(iou_t) / len(iou_t)
        s.iou_source_median = metrics.median_or_none(iou_s)
        s.iou_target_median = metrics.median_or_none(iou_t)
        s.offset_error_median = metrics.median_or_none([sc.offset_error for sc in got])
        s.boundary_error_median = metrics.median_or_none([sc.boundary_error for sc in got])

    timed = [v.seconds * 1000.0 for v in verdicts if v.error is None and v.seconds > 0]
    s.latency_p50_ms = metrics.percentile_or_none(timed, 50)
    s.latency_p95_ms = metrics.percentile_or_none(timed, 95)
    rss = [v.peak_rss_mb for v in verdicts if v.peak_rss_mb is not None and v.error is None]
    s.peak_rss_median_mb = metrics.median_or_none(rss)
    s.peak_rss_max_mb = max(rss) if rss else None
    if floors is not None:
        ratios = [
            v.seconds / f
            for v, f in zip(verdicts, floors, strict=True)
            if f and f > 0 and v.error is None and v.seconds > 0
        ]
        s.decode_ratio_median = metrics.median_or_none(ratios)
    return s


def summarize_run(result: RunResult, with_floor: bool) -> list[MatcherSummary]:
    """Summaries of every matcher of a run, on its report half, ours first."""
    out = []
    for name, verdicts in result.verdicts.items():
        pairs, vs = report_half(result.pairs, verdicts)
        floors = [result.pair_floor(p) for p in pairs] if with_floor else None
        out.append(summarize(name, pairs, vs, floors))
    out.sort(key=lambda s: s.name != OURS)
    return out


# --------------------------------------------------------------------------------------------- rendering


def fmt_rate(x: float | None) -> str:
    """A rate as a percentage with one decimal, or "—"."""
    return DASH if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100.0 * x:.1f} %"


def fmt_num(x: float | None, digits: int = 3, unit: str = "") -> str:
    """A number with ``digits`` decimals (and a unit), or "—"."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return DASH
    return f"{x:.{digits}f}{unit}"


def fmt_ms(x: float | None) -> str:
    """Milliseconds: whole numbers from 10 ms up, one decimal below, or "—"."""
    if x is None or math.isnan(x):
        return DASH
    return f"{x:.0f} ms" if x >= 10 else f"{x:.1f} ms"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _resolution_note(n_neg: int) -> str:
    """Say which FPR levels the number of negatives can actually resolve."""
    if n_neg <= 0:
        return "No negatives: FPR is undefined. "
    allowed = [f"FPR≤{x * 100:g} % allows {int(x * n_neg + 1e-9)}" for x in (FPR_1, FPR_01)]
    return (
        f"With {n_neg} negatives the smallest non-zero FPR is {100.0 / n_neg:.2g} %: "
        + " and ".join(allowed)
        + " negative(s) at or above the threshold. "
    )


def render_markdown(
    result: RunResult,
    summaries: Sequence[MatcherSummary],
    *,
    ffmpeg_version: str | None,
    png_name: str | None,
) -> str:
    """The whole ``bench/results/<medium>.md`` document."""
    rep = [p for p in result.pairs if p.split == "report"]
    n_cal = result.n_calib_pairs + sum(1 for p in result.pairs if p.split == "calib")
    n_orig = len({p.original for p in rep})
    out: list[str] = [
        f"# Benchmark: {result.medium}",
        "",
        f"- Command: `{result.command}`",
        f"- Seed: {result.seed}{' (quick subset)' if result.quick else ''}",
        f"- Date (UTC): {result.started}",
        f"- Machine: `nproc` = {os.cpu_count()}, {_cpu_model()}, Python {platform.python_version()}",
        f"- Ours run as: {result.mode}",
    ]
    if ffmpeg_version:
        out.append(f"- ffmpeg (decode floor): {ffmpeg_version}")
    out += [
        f"- Pairs: {len(rep) + n_cal} built; **report half** {len(rep)} pairs "
        f"({sum(p.positive for p in rep)} positive, {sum(not p.positive for p in rep)} negative) "
        f"from {n_orig} originals; calibration half ({n_cal} pairs) not scored here.",
    ]
    if result.unavailable:
        out.append("- Not run (unavailable here): " + "; ".join(f"{k}: {v}" for k, v in result.unavailable.items()))
    out += ["", "## Detection (report half)", ""]
    n_neg = summaries[0].n_neg if summaries else 0
    out.append(
        _table(
            [
                "matcher",
                "ROC AUC",
                "TPR @ FPR≤1 %",
                "TPR @ FPR≤0.1 %",
                "`match` TPR",
                "`match` FPR (95 % upper bound)",
                "errors",
            ],
            [
                [
                    s.name,
                    fmt_num(s.auc),
                    fmt_rate(s.tpr_fpr1),
                    fmt_rate(s.tpr_fpr01),
                    fmt_rate(s.decision_tpr),
                    f"{fmt_rate(s.decision_fpr)} (≤ {fmt_rate(s.decision_fpr_upper95)})"
                    if s.decision_fpr is not None
                    else DASH,
                    str(s.errors),
                ]
                for s in summaries
            ],
        )
    )
    out += [
        "",
        "TPR @ FPR≤x is the best threshold on these report-half scores (a property of the score curve). "
        + _resolution_note(n_neg)
        + "`match` TPR/FPR use each matcher's own decision: ours at the threshold fitted on the "
        "calibration half, peers at their published thresholds; the bound in brackets is the one-sided "
        "95 % Clopper-Pearson upper bound of that FPR given the number of negatives. Errors count as "
        '"no match" and rank below every score.',
        "",
        "## TPR per transform family (report half)",
        "",
        "Each cell: `match` decision / best threshold at FPR≤0.1 % (threshold from all report-half negatives).",
        "",
    ]
    fams = sorted({f for s in summaries for f in s.family_tpr_decision})
    counts = {f: sum(1 for p in rep if p.positive and p.family == f) for f in fams}
    out.append(
        _table(
            ["family", "n"] + [s.name for s in summaries],
            [
                [f, str(counts[f])]
                + [
                    f"{fmt_rate(s.family_tpr_decision.get(f))} / {fmt_rate(s.family_tpr_fpr01.get(f))}"
                    for s in summaries
                ]
                for f in fams
            ],
        )
    )
    neg_fams = sorted({f for s in summaries for f in s.negative_family_fpr})
    if neg_fams:
        ncount = {f: sum(1 for p in rep if not p.positive and p.family == f) for f in neg_fams}
        out += ["", "## False positives per negative kind (`match` decision, report half)", ""]
        out.append(
            _table(
                ["negative kind", "n"] + [s.name for s in summaries],
                [[f, str(ncount[f])] + [fmt_rate(s.negative_family_fpr.get(f)) for s in summaries] for f in neg_fams],
            )
        )
    if any(s.n_aligned for s in summaries):
        out += [
            "",
            "## Localisation (positives with known alignment, report half)",
            "",
            "Best predicted segment per pair (highest mean IoU of the two timelines) against the true "
            "alignment; a pair where the matcher returned no segment counts IoU 0 (and has no offset). "
            "Offset error: at the middle of the copied stretch, |predicted − true| target time (s). "
            "Boundary error: mean |error| of the four segment ends (s). — = the matcher cannot return "
            "segments.",
            "",
        ]
        out.append(
            _table(
                [
                    "matcher",
                    "aligned pairs",
                    "with segment",
                    "IoU source mean / median",
                    "IoU target mean / median",
                    "median offset error",
                    "median boundary error",
                ],
                [
                    [
                        s.name,
                        str(s.n_aligned),
                        DASH if s.n_with_segment is None else str(s.n_with_segment),
                        f"{fmt_num(s.iou_source_mean)} / {fmt_num(s.iou_source_median)}"
                        if s.n_with_segment is not None
                        else DASH,
                        f"{fmt_num(s.iou_target_mean)} / {fmt_num(s.iou_target_median)}"
                        if s.n_with_segment is not None
                        else DASH,
                        fmt_num(s.offset_error_median, 2, " s"),
                        fmt_num(s.boundary_error_median, 2, " s"),
                    ]
                    for s in summaries
                ],
            )
        )
    out += ["", "## Cost per pair (report half)", ""]
    out.append(
        _table(
            [
                "matcher",
                "latency p50",
                "latency p95",
                "peak RSS median / max",
                "× ffmpeg decode-only (median)",
            ],
            [
                [
                    s.name,
                    fmt_ms(s.latency_p50_ms),
                    fmt_ms(s.latency_p95_ms),
                    f"{fmt_num(s.peak_rss_median_mb, 0)} / {fmt_num(s.peak_rss_max_mb, 0)} MB"
                    if s.peak_rss_max_mb is not None
                    else DASH,
                    fmt_num(s.decode_ratio_median, 2, "×"),
                ]
                for s in summaries
            ],
        )
    )
    out += [
        "",
        "Method: each matcher runs in its own spawned worker process; pairs are visited in order and "
        "each pair goes to every matcher in turn (so machine load spreads evenly); one untimed warm-up "
        "pair per worker. Latency = wall clock of one `run(pair)` in the worker (decode + fingerprint "
        "both files + compare). Peak RSS = the worker's `VmHWM`, reset before each pair via "
        "`/proc/self/clear_refs`; it includes the interpreter and loaded libraries; helper processes "
        "(ffmpeg, fpcalc) are added by sampling worker + descendants' RSS every 10 ms during the pair "
        "(the larger of the two is shown). Decode-only ratio = "
        "latency / (ffmpeg `-i f -f null -` wall time of both files, best of 2, measured in this run).",
    ]
    if result.memory_method != "per pair":
        out += ["", f"Memory of ours: {result.memory_method}."]
    failing = [s for s in summaries if s.first_error]
    if failing:
        out += ["", "First error per matcher:", ""]
        out += [f"- {s.name}: `{s.first_error[:200]}`" for s in failing if s.first_error]
    if png_name:
        out += ["", f"![ROC and per-family TPR]({png_name})"]
    return "\n".join(out) + "\n"
