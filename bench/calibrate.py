"""``python -m bench calibrate <medium>``: fit ours' score calibration on the CALIBRATION half.

Runs ours (the matcher named ``medialayer``) on every calibration-half pair, takes its raw scores
(``Verdict.score``) of negatives and positives, fits :func:`medialayer.calibration.fit_calibration` and
writes ``functions/<medium>/<medium>_match/calibration.json``. The report half is never looked at, so the
``match`` threshold the benchmark reports on was fixed before the report pairs were scored.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Sequence
from pathlib import Path

from bench.common import repo_root
from bench.runner import OURS, matcher_runners, run_pairs
from bench.types import Pair, Verdict
from medialayer.calibration import Calibration, fit_calibration


def calibration_path(medium: str) -> Path:
    """Where the engine loads its calibration from."""
    return repo_root() / "functions" / medium / f"{medium}_match" / "calibration.json"


def engine_version(medium: str) -> str:
    """The medium package's ``ENGINE_VERSION`` (or ``__version__``) if it declares one, else ``""``."""
    try:
        mod = importlib.import_module(f"{medium}_match")
    except ImportError:
        return ""
    for attr in ("ENGINE_VERSION", "__version__"):
        value = getattr(mod, attr, None)
        if isinstance(value, str):
            return value
    for sub in ("engine", "engine.engine", f"{medium}_engine"):
        try:
            value = getattr(importlib.import_module(f"{medium}_match.{sub}"), "ENGINE_VERSION", None)
        except ImportError:
            continue
        if isinstance(value, str):
            return value
    return ""


def raw_scores(pairs: Sequence[Pair], verdicts: Sequence[Verdict]) -> tuple[list[float], list[float]]:
    """(negative, positive) raw scores of the calibration-half pairs; errored pairs are left out
    (and counted by the caller) since they have no score to place a threshold on."""
    neg: list[float] = []
    pos: list[float] = []
    for p, v in zip(pairs, verdicts, strict=True):
        if p.split != "calib" or v.score is None:
            continue
        (pos if p.positive else neg).append(float(v.score))
    return neg, pos


def null_negatives(medium: str, seed: int) -> list[float]:
    """The null bench's calibration-half raw scores (``python -m bench negatives <medium> --half calib``),
    refused unless that run used this very engine version — raw scores of another version mean nothing."""
    import json

    from bench.negatives.run import load_null_scores, raw_path

    doc = json.loads(raw_path(medium, False, seed).read_text())
    tag, version = str(doc.get("engine_tag", "")), engine_version(medium)
    if not version or not tag.startswith(version + "-"):
        raise SystemExit(
            f"the null bench dump was made with engine {tag!r}, not {version!r}: "
            f"rerun `python -m bench negatives {medium} --half calib` first"
        )
    return [float(x) for x in load_null_scores(medium, "calib", seed)]


def fit_from_run(
    medium: str,
    pairs: Sequence[Pair],
    verdicts: Sequence[Verdict],
    *,
    seed: int,
    quick: bool,
    today: dt.date | None = None,
    extra_negatives: Sequence[float] = (),
) -> Calibration:
    """Fit the calibration from ours' verdicts on calibration-half pairs (plus, optionally, the null
    bench's calibration-half negatives)."""
    today = today or dt.datetime.now(dt.UTC).date()
    neg, pos = raw_scores(pairs, verdicts)
    errors = sum(1 for p, v in zip(pairs, verdicts, strict=True) if p.split == "calib" and v.score is None)
    null = f" + {len(extra_negatives)} null-bench negatives" if extra_negatives else ""
    neg = neg + [float(x) for x in extra_negatives]
    fitted_on = (
        f"bench {medium} pairs, calibration half, seed {seed}{' (quick subset)' if quick else ''}: "
        f"{len(neg) - len(extra_negatives)} negatives{null}, {len(pos)} positives ({errors} errored pairs left out), "
        f"{today.isoformat()}"
    )
    return fit_calibration(
        neg,
        pos,
        medium=medium,
        version=f"{medium}-{today.strftime('%Y%m%d')}-s{seed}{'-quick' if quick else ''}",
        engine_version=engine_version(medium),
        fitted_on=fitted_on,
    )


def run_calibration(
    medium: str,
    pairs: Sequence[Pair],
    peers_spec: str,
    *,
    seed: int,
    quick: bool,
    isolate: bool = True,
    timeout: float = 300.0,
    with_null: bool = False,
) -> Calibration:
    """Run ours on the calibration half of ``pairs`` and fit (does not write anything); ``with_null`` adds
    the null bench's calibration-half negatives (:func:`null_negatives`)."""
    extra = null_negatives(medium, seed) if with_null else []
    calib = [p for p in pairs if p.split == "calib"]
    if not calib:
        raise ValueError("no calibration-half pairs")
    with matcher_runners(peers_spec, isolate=isolate, timeout=timeout, only=[OURS]) as (runners, unavailable):
        if not runners:
            raise RuntimeError(f"our matcher {OURS!r} is not available: {unavailable}")
        verdicts, _ = run_pairs(calib, runners, decode_floor=None)
    return fit_from_run(medium, calib, verdicts[OURS], seed=seed, quick=quick, extra_negatives=extra)
