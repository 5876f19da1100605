"""Calibrated scores: one meaning of ``similarity_score``, ``match`` and ``confidence`` for every medium.

Each engine emits a ``raw_score`` on its own scale. A :class:`Calibration`, fitted by
``python -m bench calibrate <medium>`` on the calibration half of the benchmark pairs and stored as a
versioned JSON file beside the engine, maps it monotonically onto [0, 1] through four fitted knots:

============  ==========================================================================  =========
knot (raw)    meaning                                                                     score
============  ==========================================================================  =========
``floor``     the lowest unrelated pair                                                    0.00
``clear``     99 % of unrelated pairs score at most this                                   0.20
``match``     false-positive rate <= 0.1 % at and above this (the ``match`` threshold)      0.50
``high``      false-positive rate <= 0.01 % (extrapolated by an extreme-value tail fit)    0.80
``top``       typical score of an exact copy                                               1.00
============  ==========================================================================  =========

so that, on every medium, ``match`` is ``score >= 0.5`` and ``confidence`` describes how sure the
verdict is:

* match, score >= 0.8: ``high`` (FPR <= 0.01 %); match, 0.5 <= score < 0.8: ``medium`` (FPR <= 0.1 %);
* no match, score <= 0.2: ``high`` (typical of unrelated media); 0.2 < score <= 0.35: ``medium``;
  0.35 < score < 0.5: ``low`` (some evidence, not enough to claim a match).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, model_validator

Confidence = Literal["low", "medium", "high"]

MATCH_SCORE = 0.5
HIGH_SCORE = 0.8
CLEAR_SCORE = 0.2
MEDIUM_NEGATIVE_SCORE = 0.35
TARGET_FPR_MATCH = 1e-3
TARGET_FPR_HIGH = 1e-4


class Calibration(BaseModel):
    """A fitted, versioned monotone map from an engine's raw score to the public score."""

    medium: str
    version: str
    engine_version: str = ""
    fitted_on: str = Field("", description="What the knots were fitted on (pairs, split, seed).")
    raw_floor: float = Field(description="Raw score mapped to 0.")
    raw_clear: float
    raw_match: float
    raw_high: float
    raw_top: float

    @model_validator(mode="after")
    def _monotone(self) -> Calibration:
        knots = [self.raw_floor, self.raw_clear, self.raw_match, self.raw_high, self.raw_top]
        if any(b <= a for a, b in zip(knots, knots[1:], strict=False)):
            raise ValueError(f"calibration knots must increase strictly: {knots}")
        return self

    def score(self, raw: float) -> float:
        """Map a raw engine score onto [0, 1] (piecewise linear, clipped)."""
        xs = [self.raw_floor, self.raw_clear, self.raw_match, self.raw_high, self.raw_top]
        ys = [0.0, CLEAR_SCORE, MATCH_SCORE, HIGH_SCORE, 1.0]
        if not np.isfinite(raw):
            return 0.0
        return float(np.clip(np.interp(raw, xs, ys), 0.0, 1.0))

    @staticmethod
    def verdict(score: float) -> tuple[bool, Confidence]:
        """``match`` and ``confidence`` for a calibrated score (the bands in the module doc)."""
        if score >= MATCH_SCORE:
            return True, "high" if score >= HIGH_SCORE else "medium"
        if score <= CLEAR_SCORE:
            return False, "high"
        return False, "medium" if score <= MEDIUM_NEGATIVE_SCORE else "low"

    @classmethod
    def load(cls, path: Path) -> Calibration:
        """Read a calibration file as it is (no version check: use :func:`load_calibration` to serve)."""
        return cls.model_validate(json.loads(Path(path).read_text()))

    def save(self, path: Path) -> None:
        Path(path).write_text(self.model_dump_json(indent=2) + "\n")


class CalibrationMismatch(RuntimeError):
    """The calibration file was fitted on another engine version: its knots mean nothing for this one.

    Raised at load, never silently tolerated: a stale calibration would turn a changed raw scale into
    wrong verdicts. Refit with ``python -m bench calibrate <medium>``.
    """


_CACHE: dict[tuple[str, float, str], Calibration] = {}
_CACHE_LOCK = threading.Lock()


def load_calibration(path: Path, engine_version: str) -> Calibration:
    """The calibration every engine serves with: read once per file version, checked against the engine.

    Raises ``FileNotFoundError`` when the engine has not been calibrated yet and
    :class:`CalibrationMismatch` when the file names another ``engine_version``. Cached by path and
    modification time, so a refit file is picked up without a restart.
    """
    path = Path(path)
    key = (str(path.resolve()), path.stat().st_mtime, engine_version)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    calibration = Calibration.load(path)
    if calibration.engine_version != engine_version:
        raise CalibrationMismatch(
            f"{path} was fitted on engine {calibration.engine_version!r}, not {engine_version!r}: "
            f"refit it with `python -m bench calibrate {calibration.medium}`"
        )
    with _CACHE_LOCK:
        _CACHE[key] = calibration
    return calibration


#: Share of the negatives whose excesses the tail model is fitted on (peaks over threshold).
TAIL_SHARE = 0.05
#: Fewer negatives than this: the 99.9th percentile rests on under ten exceedances, so ``match`` is
#: never put below the worst negative seen.
MIN_NEGATIVES_FOR_QUANTILE = 10_000


@dataclass(frozen=True)
class TailFit:
    """An exponential (Gumbel-domain) model of the negatives' upper tail: ``P(X > x) = share *
    exp(-(x - threshold) / scale)`` for ``x >= threshold`` — the peaks-over-threshold form of the
    extreme-value fit GUIDE §4 recommends instead of a single worst negative."""

    threshold: float
    share: float
    scale: float

    def exceedance(self, x: float) -> float:
        """Modelled share of unrelated pairs scoring above ``x``."""
        if x <= self.threshold:
            return self.share
        return self.share * float(np.exp(-(x - self.threshold) / self.scale))

    def quantile(self, fpr: float) -> float:
        """The raw score above which the model expects a share ``fpr`` of unrelated pairs."""
        if fpr >= self.share:
            return self.threshold
        return self.threshold + self.scale * float(np.log(self.share / fpr))


def fit_tail(negatives: np.ndarray, share: float = TAIL_SHARE) -> TailFit:
    """Fit :class:`TailFit` to the top ``share`` of ``negatives``: the scale is the mean excess over
    the threshold (the maximum-likelihood estimate for an exponential tail)."""
    neg = np.sort(np.asarray(negatives, dtype=float))
    threshold = float(np.quantile(neg, 1.0 - share))
    excess = neg[neg > threshold] - threshold
    span = float(neg[-1] - neg[0]) if neg.size else 0.0
    scale = float(excess.mean()) if excess.size else 0.0
    return TailFit(threshold=threshold, share=share, scale=max(scale, 1e-3 * span, 1e-9))


def fit_calibration(
    negatives: np.ndarray,
    positives: np.ndarray,
    *,
    medium: str,
    version: str,
    engine_version: str = "",
    fitted_on: str = "",
    margin: float = 0.02,
) -> Calibration:
    """Fit the knots from raw scores of unrelated (``negatives``) and related (``positives``) pairs.

    ``match`` sits ``margin`` of the raw range above the larger of (a) the negatives' empirical
    99.9th percentile — the worst negative seen while there are fewer than
    ``MIN_NEGATIVES_FOR_QUANTILE`` of them — and (b) the tail model's 0.1 % point (:func:`fit_tail`).
    ``high`` is the tail model's 0.01 % point, and at least as far above ``match`` as ``margin``: with
    a few thousand negatives that rate cannot be seen, only extrapolated, and the operating-point table
    (docs/api.md) shows what was measured there. ``clear`` is the negatives' 99th percentile, ``floor``
    their minimum, so ``similarity_score`` spreads unrelated pairs over [0, 0.2].
    """
    neg = np.asarray(negatives, dtype=float)
    pos = np.asarray(positives, dtype=float)
    neg = neg[np.isfinite(neg)]
    pos = pos[np.isfinite(pos)]
    if neg.size < 10 or pos.size < 10:
        raise ValueError("need at least 10 negative and 10 positive raw scores to calibrate")
    lo = float(min(neg.min(), pos.min()))
    hi = float(max(neg.max(), pos.max()))
    span = max(hi - lo, 1e-9)
    if neg.size < MIN_NEGATIVES_FOR_QUANTILE:
        empirical = float(neg.max())
    else:
        empirical = float(np.quantile(neg, 1.0 - TARGET_FPR_MATCH))
    tail = fit_tail(neg)
    raw_match = max(empirical, tail.quantile(TARGET_FPR_MATCH)) + margin * span
    raw_clear = min(float(np.quantile(neg, 0.99)), raw_match - 1e-6 * span)
    raw_high = max(tail.quantile(TARGET_FPR_HIGH), raw_match + margin * span)
    raw_top = max(float(np.quantile(pos, 0.99)), raw_high + margin * span)
    raw_floor = min(float(neg.min()), raw_clear - 1e-6 * span)
    return Calibration(
        medium=medium,
        version=version,
        engine_version=engine_version,
        fitted_on=fitted_on,
        raw_floor=raw_floor,
        raw_clear=raw_clear,
        raw_match=raw_match,
        raw_high=raw_high,
        raw_top=raw_top,
    )
