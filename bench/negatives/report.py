"""Markdown report of a null-bench dump: per half, ours beside the peers, counted the same way.

Every pair is a negative, so every ``match`` is a false match: FPR = matches / pairs with a decision,
with its one-sided 95 % Clopper-Pearson upper bound (:func:`bench.metrics.rate_upper_bound`; 0 of 3,000
gives 0.1 %). Errored pairs (an engine refused a clip) have no decision and are counted apart.
"""

from __future__ import annotations

import math
import platform
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from bench.metrics import rate_upper_bound

OURS = "medialayer"
QUANTILES = (0.5, 0.9, 0.99, 0.999)


def _pct(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f} %"


def _num(x: float | None, digits: int = 3) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x + 0.0:.{digits}f}"


def _cpu() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def decisions(records: Sequence[dict[str, Any]], matcher: str) -> tuple[int, int, int]:
    """(pairs with a decision, matches, pairs without one) of one matcher: errors (a clip refused), or
    ours before calibration."""
    n = m = err = 0
    for r in records:
        match = r.get("match") if matcher == OURS else (r.get("peers", {}).get(matcher) or {}).get("match")
        if match is None:
            err += 1
            continue
        n += 1
        m += bool(match)
    return n, m, err


def _fpr_cell(n: int, m: int) -> str:
    if n == 0:
        return "—"
    return f"{m} / {n} = {_pct(m / n, 3)} (≤ {_pct(rate_upper_bound(m, n), 3)})"


def _quantile_row(values: np.ndarray) -> str:
    if values.size == 0:
        return "| — |" * 1
    qs = " | ".join(_num(float(np.quantile(values, q))) for q in QUANTILES)
    common, count = Counter(np.round(values, 4).tolist()).most_common(1)[0]
    lo, hi = _num(float(values.min())), _num(float(values.max()))
    return f"{lo} | {qs} | {hi} | {_pct(count / values.size, 1)} at {common:g}"


def render_half(doc: dict[str, Any], half: str) -> list[str]:
    records = [r for r in doc["records"] if r["half"] == half]
    clips = [c for c in doc["clips"] if c["half"] == half]
    used = {r["a"] for r in records} | {r["b"] for r in records}
    clip_kinds = Counter(c["kind"] for c in clips if c["clip_id"] in used)
    peers = list(doc.get("peer_rules", {}))
    matchers = [OURS, *peers]
    n_hard = sum(1 for r in records if r["same_group"])
    info = doc["halves"][half]
    t = info.get("timing", {})
    lines = [
        f"## {half} half",
        "",
        f"`{info.get('command', '')}` — {info.get('started', '')}; corpus {t.get('corpus_s', 0):.0f} s, "
        f"fingerprints {t.get('fingerprint_s', 0):.0f} s, comparisons {t.get('compare_s', 0):.0f} s "
        f"(run of {', '.join(doc['halves'])}: total {t.get('total_s', 0):.0f} s on {info.get('nproc', '?')} CPUs)",
        "",
        f"**{len(used)} clips** ({', '.join(f'{k} {v}' for k, v in sorted(clip_kinds.items()))}), "
        f"**{len(records)} negative pairs**, {n_hard} of them within a hard group "
        f"({_pct(n_hard / len(records) if records else None, 1)}).",
        "",
        "### Decisions (every match is a false match)",
        "",
        "| matcher | rule | false matches / pairs = FPR (95 % upper bound) | at `high` | no decision |",
        "|---|---|---|---|---|",
    ]
    for name in matchers:
        n, m, err = decisions(records, name)
        rule = "calibrated `match` (score ≥ 0.5)" if name == OURS else doc["peer_rules"][name]
        high = sum(1 for r in records if r.get("match") and r.get("confidence") == "high") if name == OURS else None
        lines.append(f"| {name} | {rule} | {_fpr_cell(n, m)} | {'—' if high is None else high} | {err} |")
    n_err = sum(1 for r in records if r.get("error"))
    if n_err:
        lines += ["", f"{n_err} pairs errored for ours (a clip was refused; see the list above)."]
    if any(r.get("match") is None and not r.get("error") for r in records):
        lines += ["", "Ours has no decision on this engine yet (no calibration fitted on it): raw scores only."]

    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_kind[r["kind"]].append(r)
    lines += [
        "",
        "### Per kind",
        "",
        "| kind | pairs | " + " | ".join(f"{m} FPR (95 % UB)" for m in matchers) + " |",
        "|---|---|" + "---|" * len(matchers),
    ]
    for kind in sorted(by_kind, key=lambda k: (k == "unrelated", k)):
        rows = by_kind[kind]
        cells = [_fpr_cell(*decisions(rows, m)[:2]) for m in matchers]
        lines.append(f"| {kind} | {len(rows)} | " + " | ".join(cells) + " |")

    scored = [r for r in records if r.get("raw") is not None]
    worst = sorted(scored, key=lambda r: (-(r["raw"]), r["a"], r["b"]))[:10]
    lines += [
        "",
        "### The 10 worst negatives (ours, by raw score)",
        "",
        "| " + " | ".join(["clip a", "clip b", "kind", "group", "raw", "score", "match", *peers]) + " |",
        "|" + "---|" * (7 + len(peers)),
    ]
    for r in worst:
        peer_cells = []
        for p in peers:
            v = r.get("peers", {}).get(p) or {}
            flag = " ✗" if v.get("match") else ""
            peer_cells.append("—" if v.get("score") is None else f"{v['score'] + 0.0:g}{flag}")
        cells = [
            f"`{r['a']}`",
            f"`{r['b']}`",
            r["kind"],
            r["group"] or "—",
            _num(r["raw"]),
            _num(r.get("similarity_score")),
            "yes" if r.get("match") else "no",
            *peer_cells,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if peers:
        lines += ["", "(peer score: higher = more alike; ✗ = the peer calls it a match)"]

    lines += [
        "",
        "### Score distribution",
        "",
        "| score | min | " + " | ".join(f"q{q * 100:g}" for q in QUANTILES) + " | max | most common value |",
        "|---|---|" + "---|" * len(QUANTILES) + "---|---|",
    ]
    raw = np.array([r["raw"] for r in scored], dtype=float)
    lines.append(f"| ours raw | {_quantile_row(raw)} |")
    pub = np.array([r["similarity_score"] for r in records if r.get("similarity_score") is not None], dtype=float)
    if pub.size:
        lines.append(f"| ours similarity_score | {_quantile_row(pub)} |")
    for p in peers:
        vals = [(r.get("peers", {}).get(p) or {}).get("score") for r in records]
        arr = np.array([v for v in vals if v is not None], dtype=float)
        if arr.size:
            lines.append(f"| {p} | {_quantile_row(arr)} |")
    secs = np.array([r.get("seconds", 0.0) for r in records], dtype=float)
    if secs.size:
        lines += [
            "",
            f"Ours' comparison time per pair (signatures cached): median {1000 * np.median(secs):.1f} ms, "
            f"p95 {1000 * np.quantile(secs, 0.95):.1f} ms.",
        ]
    return lines


def render(doc: dict[str, Any]) -> str:
    """The whole report of a dump (every half it holds)."""
    medium = doc["medium"]
    lines = [
        f"# Null bench — {medium}{' (quick subset)' if doc.get('quick') else ''}",
        "",
        f"Hard negatives only: every pair below is two {medium} clips that are not copies of each other "
        '(bench/README.md, "The null bench"). Seed '
        f"{doc['seed']}; engine `{doc['engine_tag']}`; calibration `{doc.get('calibration_version') or 'none'}`; "
        f"unrelated pairs kept per hard pair: {'all' if doc.get('cross_ratio') is None else doc['cross_ratio']}; "
        f"CPU {_cpu()}.",
        "",
    ]
    if doc.get("unavailable"):
        lines += [f"Not run (not installed here): {', '.join(doc['unavailable'])}.", ""]
    if doc.get("fingerprint_errors"):
        errs = doc["fingerprint_errors"]
        lines += [f"Clips refused by a fingerprinter ({len(errs)}; their pairs are errors):", ""]
        lines += [f"- `{k}`: {v}" for k, v in sorted(errs.items())[:20]]
        lines.append("")
    for half in ("calib", "report"):
        if half in doc["halves"]:
            lines += render_half(doc, half) + [""]
    return "\n".join(lines).rstrip() + "\n"
