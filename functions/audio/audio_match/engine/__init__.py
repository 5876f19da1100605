"""The audio engine: dense spectral landmarks, speed/tempo/pitch-robust matching, aligned segments.

    engine = AudioEngine()
    sig = engine.fingerprint(path, caps)            # any accepted audio, or a video's soundtrack
    sig = engine.fingerprint_samples(mono, 8000)    # already-decoded mono float32 (video engine)
    result = engine.compare(sig_a, sig_b)           # raw_score, segments, details

Pipeline: decode to 8 kHz mono (``decode``) -> log spectrogram and landmarks, paired into continuous
hash values (``landmarks``) -> keys under a grid of speed/tempo/pitch variants looked up in the other
side's key table, offset histogram per variant (``matching``) -> Hough line over slope/offset, least
squares refinement, segments (``align``) -> verification of candidate alignments (``candidates``
proposes them: the landmark line, the top variants' offset peaks, and the best offsets of an exhaustive
search at unchanged speed and along the landmarks' best variant, ``corrsearch``; ``bandcorr``:
correlation of log band-energy changes along an alignment, the score; ``verify``: dense spectral peaks
mapped through it, hits against chance at null offsets, which locate the stretch where it holds).
``raw_score`` is ``log2(1 + evidence)``: the key-rarity-weighted count of time-consistent matches in
the best 10 s of the best line (scaled down when the line's own band envelopes do not correlate), plus
the best candidate's correlation evidence (``AudioEngine.compare``); the calibration
(``calibration.json``, fitted by ``python -m bench calibrate audio``) maps it to the public score.
``null``: the per-pair null (the same search against the target played backwards, the margin over it);
measured not to help on the calibration halves, so off by default (``null.NULL_WEIGHT``).
"""

from __future__ import annotations

from audio_match.engine.engine import ENGINE_VERSION, AudioEngine, AudioSignature, concat_signatures

__all__ = ["ENGINE_VERSION", "AudioEngine", "AudioSignature", "concat_signatures"]
