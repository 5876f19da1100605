"""Deterministic synthetic test signals: note sequences with real spectral peaks, silence, tones, noise."""

from __future__ import annotations

import io
import struct

import numpy as np

SR = 8000


def notes(
    seconds: float, seed: int, sr: int = SR, harmonics: tuple[float, ...] = (1.0, 0.6, 0.36, 0.216)
) -> np.ndarray:
    """A random 'melody': overlapping decaying harmonic notes (3-4 per second), -1..1 float32.

    ``harmonics``: the amplitudes of each note's partials (the timbre); the same ``seed`` with another
    timbre plays the same notes at the same times on another instrument."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n, np.float32)
    t_note = np.arange(int(0.6 * sr)) / sr
    env = np.exp(-t_note * 6.0).astype(np.float32)
    onset = 0.0
    while onset < seconds:
        f0 = 110.0 * 2 ** (rng.integers(0, 36) / 12)
        note = sum(a * np.sin(2 * np.pi * f0 * (k + 1) * t_note) for k, a in enumerate(harmonics))
        start = int(onset * sr)
        seg = (note * env)[: n - start].astype(np.float32)
        out[start : start + seg.size] += seg
        onset += float(rng.uniform(0.15, 0.45))
    return (0.3 * out / max(1e-9, float(np.abs(out).max()))).astype(np.float32)


def tone(seconds: float, hz: float, amp: float = 0.5, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def add_noise(x: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(x.size).astype(np.float32)
    noise *= np.sqrt(np.mean(x**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    return (x + noise).astype(np.float32)


def wav_bytes(samples: np.ndarray, sr: int, declared_frames: int | None = None) -> bytes:
    """16-bit mono PCM WAV; ``declared_frames`` lets the header lie about the data length."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    frames = samples.size if declared_frames is None else declared_frames
    data_size = frames * 2
    buf = io.BytesIO()
    buf.write(b"RIFF" + struct.pack("<I", 36 + data_size) + b"WAVE")
    buf.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sr, sr * 2, 2, 16))
    buf.write(b"data" + struct.pack("<I", data_size))
    buf.write(pcm)
    return buf.getvalue()


def glides(seconds: float, seed: int, sr: int = SR) -> np.ndarray:
    """Sparse tonal 'song' (whale / howl-like): slow pitch glides with a few harmonics, 0.8-2.5 s each,
    separated by pauses. Few onsets, so few landmarks: the hard case for a landmark matcher."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n, np.float32)
    onset = float(rng.uniform(0.0, 0.5))
    while onset < seconds:
        length = float(rng.uniform(0.8, 2.5))
        m = int(length * sr)
        f_start, f_end = 2 ** rng.uniform(np.log2(200), np.log2(1200), 2)
        freq = np.geomspace(f_start, f_end, m)
        phase = 2 * np.pi * np.cumsum(freq) / sr
        env = np.sin(np.pi * np.arange(m) / m) ** 2
        call = sum((0.5**k) * np.sin((k + 1) * phase) for k in range(3)) * env
        start = int(onset * sr)
        seg = call[: n - start].astype(np.float32)
        out[start : start + seg.size] += seg
        onset += length + float(rng.uniform(0.3, 1.5))
    return (0.3 * out / max(1e-9, float(np.abs(out).max()))).astype(np.float32)
