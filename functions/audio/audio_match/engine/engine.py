"""``AudioEngine``: the :class:`medialayer.engine.Engine` for audio (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import resample_poly

from audio_match.engine import align, bandcorr, candidates, fidelity, null
from audio_match.engine.decode import decode_mono
from audio_match.engine.landmarks import (
    DT_MAX,
    FRAMES_PER_S,
    HOP,
    N_FFT,
    SAMPLE_RATE,
    PeakPairs,
    find_peaks,
    log_spectrogram,
    pair_peaks,
)
from audio_match.engine.matching import Variant, VariantMatches, match_weights, offset_peak, search
from audio_match.engine.verify import DensePeaks, best_stretch, dense_peaks
from medialayer.calibration import Calibration, CalibrationMismatch, load_calibration
from medialayer.caps import DEFAULT_CAPS, MediaCaps
from medialayer.engine import Comparison, MatchedSegment

ENGINE_VERSION = "audio-landmarks-6-fidelity"
CALIBRATION_PATH = Path(__file__).resolve().parents[1] / "calibration.json"
#: Fewer pairs than this on either side: too little structure to claim anything (silence, tones).
MIN_PAIRS = 20
#: Seconds from a frame index to the centre of its analysis window.
_FRAME_S = HOP / SAMPLE_RATE
_CENTRE_S = N_FFT / 2 / SAMPLE_RATE
#: A segment ending this close to a file's start or end is extended to it: landmark pairs span up to
#: DT_MAX frames, so the first / last second of a file holds few anchors and a copy's edge shows late.
EDGE_SNAP_S = DT_MAX / FRAMES_PER_S + _CENTRE_S


@dataclass(frozen=True)
class AudioSignature:
    """Landmark pairs, dense peaks and band energies (for verification) of one recording: plain
    picklable data."""

    pairs: PeakPairs
    duration_s: float
    n_peaks: int
    engine_version: str = ENGINE_VERSION
    dense: DensePeaks = field(default_factory=DensePeaks.empty)
    bands: bandcorr.BandEnergies = field(default_factory=bandcorr.BandEnergies.empty)


def concat_signatures(parts: list[tuple[AudioSignature, float]]) -> AudioSignature:
    """One signature from chunk signatures and their start times (s) on the whole timeline.

    For the video fan-out, where each chunk worker fingerprints its own time range: anchor times are
    shifted by each chunk's start; pairs that would straddle two chunks are simply absent (a few per
    boundary), which the matcher tolerates like any lost landmark.
    """
    if not parts:
        z = np.zeros(0, np.float32)
        return AudioSignature(pairs=PeakPairs(z, z, z, z), duration_s=0.0, n_peaks=0)
    dense = DensePeaks.concat([(sig.dense, int(round(start * FRAMES_PER_S))) for sig, start in parts])
    shifted = [
        (sig.pairs.t1 + np.float32(start * FRAMES_PER_S), sig) for sig, start in sorted(parts, key=lambda p: p[1])
    ]
    pairs = PeakPairs(
        t1=np.concatenate([t1 for t1, _ in shifted]).astype(np.float32),
        lf1=np.concatenate([s.pairs.lf1 for _, s in shifted]),
        dlf=np.concatenate([s.pairs.dlf for _, s in shifted]),
        dt=np.concatenate([s.pairs.dt for _, s in shifted]),
    )
    end = max(start + sig.duration_s for sig, start in parts)
    n_peaks = sum(s.n_peaks for s, _ in parts)
    bands = bandcorr.BandEnergies.concat([(sig.bands, start) for sig, start in parts])
    return AudioSignature(pairs=pairs, duration_s=float(end), n_peaks=n_peaks, dense=dense, bands=bands)


def _seconds(frames: float) -> float:
    return float(frames) * _FRAME_S + _CENTRE_S


class AudioEngine:
    """Audio matcher: ``fingerprint`` / ``fingerprint_samples`` -> :class:`AudioSignature`; ``compare``."""

    media_type = "audio"
    version = ENGINE_VERSION
    sample_rate = SAMPLE_RATE

    def __init__(self, calibration_path: Path | None = None, null_weight: float = null.NULL_WEIGHT) -> None:
        self._calibration_path = Path(calibration_path or CALIBRATION_PATH)
        #: Weight of the decoy's evidence in the raw score (``null.margin``; 0: the decoy is not run).
        self.null_weight = float(null_weight)

    # -- signatures -------------------------------------------------------------------------------
    def fingerprint(self, path: Path, caps: MediaCaps | None = None) -> AudioSignature:
        """Decode the first audio stream of ``path`` (audio file or video container) and fingerprint it.

        Raises ``DurationTooLong`` above ``caps.max_duration_s`` (header or decoded length) and
        ``UnsupportedMedia`` when it cannot be decoded or has no audio track.
        """
        caps = caps if caps is not None else DEFAULT_CAPS["audio"]
        return self.fingerprint_samples(decode_mono(Path(path), SAMPLE_RATE, caps), SAMPLE_RATE)

    def fingerprint_samples(self, samples: np.ndarray, sr: int) -> AudioSignature:
        """Fingerprint already-decoded mono samples (float, -1..1) at ``sr`` Hz (resampled if not 8 kHz)."""
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        if sr != SAMPLE_RATE:
            g = int(np.gcd(int(sr), SAMPLE_RATE))
            x = resample_poly(x, SAMPLE_RATE // g, int(sr) // g).astype(np.float32)
        if not np.isfinite(x).all():
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        logmag = log_spectrogram(x)
        peaks = find_peaks(logmag)
        return AudioSignature(
            pairs=pair_peaks(peaks),
            duration_s=x.size / SAMPLE_RATE,
            n_peaks=int(peaks.t.size),
            dense=dense_peaks(logmag),
            bands=bandcorr.band_energies(logmag),
        )

    # -- comparison -------------------------------------------------------------------------------
    def compare(self, source: AudioSignature, target: AudioSignature) -> Comparison:
        """Align ``target`` against ``source``.

        The search (``_search``) gives the pair's *evidence*: the landmark evidence of the best aligned
        line is the largest sum, over any 10 s of it, of its time-consistent matches, each weighted by
        ``1 / sqrt(matches sharing its key)`` (``matching.match_weights``), so repeated keys (beats,
        held notes) cannot pile up chance evidence; it counts in full only when the line's band envelopes
        correlate (``candidates.gate_by_line_correlation``). Candidate alignments (that line, the top
        variants' offset peaks, the identity's best offset peaks, the best offsets of the exhaustive
        correlation search, ``corrsearch``) are then verified: the one whose band envelopes give the most
        evidence (``candidates.correlation_evidence``) adds it when it confirms the line, or carries the
        evidence (and the segment, located by its dense peak verification, ``verify``) alone when it is
        another alignment that verifies better than the line's landmarks.

        With ``null_weight`` > 0 the same search then runs against the target played backwards
        (:mod:`null`), replaying the hypothesis families the real one tried, and ``raw_score`` is the real
        evidence's margin over the decoy's (``null.margin``), each segment's raw evidence on the same
        scale. At the default weight 0 (measured: ``null.NULL_WEIGHT``) the decoy is not run and
        ``raw_score`` is ``log2(1 + evidence)``.
        """
        details: dict[str, Any] = {
            "engine_version": ENGINE_VERSION,
            "source_pairs": int(source.pairs.t1.size),
            "target_pairs": int(target.pairs.t1.size),
        }
        if source.pairs.t1.size < MIN_PAIRS or target.pairs.t1.size < MIN_PAIRS:
            details["reason"] = "too little spectral structure (silence, tone or noise)"
            return Comparison(raw_score=0.0, segments=[], details=details)
        src_res = bandcorr.residual(source.bands)
        tgt_res = bandcorr.residual(target.bands)
        real = self._search(source, target, src_res, tgt_res, self._match_evidence())
        if null.skip_decoy(real.total, self._clear_raw() if self.null_weight > 0 else None, self.null_weight):
            decoy_total, decoy_skipped = 0.0, True
        else:
            # The decoy's residual is the target's reversed (the running means are symmetric filters).
            decoy = self._search(source, null.reversed_signature(target), src_res, tgt_res[::-1], 0.0, replay=real)
            decoy_total, decoy_skipped = decoy.total, False
        raw = null.margin(real.total, decoy_total, self.null_weight)
        details.update(real.details)
        details["null"] = {
            "evidence": round(real.total, 3),
            "decoy_evidence": round(decoy_total, 3),
            "decoy_skipped": decoy_skipped,
        }
        # Segments carry their own raw evidence, on the pair's margin scale; the shared verdict
        # (medialayer.verdict) calibrates them and decides which are reported.
        segments = [self._segment(fs, source.duration_s, target.duration_s, decoy_total) for fs in real.segments]
        # Levels that drifted more than any calibration copy's, or could not be measured: a match may
        # stand, a high confidence may not (medialayer.verdict).
        conclusive = fidelity.is_conclusive(real.deviation)
        return Comparison(raw_score=raw, segments=segments, details=details, conclusive=conclusive)

    def _search(
        self,
        source: AudioSignature,
        target: AudioSignature,
        src_res: np.ndarray,
        tgt_res: np.ndarray,
        min_line_evidence: float,
        replay: _Search | None = None,
    ) -> _Search:
        """The pair's evidence, segments and details (``compare``); ``replay``: the real pair's search,
        when this is its decoy's — the same landmark variants are matched (in full, no screening) and the
        same candidate families verified."""
        if replay is None:
            results = search(source.pairs, target.pairs)
        else:
            results = search(source.pairs, target.pairs, list(replay.variants), screen_every=1)
        best = results[0]
        weights = match_weights(best.keys)
        lines, frame_segments = _extract_lines(best, weights, min_line_evidence)
        evidence = []
        for ln in lines:
            order = np.argsort(best.t_src[ln.inliers], kind="stable")
            idx = ln.inliers[order]
            evidence.append(round(align.window_evidence(best.t_src[idx], weights[idx], FRAMES_PER_S), 3))
        landmark_evidence = max(evidence) if evidence else 0.0
        verified = candidates.best_verified(
            source.dense,
            target.dense,
            (src_res, tgt_res),
            results,
            lines[0] if lines else None,
            weights,
            landmark_evidence,
            replay=replay.verified if replay is not None else None,
        )
        best_cand = verified.best
        cand, ver = best_cand.candidate, best_cand.verification
        line_gate = candidates.gate_by_line_correlation(verified.line_correlation)
        landmark_evidence *= line_gate
        frame_segments = [fs.scaled(line_gate) for fs in frame_segments]
        first, last, _excess = best_stretch(ver)
        on_line = bool(lines) and candidates.is_on_line(cand, ver.offset, lines[0], 0.5 * (first + last))
        bonus = best_cand.evidence
        if on_line:  # the same alignment, confirmed densely: the two kinds of evidence add up
            total = landmark_evidence + bonus
            if bonus > 0:
                frame_segments = candidates.extend_to_stretch(frame_segments, first, last)
        elif bonus > landmark_evidence:  # another alignment verifies better: it alone carries the score
            total = bonus
            frame_segments = [candidates.verified_segment(cand, ver, first, last, bonus)]
        else:
            total = landmark_evidence
        # Whether the alignment that carries the score keeps the source's levels (a copy does, another
        # rendering of the same text or melody does not): its weight scales the pair and its segments.
        # That alignment is the landmark line over its strongest segment when the line alone carries
        # the evidence, else the verified candidate over the stretch where its verification holds.
        if not on_line and bonus <= landmark_evidence:
            deviation = float("inf")
            if lines and frame_segments:
                fs, line = frame_segments[0], lines[0]
                pitch = best.variant.pitch_scale
                deviation = fidelity.level_deviation(
                    source.bands, target.bands, line.slope, line.offset, pitch, fs.src_start, fs.src_end
                )
        else:
            deviation = fidelity.level_deviation(
                source.bands, target.bands, cand.slope, ver.offset, cand.variant.pitch_scale, first, last
            )
        weight = fidelity.factor(deviation)
        unweighted = total
        total *= weight
        frame_segments = align.drop_shadowed([fs.scaled(weight) for fs in frame_segments])
        details: dict[str, Any] = {
            "verify": {
                "correlation": round(best_cand.correlation, 4),
                "line_correlation": round(verified.line_correlation, 4),
                "z": round(ver.z, 3),
                "evidence": round(bonus, 3),
                "variant": {"kind": cand.variant.kind, "factor": cand.variant.factor},
                "searched": cand.searched,
                "offset_s": round(ver.offset * _FRAME_S, 3),
                "on_line": on_line,
            },
            "fidelity": {
                "level_deviation": round(deviation, 3) if np.isfinite(deviation) else None,
                "weight": round(weight, 3),
                "evidence_before": round(unweighted, 3),
            },
            "variant": {"kind": best.variant.kind, "factor": best.variant.factor},
            "matches_in_variant": int(best.t_src.size),
            "offset_peak_count": best.peak_count,
            "line_inliers": [int(ln.inliers.size) for ln in lines],
            "line_evidence": evidence,
            "segments": [
                {
                    "speed": round(1.0 / fs.slope, 4) if fs.slope > 0 else None,
                    "offset_s": round(_seconds(fs.tgt_start) - _seconds(fs.src_start), 3),
                    "matches": fs.matches,
                    "evidence": round(fs.evidence, 3),
                }
                for fs in frame_segments
            ],
        }
        return _Search(
            total=float(total),
            segments=frame_segments,
            variants=tuple(r.variant for r in results),
            verified=verified,
            details=details,
            deviation=deviation,
        )

    def _segment(self, fs: align.FrameSegment, src_dur: float, tgt_dur: float, decoy: float) -> MatchedSegment:
        s0, s1 = _seconds(fs.src_start), _seconds(fs.src_end)
        t0, t1 = _seconds(fs.tgt_start), _seconds(fs.tgt_end)
        slope = fs.slope if fs.slope > 0 else 1.0
        # Snap to file edges along the line (both timelines move together, so the alignment holds).
        lead = min(s0, t0 / slope)
        if 0.0 < lead <= EDGE_SNAP_S:
            s0, t0 = s0 - lead, t0 - lead * slope
        tail = min(src_dur - s1, (tgt_dur - t1) / slope)
        if 0.0 < tail <= EDGE_SNAP_S:
            s1, t1 = s1 + tail, t1 + tail * slope
        return MatchedSegment(
            source_start=max(0.0, s0),
            source_end=min(src_dur, s1) if src_dur > 0 else s1,
            target_start=max(0.0, t0),
            target_end=min(tgt_dur, t1) if tgt_dur > 0 else t1,
            score=null.margin(fs.evidence, decoy, self.null_weight),
        )

    def _match_evidence(self) -> float:
        """Evidence whose log reaches the calibrated match threshold: further lines below it are not
        extracted — their margin over any decoy is lower still (0 while no calibration fits this engine
        version, e.g. during ``bench calibrate``: every line is kept)."""
        try:
            return float(2.0 ** self.calibration().raw_match - 1.0)
        except (FileNotFoundError, CalibrationMismatch):
            return 0.0

    def _clear_raw(self) -> float | None:
        """The calibration's clear-no-match knot (None while uncalibrated: the decoy always runs)."""
        try:
            return float(self.calibration().raw_clear)
        except (FileNotFoundError, CalibrationMismatch):
            return None

    def calibration(self) -> Calibration:
        """The fitted score mapping (``calibration.json`` beside the package)."""
        return load_calibration(self._calibration_path, ENGINE_VERSION)


@dataclass(frozen=True)
class _Search:
    """One search's outcome: its evidence, segments and details, and the hypothesis families it tried
    (the landmark variants matched in full, the candidates verified), which its decoy search replays."""

    total: float
    segments: list[align.FrameSegment]
    variants: tuple[Variant, ...]
    verified: candidates.Verified
    details: dict[str, Any]
    #: ``fidelity.level_deviation`` of the alignment that carries the evidence (its ``factor`` is already
    #: applied to ``total``).
    deviation: float = float("inf")


def _extract_lines(
    best: VariantMatches, weights: np.ndarray, min_evidence: float = 0.0
) -> tuple[list[align.Line], list[align.FrameSegment]]:
    """Lines of the winning variant, strongest first, and their segments (at most ``MAX_LINES``).

    The first line is always returned (its evidence is the raw score); further lines (repeats,
    rearrangements) only while their own evidence reaches ``min_evidence`` (the match threshold).
    """
    t_src = best.t_src.astype(np.float64)
    t_tgt = best.t_tgt.astype(np.float64)
    t_end = t_src + best.dt_src
    remaining = np.arange(t_src.size)
    lines: list[align.Line] = []
    segments: list[align.FrameSegment] = []
    scale = best.variant.time_scale
    for _ in range(align.MAX_LINES):
        offsets = t_tgt[remaining] - scale * t_src[remaining]
        count, peak = offset_peak(offsets)
        if count < (align.MIN_SEGMENT_MATCHES if not lines else align.MIN_SEGMENT_MATCHES + 4):
            break
        # Only matches the line can reach: the grid's residual speed error lets it drift this far.
        reach = align.SLOPE_SPAN * float(np.ptp(t_src[remaining])) + 2 * align.OFFSET_BIN
        near = remaining[np.abs(offsets - peak) <= reach]
        slope, offset, _votes = align.hough_line(t_src[near], t_tgt[near], scale)
        line = align.refine_line(t_src[near], t_tgt[near], slope, offset)
        line = align.Line(line.slope, line.offset, near[line.inliers])
        if lines:
            order = np.argsort(t_src[line.inliers], kind="stable")
            inl = line.inliers[order]
            if align.window_evidence(t_src[inl], weights[inl], FRAMES_PER_S) < min_evidence:
                break
        found = align.split_segments(t_src, t_end, weights, line, FRAMES_PER_S, keep_best=not lines)
        if lines and not found:
            break
        lines.append(line)
        segments.extend(found)
        remaining = np.setdiff1d(remaining, line.inliers, assume_unique=True)
    segments.sort(key=lambda s: -s.matches)
    return lines, segments
