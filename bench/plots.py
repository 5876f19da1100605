"""The report's figure: ROC curves of every matcher, and TPR per transform family (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from bench import metrics
from bench.report import MatcherSummary, report_half
from bench.runner import RunResult


def write_png(result: RunResult, summaries: Sequence[MatcherSummary], path: Path) -> Path:
    """Draw ROC curves (log-scaled FPR, report half) and per-family TPR: bars at the FPR<=0.1 % threshold
    (comparable across matchers), black ticks at each matcher's own ``match`` decision."""
    fig, (ax_roc, ax_fam) = plt.subplots(1, 2, figsize=(15, 5.5), gridspec_kw={"width_ratios": [1, 2]})
    for name, verdicts in result.verdicts.items():
        pairs, vs = report_half(result.pairs, verdicts)
        neg = [v.score for p, v in zip(pairs, vs, strict=True) if not p.positive]
        pos = [v.score for p, v in zip(pairs, vs, strict=True) if p.positive]
        if not neg or not pos:
            continue
        fpr, tpr = metrics.roc_curve(neg, pos)
        floor = 0.5 / max(len(neg), 1)
        auc = metrics.roc_auc(neg, pos)
        ax_roc.plot(np.maximum(fpr, floor), tpr, label=f"{name} (AUC {auc:.3f})")
    ax_roc.set_xscale("log")
    ax_roc.set_xlabel("false-positive rate (log; left edge = no negative passes)")
    ax_roc.set_ylabel("true-positive rate")
    ax_roc.set_title(f"ROC, {result.medium}, report half")
    ax_roc.set_ylim(0, 1.02)
    ax_roc.grid(True, which="both", alpha=0.3)
    ax_roc.legend(loc="lower right", fontsize=8)

    fams = sorted({f for s in summaries for f in s.family_tpr_fpr01})
    width = 0.8 / max(len(summaries), 1)
    x = np.arange(len(fams))
    for i, s in enumerate(summaries):
        xs = x + i * width - 0.4 + width / 2
        curve = [s.family_tpr_fpr01.get(f) for f in fams]
        ax_fam.bar(xs, [v if v is not None else 0.0 for v in curve], width, label=s.name)
        decision = [s.family_tpr_decision.get(f) for f in fams]
        pts = [(xi, d) for xi, d in zip(xs, decision, strict=True) if d is not None]
        if pts:  # the `match` decision's TPR as a black tick (none when the matcher has no decision)
            ax_fam.scatter([p[0] for p in pts], [p[1] for p in pts], marker="_", s=120, color="black", zorder=3)
    ax_fam.set_xticks(x)
    ax_fam.set_xticklabels(fams, rotation=45, ha="right", fontsize=8)
    ax_fam.set_ylim(0, 1.05)
    ax_fam.set_ylabel("TPR at FPR≤0.1 % (bars); at `match` (black ticks)")
    ax_fam.set_title("TPR per transform family (report half)")
    ax_fam.grid(True, axis="y", alpha=0.3)
    ax_fam.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
