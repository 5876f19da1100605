"""A tiny fake medium for testing the bench machinery without any real engine or data.

Originals are short mono WAV files (2 kHz, 1 s of seeded noise) in a folder the test creates. Pairs:
positives ``noise`` (original + mild noise) and ``excerpt`` (the original padded with silence at a seeded
offset, true alignment recorded), negatives ``negative`` (another original). Ours ("medialayer") finds the
best lag by cross-correlation and reports the normalised correlation as its score and the aligned
segment; "fakepeer" only compares the first samples and cannot give segments; "missingpeer" is never
available. Real WAV files, so ffmpeg can measure a decode floor on them.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from bench.common import cached_file, rng_for, split_of
from bench.types import Alignment, Pair, Verdict

RATE = 2000


def write_wav(path: Path, samples: np.ndarray) -> None:
    pcm = (np.clip(samples, -1, 1) * 32000).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float) / 32000


def make_originals(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """Write ``n`` originals into ``folder`` (deterministic from ``seed``)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        path = folder / f"orig_{i:02d}.wav"
        write_wav(path, rng_for("fake-original", seed, i).normal(0, 0.3, RATE))
        out.append(path)
    return out


def build_pairs(data_dir: Path, cache_dir: Path, seed: int, quick: bool) -> list[Pair]:
    originals = sorted(data_dir.glob("*.wav"))
    if quick:
        originals = originals[:4]
    pairs: list[Pair] = []
    for idx, src in enumerate(originals):
        name = src.stem
        split = split_of(name, seed)
        base = read_wav(src)

        def noisy(tmp: Path, base: np.ndarray = base, name: str = name) -> None:
            write_wav(tmp, base + rng_for(seed, name, "noise").normal(0, 0.1, base.size))

        pairs.append(
            Pair(
                f"{name}-noise",
                "audio",
                split,
                "noise",
                True,
                src,
                cached_file(cache_dir, f"{name}-noise-{seed}", ".wav", noisy),
                name,
            )
        )
        offset = float(rng_for(seed, name, "excerpt").integers(1, 8)) / 10.0

        def padded(tmp: Path, base: np.ndarray = base, offset: float = offset) -> None:
            pad = np.zeros(int(round(offset * RATE)))
            write_wav(tmp, np.concatenate([pad, base, pad]))

        target = cached_file(cache_dir, f"{name}-excerpt-{seed}", ".wav", padded)
        truth = Alignment(0.0, 1.0, offset, offset + 1.0)
        pairs.append(Pair(f"{name}-excerpt", "audio", split, "excerpt", True, src, target, name, truth))
        other = originals[(idx + 1) % len(originals)]
        pairs.append(Pair(f"{name}-neg", "audio", split, "negative", False, src, other, name))
    return pairs


class FakeOurs:
    name = "medialayer"

    def available(self) -> bool:
        return True

    def run(self, pair: Pair) -> Verdict:
        a, b = read_wav(pair.source), read_wav(pair.target)
        corr = np.correlate(b, a, mode="valid") if b.size >= a.size else np.correlate(a, b, mode="valid")
        lag = int(np.argmax(corr))
        score = float(corr[lag] / (np.linalg.norm(a) * np.linalg.norm(b[lag : lag + a.size]) + 1e-9))
        dur = a.size / RATE
        seg = Alignment(0.0, dur, lag / RATE, lag / RATE + dur)
        return Verdict(
            score=score,
            match=score >= 0.5,
            segments=[seg] if score >= 0.5 else [],
            extra={"similarity_score": max(0.0, score)},
        )


class FakePeer:
    name = "fakepeer"

    def available(self) -> bool:
        return True

    def run(self, pair: Pair) -> Verdict:
        a, b = read_wav(pair.source)[:200], read_wav(pair.target)[:200]
        score = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))
        return Verdict(score=score, match=score >= 0.9, segments=None)


class MissingPeer:
    name = "missingpeer"

    def available(self) -> bool:
        return False

    def run(self, pair: Pair) -> Verdict:  # pragma: no cover - never called
        raise AssertionError("unavailable matcher was run")


def matchers() -> list:
    return [FakeOurs(), FakePeer(), MissingPeer()]


class Hanging:
    """Never answers in time (for the runner's timeout)."""

    name = "hanging"

    def available(self) -> bool:
        return True

    def run(self, pair: Pair) -> Verdict:
        import time

        time.sleep(60)
        return Verdict(score=1.0, match=True)


class Crashing:
    """Kills its own process (for the runner's crash handling)."""

    name = "crashing"

    def available(self) -> bool:
        return True

    def run(self, pair: Pair) -> Verdict:
        import os

        os._exit(3)


class Raising:
    name = "raising"

    def available(self) -> bool:
        return True

    def run(self, pair: Pair) -> Verdict:
        raise ValueError("cannot read this file")


class ChildAllocating:
    """Does its work in a helper process that holds ~200 MB (for the memory sampler)."""

    name = "child_alloc"

    def available(self) -> bool:
        return True

    def run(self, pair: Pair) -> Verdict:
        import subprocess
        import sys

        code = "import time; a = bytearray(200_000_000); a[::4096] = b'x' * len(a[::4096]); time.sleep(0.3)"
        subprocess.run([sys.executable, "-c", code], check=True)
        return Verdict(score=0.0, match=False)


class HangingInChild:
    """Hangs inside a helper process; writes the helper's pid to ``pair.source`` first."""

    name = "hanging_child"

    def available(self) -> bool:
        return True

    def run(self, pair: Pair) -> Verdict:
        import subprocess

        proc = subprocess.Popen(["sleep", "60"])
        pair.source.write_text(str(proc.pid))
        proc.wait()
        return Verdict(score=1.0, match=True)


def troublesome_matchers() -> list:
    return [Hanging(), Crashing(), Raising(), ChildAllocating(), HangingInChild()]
