"""Audio engine on synthetic signals (no data folder needed): alignment, speed, gates, signatures."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.signal import resample_poly

from audio_match.engine import AudioEngine
from medialayer.engine import Comparison
from tests.audio.synth import SR, add_noise, notes, tone

#: Evidence (key-weighted consistent matches in 10 s) far below a clean copy's, far above chance.
MATCH_EVIDENCE_FLOOR = 30.0


def evidence(result: Comparison) -> float:
    """The engine's evidence behind ``raw_score = log2(1 + evidence)``."""
    return 2.0**result.raw_score - 1.0


def test_excerpt_found_at_its_offset(engine: AudioEngine) -> None:
    src = notes(40.0, seed=1)
    host = notes(30.0, seed=2)
    excerpt = src[int(12.0 * SR) : int(22.0 * SR)]
    target = np.concatenate([host[: int(7.0 * SR)], excerpt, host[int(7.0 * SR) :]])
    result = engine.compare(engine.fingerprint_samples(src, SR), engine.fingerprint_samples(target, SR))
    assert evidence(result) > MATCH_EVIDENCE_FLOOR
    seg = result.segments[0]
    assert seg.source_start == pytest.approx(12.0, abs=0.3)
    assert seg.source_end == pytest.approx(22.0, abs=0.4)
    assert seg.target_start == pytest.approx(7.0, abs=0.3)
    assert seg.target_end == pytest.approx(17.0, abs=0.4)
    offset = result.details["segments"][0]["offset_s"]
    assert offset == pytest.approx(7.0 - 12.0, abs=0.05)


@pytest.mark.parametrize("speed", [0.93, 1.04])
def test_speed_change_is_measured(engine: AudioEngine, speed: float) -> None:
    src = notes(30.0, seed=3)
    fast = resample_poly(src, 1000, int(round(1000 * speed))).astype(np.float32)
    result = engine.compare(engine.fingerprint_samples(src, SR), engine.fingerprint_samples(fast, SR))
    assert evidence(result) > MATCH_EVIDENCE_FLOOR
    assert result.details["segments"][0]["speed"] == pytest.approx(speed, abs=0.005)
    seg = result.segments[0]
    assert (seg.source_end - seg.source_start) / (seg.target_end - seg.target_start) == pytest.approx(speed, abs=0.01)


def test_noisy_copy_still_matches_and_unrelated_does_not(engine: AudioEngine) -> None:
    src = notes(30.0, seed=4)
    same = engine.compare(engine.fingerprint_samples(src, SR), engine.fingerprint_samples(add_noise(src, 5, 9), SR))
    other = engine.compare(engine.fingerprint_samples(src, SR), engine.fingerprint_samples(notes(30.0, 5), SR))
    assert evidence(same) > MATCH_EVIDENCE_FLOOR
    assert evidence(other) < MATCH_EVIDENCE_FLOOR / 2
    assert evidence(same) > 5 * max(evidence(other), 1.0)


def test_repeated_part_gives_two_segments(engine: AudioEngine) -> None:
    src = notes(30.0, seed=6)
    host = notes(40.0, seed=7)
    part = src[int(5 * SR) : int(13 * SR)]
    target = np.concatenate([host[: 5 * SR], part, host[5 * SR : 15 * SR], part, host[15 * SR :]])
    result = engine.compare(engine.fingerprint_samples(src, SR), engine.fingerprint_samples(target, SR))
    starts = sorted(round(s.target_start) for s in result.segments)
    assert starts[:2] == [5, 23]
    assert all(s.source_start == pytest.approx(5.0, abs=0.3) for s in result.segments[:2])


@pytest.mark.parametrize(
    "a,b",
    [
        (np.zeros(12 * SR, np.float32), np.zeros(20 * SR, np.float32)),
        (tone(10, 440.0), tone(15, 440.0, amp=0.2)),
        (tone(10, 1000.0), np.zeros(10 * SR, np.float32)),
        (
            (np.random.default_rng(1).standard_normal(15 * SR) * 1e-3).astype(np.float32),
            (np.random.default_rng(2).standard_normal(15 * SR) * 1e-3).astype(np.float32),
        ),
    ],
    ids=["silence", "same-tone", "tone-vs-silence", "near-silence-noise"],
)
def test_degenerate_signals_do_not_match(engine: AudioEngine, a: np.ndarray, b: np.ndarray) -> None:
    result = engine.compare(engine.fingerprint_samples(a, SR), engine.fingerprint_samples(b, SR))
    assert evidence(result) < 5
    assert result.segments == []


def test_silence_and_tones_have_no_landmarks(engine: AudioEngine) -> None:
    assert engine.fingerprint_samples(np.zeros(10 * SR, np.float32), SR).n_peaks == 0
    # A steady tone only has its onset/offset transients, never a stream of landmarks.
    assert engine.fingerprint_samples(tone(20, 440.0), SR).n_peaks < 10


def test_fingerprint_samples_resamples_other_rates(engine: AudioEngine) -> None:
    src = notes(20.0, seed=8)
    hi = resample_poly(src, 2, 1).astype(np.float32)  # the same audio at 16 kHz
    result = engine.compare(engine.fingerprint_samples(src, SR), engine.fingerprint_samples(hi, 2 * SR))
    assert evidence(result) > MATCH_EVIDENCE_FLOOR
    assert result.details["segments"][0]["speed"] == pytest.approx(1.0, abs=0.003)


def test_signature_is_plain_picklable_data(engine: AudioEngine) -> None:
    sig = engine.fingerprint_samples(notes(10.0, seed=9), SR)
    again = pickle.loads(pickle.dumps(sig))
    assert np.array_equal(again.pairs.t1, sig.pairs.t1)
    assert engine.compare(sig, again).raw_score == engine.compare(sig, sig).raw_score


def test_details_are_json_serialisable(engine: AudioEngine) -> None:
    import json

    src = notes(15.0, seed=10)
    result = engine.compare(engine.fingerprint_samples(src, SR), engine.fingerprint_samples(src, SR))
    text = json.dumps(result.details)
    assert "speed" in text and "matches_in_variant" in text


def test_engine_identity() -> None:
    assert AudioEngine.media_type == "audio"
    assert AudioEngine.sample_rate == SR
    assert AudioEngine.version


def test_chunk_signatures_concatenate_onto_one_timeline(engine: AudioEngine) -> None:
    from audio_match.engine import concat_signatures

    whole = notes(40.0, seed=11)
    chunks = [(engine.fingerprint_samples(whole[s * SR : (s + 10) * SR], SR), float(s)) for s in (0, 10, 20, 30)]
    joined = concat_signatures(chunks)
    assert joined.duration_s == pytest.approx(40.0)
    excerpt = whole[int(25.0 * SR) : int(33.0 * SR)]
    result = engine.compare(joined, engine.fingerprint_samples(excerpt, SR))
    assert result.segments[0].source_start == pytest.approx(25.0, abs=0.5)
    assert result.details["segments"][0]["offset_s"] == pytest.approx(-25.0, abs=0.05)


def test_decisive_screening_matches_one_variant_in_full(engine: AudioEngine) -> None:
    from audio_match.engine.matching import Variant, search

    # Identity plus variants far from it: a self-copy wins the screening by a wide margin.
    grid = [Variant("speed", 1.0)] + [Variant(k, f) for k in ("speed", "tempo") for f in (0.9, 0.92, 1.08, 1.1)]
    src = engine.fingerprint_samples(notes(30.0, seed=11), SR).pairs
    results = search(src, src, grid)
    assert len(results) == 1 and results[0].variant == Variant("speed", 1.0)
    unrelated = engine.fingerprint_samples(notes(30.0, seed=12), SR).pairs
    assert len(search(src, unrelated, grid)) == 7  # no decisive winner: identity + shortlist in full


def test_full_copy_segment_snaps_to_the_file_edges(engine: AudioEngine) -> None:
    src = notes(20.0, seed=13)
    sig = engine.fingerprint_samples(src, SR)
    seg = max(engine.compare(sig, sig).segments, key=lambda s: s.source_end - s.source_start)
    assert seg.source_start == pytest.approx(0.0, abs=0.05) and seg.target_start == pytest.approx(0.0, abs=0.05)
    assert seg.source_end == pytest.approx(sig.duration_s, abs=0.05)
    assert seg.target_end == pytest.approx(sig.duration_s, abs=0.05)
