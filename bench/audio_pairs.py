"""Audio benchmark pairs: real recordings from ``<data>/audio``, seeded transforms, hard negatives.

Originals are split into calibration and report halves by original (``bench.common.split_of``); every
pair's files derive from originals of its own half only. Transforms come from libraries, not
hand-written DSP: pedalboard (pitch shift and time stretch via Rubber Band, reverb, gain, filters,
GSM telephone codec), audiomentations (Gaussian noise at a given SNR), scipy (resampling for speed
changes) and the ffmpeg binary of ``imageio_ffmpeg`` (MP3 / AAC / Opus encoders).

Positives (source = the original file, target = a transformed copy; ``truth`` = where and how fast):
  mp3_32k, aac_32k, opus_16k, noise_snr15/5/0, telephone, volume, speed_0.95/0.98/1.02/1.05,
  tempo_0.95/1.05 (time only), pitch_-1st/+1st (pitch only, one semitone), reverb, mix (other music
  5 dB below), excerpt (5-30 s of the source spliced into unrelated material), excerpt_snr5_mp3 (the
  same, then noise at SNR 5 dB and MP3 32 kb/s).
Negatives: every two originals of a half ("negative"), an original against transformed copies of other
originals ("negative_transformed"), two halves of the same speech recording ("same_speaker"), and
synthetic hard cases — digital silence, near-silence (noise at -60 dBFS), pure tones of the same
pitch, tone vs silence ("silence", "near_silence", "tone").

Everything is deterministic from the seed (``bench.common.rng_for``) and cached under ``cache_dir``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from bench.common import cached_file, rng_for, split_of
from bench.types import Alignment, Pair, Split

SR = 22050
CODEC_ARGS: dict[str, tuple[str, list[str]]] = {
    "mp3_32k": (".mp3", ["-c:a", "libmp3lame", "-b:a", "32k"]),
    "aac_32k": (".m4a", ["-c:a", "aac", "-b:a", "32k"]),
    "opus_16k": (".ogg", ["-c:a", "libopus", "-b:a", "16k"]),
}
FULL_FAMILIES = (
    "mp3_32k",
    "aac_32k",
    "opus_16k",
    "noise_snr15",
    "noise_snr5",
    "noise_snr0",
    "telephone",
    "volume",
    "speed_0.95",
    "speed_0.98",
    "speed_1.02",
    "speed_1.05",
    "tempo_0.95",
    "tempo_1.05",
    "pitch_-1st",
    "pitch_+1st",
    "reverb",
    "mix",
    "excerpt",
    "excerpt_snr5_mp3",
)
QUICK_FAMILIES = ("mp3_32k", "noise_snr5", "speed_1.05", "tempo_0.95", "pitch_+1st", "excerpt_snr5_mp3")
SPEECH_PREFIXES = ("ljspeech", "silero", "osr", "pyaa_diarization")
NEG_TRANSFORMED_PER_ORIGINAL = 12


# -- audio helpers ----------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _load(path: str) -> np.ndarray:
    """An original as mono float32 at SR (cached per process)."""
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    mono = x.mean(axis=1)
    if sr != SR:
        g = int(np.gcd(sr, SR))
        mono = resample_poly(mono, SR // g, sr // g)
    return np.ascontiguousarray(mono, dtype=np.float32)


def _write_wav(path: Path, x: np.ndarray) -> None:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 0.999:
        x = x * (0.999 / peak)  # keep the waveform (a transform may overshoot); level is not the test
    sf.write(str(path), x.astype(np.float32), SR, subtype="PCM_16", format="WAV")


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _encode(x: np.ndarray, out: Path, args: list[str]) -> None:
    """Encode mono float samples with the ffmpeg binary into ``out`` (format from its suffix)."""
    wav = out.with_name(out.stem + ".src.wav")
    _write_wav(wav, x)
    try:
        cmd = [_ffmpeg(), "-nostdin", "-v", "error", "-y", "-i", str(wav), *args, str(out)]
        subprocess.run(cmd, check=True, capture_output=True)
    finally:
        wav.unlink(missing_ok=True)


def _snr_noise(x: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    from audiomentations import AddGaussianSNR

    np.random.seed(seed % (2**32))  # audiomentations draws from numpy's global generator
    return AddGaussianSNR(min_snr_db=snr_db, max_snr_db=snr_db, p=1.0)(samples=x, sample_rate=SR)


def _board(x: np.ndarray, plugins: list) -> np.ndarray:
    from pedalboard import Pedalboard

    return Pedalboard(plugins)(x[None, :], SR)[0]


def _speed(x: np.ndarray, factor: float) -> np.ndarray:
    """Play ``factor`` times faster (pitch follows), by resampling."""
    down = int(round(1000 * factor))
    g = int(np.gcd(1000, down))
    return resample_poly(x, 1000 // g, down // g).astype(np.float32)


def _tempo(x: np.ndarray, factor: float) -> np.ndarray:
    from pedalboard import time_stretch

    return time_stretch(x[None, :], SR, stretch_factor=factor)[0]


def _pitch(x: np.ndarray, semitones: float) -> np.ndarray:
    from pedalboard import PitchShift

    return _board(x, [PitchShift(semitones=semitones)])


def _splice(host: np.ndarray, piece: np.ndarray, at: int) -> np.ndarray:
    """Insert ``piece`` into ``host`` at sample ``at`` with 10 ms crossfades at both joins."""
    fade = int(0.01 * SR)
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    piece = piece.copy()
    piece[:fade] *= ramp
    piece[-fade:] *= ramp[::-1]
    return np.concatenate([host[:at], piece, host[at:]]).astype(np.float32)


# -- pair building ----------------------------------------------------------------------------------
class _Builder:
    def __init__(self, data_dir: Path, cache_dir: Path, seed: int) -> None:
        self.audio_dir = Path(data_dir) / "audio"
        self.cache = Path(cache_dir)
        self.seed = seed

    def original(self, name: str) -> Path:
        return self.audio_dir / f"{name}.ogg"

    def samples(self, name: str) -> np.ndarray:
        return _load(str(self.original(name)))

    def file(self, key: str, suffix: str, make: Callable[[Path], None]) -> Path:
        return cached_file(self.cache, f"s{self.seed}-{key}", suffix, make)

    def n_samples(self, name: str) -> int:
        """Length of an original at SR, from its header (no decoding)."""
        info = sf.info(str(self.original(name)))
        return int(np.ceil(info.frames * SR / info.samplerate))

    def positive(self, name: str, family: str, others: list[str], split: Split) -> Pair:
        """One transformed copy of ``name`` (``others``: unrelated originals of the same half).

        Parameters and the truth are drawn first (cheap); the audio is only rendered when the cached
        file does not exist yet.
        """
        rng = rng_for(self.seed, "audio", name, family)
        dur = self.n_samples(name) / SR
        truth = Alignment(0.0, dur, 0.0, dur, 1.0)
        suffix, args = ".flac", None
        render: Callable[[np.ndarray], np.ndarray]

        if family in CODEC_ARGS:
            suffix, args = CODEC_ARGS[family]
            render = lambda x: x  # noqa: E731
        elif family.startswith("noise_snr"):
            snr, nseed = float(family.removeprefix("noise_snr")), int(rng.integers(2**31))
            render = lambda x: _snr_noise(x, snr, nseed)  # noqa: E731
        elif family == "telephone":

            def render(x: np.ndarray) -> np.ndarray:
                from pedalboard import GSMFullRateCompressor, HighpassFilter, LowpassFilter

                return _board(x, [HighpassFilter(300.0), LowpassFilter(3400.0), GSMFullRateCompressor()])

        elif family == "volume":
            gain_db = float(rng.choice([-18.0, -12.0]))

            def render(x: np.ndarray) -> np.ndarray:
                from pedalboard import Gain

                return _board(x, [Gain(gain_db=gain_db)])

        elif family.startswith(("speed_", "tempo_")):
            f = float(family.split("_", 1)[1])
            render = (lambda x: _speed(x, f)) if family.startswith("speed_") else (lambda x: _tempo(x, f))
            truth = Alignment(0.0, dur, 0.0, dur / f, f)
        elif family.startswith("pitch_"):
            semis = float(family.removeprefix("pitch_").removesuffix("st"))
            render = lambda x: _pitch(x, semis)  # noqa: E731
        elif family == "reverb":

            def render(x: np.ndarray) -> np.ndarray:
                from pedalboard import Reverb

                return _board(x, [Reverb(room_size=0.6, wet_level=0.35, dry_level=0.8)])

        elif family == "mix":
            other = str(rng.choice(others))

            def render(x: np.ndarray) -> np.ndarray:
                bed = np.resize(self.samples(other), x.size)
                gain = np.sqrt(np.mean(x**2) / max(float(np.mean(bed**2)), 1e-12)) * 10 ** (-5 / 20)
                return (x + gain * bed).astype(np.float32)

        elif family.startswith("excerpt"):
            length = float(rng.uniform(5.0, min(30.0, dur - 1.0)))
            s0 = float(rng.uniform(0.0, dur - length))
            host_name = str(rng.choice(others))
            host_total = self.n_samples(host_name)
            host_len = min(host_total, int(float(rng.uniform(15.0, 45.0)) * SR))
            h0 = int(rng.integers(0, max(1, host_total - host_len)))
            at = int(rng.integers(int(0.1 * host_len), int(0.9 * host_len)))
            n_piece = int(length * SR)
            noise_seed = int(rng.integers(2**31)) if family == "excerpt_snr5_mp3" else None
            truth = Alignment(s0, s0 + n_piece / SR, at / SR, (at + n_piece) / SR, 1.0)
            if noise_seed is not None:
                suffix, args = CODEC_ARGS["mp3_32k"]

            def render(x: np.ndarray) -> np.ndarray:
                piece = x[int(s0 * SR) : int(s0 * SR) + n_piece]
                host = self.samples(host_name)[h0 : h0 + host_len]
                y = _splice(host, piece, at)
                return y if noise_seed is None else _snr_noise(y, 5.0, noise_seed)

        else:
            raise ValueError(f"unknown audio family {family!r}")

        def make(path: Path) -> None:
            y = render(self.samples(name))
            if args is not None:
                _encode(y, path, args)
            else:
                sf.write(str(path), np.clip(y, -1, 1), SR, format="FLAC")

        target = self.file(f"{name}-{family}", suffix, make)
        return Pair(
            pair_id=f"audio-{family}-{name}",
            medium="audio",
            split=split,
            family=family,
            positive=True,
            source=self.original(name),
            target=target,
            original=name,
            truth=truth,
        )

    def synthetic(self, split: Split) -> list[Pair]:
        """Silence, near-silence and tones: must never match each other."""
        rng = rng_for(self.seed, "audio", "synthetic", split)

        def tone(hz: float, secs: float, amp: float) -> np.ndarray:
            t = np.arange(int(secs * SR)) / SR
            return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)

        def quiet(secs: float, k: int) -> np.ndarray:
            g = rng_for(self.seed, "quiet", split, k)
            return (g.standard_normal(int(secs * SR)) * 10 ** (-60 / 20)).astype(np.float32)

        hz = float(rng.choice([440.0, 1000.0]))
        signals = {
            "silence_a": np.zeros(int(12 * SR), np.float32),
            "silence_b": np.zeros(int(20 * SR), np.float32),
            "quiet_a": quiet(15, 1),
            "quiet_b": quiet(25, 2),
            "tone_a": tone(hz, 10, 0.5),
            "tone_b": tone(hz, 18, 0.2),
        }
        files = {
            k: self.file(f"synthetic-{split}-{k}", ".wav", lambda p, v=v: _write_wav(p, v)) for k, v in signals.items()
        }
        combos = [
            ("silence", "silence_a", "silence_b"),
            ("near_silence", "quiet_a", "quiet_b"),
            ("near_silence", "silence_a", "quiet_b"),
            ("tone", "tone_a", "tone_b"),
            ("tone", "tone_a", "silence_b"),
            ("tone", "tone_b", "quiet_a"),
        ]
        return [
            Pair(
                pair_id=f"audio-{fam}-{split}-{a}-{b}",
                medium="audio",
                split=split,
                family=fam,
                positive=False,
                source=files[a],
                target=files[b],
                original=f"synthetic-{split}",
            )
            for fam, a, b in combos
        ]

    def same_speaker(self, name: str, split: Split) -> Pair | None:
        """First vs second half of one speech recording: same voice and room, different words."""
        x = self.samples(name)
        half = x.size // 2
        if half < 5 * SR:
            return None
        a = self.file(f"{name}-half1", ".flac", lambda p: sf.write(str(p), x[:half], SR, format="FLAC"))
        b = self.file(f"{name}-half2", ".flac", lambda p: sf.write(str(p), x[half:], SR, format="FLAC"))
        return Pair(f"audio-same_speaker-{name}", "audio", split, "same_speaker", False, a, b, name)


def build_pairs(data_dir: Path, cache_dir: Path, seed: int, quick: bool) -> list[Pair]:
    """All audio pairs (see the module docstring); ``quick`` is a small subset that runs in < 2 min."""
    b = _Builder(data_dir, cache_dir, seed)
    names = sorted(p.stem for p in (Path(data_dir) / "audio").glob("*.ogg"))
    halves: dict[Split, list[str]] = {"calib": [], "report": []}
    for n in names:
        halves[split_of(n, seed)].append(n)
    families = QUICK_FAMILIES if quick else FULL_FAMILIES
    pairs: list[Pair] = []
    for split, members in halves.items():
        if quick:
            members = sorted(members, key=lambda n: rng_for(seed, "quick", n).random())[:3]
        if len(members) < 2:
            continue
        positives: list[Pair] = []
        for name in members:
            others = [m for m in members if m != name]
            positives.extend(b.positive(name, fam, others, split) for fam in families)
        pairs.extend(positives)
        for i, a in enumerate(members):
            for c in members[i + 1 :]:
                pairs.append(
                    Pair(f"audio-negative-{a}-{c}", "audio", split, "negative", False,
                         b.original(a), b.original(c), a)
                )  # fmt: skip
        per = 2 if quick else NEG_TRANSFORMED_PER_ORIGINAL
        for a in members:
            rng = rng_for(seed, "audio", "negtrans", a)
            # mixes and excerpts hold other originals' audio (maybe ``a``'s): not negatives
            pool = [
                p for p in positives if p.original != a and p.family != "mix" and not p.family.startswith("excerpt")
            ]
            for k in rng.permutation(len(pool))[:per]:
                tp = pool[int(k)]
                pairs.append(
                    Pair(f"audio-negative_transformed-{a}-{tp.family}-{tp.original}", "audio", split,
                         "negative_transformed", False, b.original(a), tp.target, a)
                )  # fmt: skip
        if not quick:
            for name in members:
                if name.startswith(SPEECH_PREFIXES):
                    p = b.same_speaker(name, split)
                    if p is not None:
                        pairs.append(p)
        pairs.extend(b.synthetic(split))
    return pairs
