"""Hard-negative audio corpus of the null bench: clips that are not copies of each other but sound alike.

``build_corpus(data_dir, cache_dir, seed, quick) -> list[Clip]``: 10-20 s clips, 22.05 kHz mono FLAC/WAV
under ``cache_dir`` (``bench/.cache/negatives/audio/``), deterministic from the seed (files are built
once, atomically, by ``bench.common.cached_file``; keys carry ``VERSION`` and every parameter).

Kinds (pair labels; see :mod:`bench.negatives.types` for how a pair gets its kind):

``same_speaker``
    consecutive disjoint 10 s windows of every speech recording in ``<data>/audio`` (one speaker reading
    other sentences; ``pair_within_source=True``), grouped by speaker (the two LJ Speech files are one
    reader, the two pyAudioAnalysis diarisation files one cast).
``same_composer`` / ``same_genre``
    12 s windows of the music files, spread over each file, grouped by artist (FoolBoyMedia, Kevin
    MacLeod) and by genre (classical piano, rock/metal, electronic, animal sounds). Windows of one file
    are never paired: loops and choruses repeat, they would be real copies.
``tts_same_text`` / ``tts_same_voice`` / ``tts_voices``
    espeak-ng (Debian package ``espeak-ng``) reading texts from :mod:`bench.negatives.texts` (no shared
    trigram between texts) with a dozen voices / variants / speeds / pitches; each text read by three
    voices. One text read by another voice is a negative: another rendition, not a copy of the recording.
``same_instrumentation``
    numpy additive synthesis: one timbre (harmonics + ADSR), one key, one tempo per group, random
    melodies over random diatonic chord progressions per seed — very tonal and repetitive. Notes are
    "played" (own velocity, ~12 ms timing jitter; per clip its own chord voicing and accompaniment
    pattern), so no two clips share a sample-identical bar (that would be a real shared sample).
``tones``
    beep sequences (random pitches and durations of pure tones), DTMF-like digit sequences, steady
    tones and sweeps.
``silence``
    digital silence, white / pink / brown noise at -60 to -30 dBFS, mains hum.
``sound_effects``
    the freedesktop sound theme (Debian ``sound-theme-freedesktop``, ``/usr/share/sounds/freedesktop``),
    each sound repeated with gaps to 10 s, each distinct sound once (the theme links one sound under
    several names: ``power-plug.oga -> device-added.oga``); the ``audio-channel-*`` announcements are
    left out: they share spoken words.

Halves: every clip's top-level original (a recording's file stem, a text, a synthesis seed, a sound
file) goes to ``split_of(original, seed)``, so all windows of one recording and all readings of one text
fall in one half.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.common import cached_file, file_sha256, rng_for
from bench.negatives import texts as texts_mod
from bench.negatives.types import Clip

VERSION = 1
SYNTH_VERSION = 2  # bumped alone when only the synthesis changes (v2: played, not pasted)
SR = 22050
SPEECH_WINDOW_S = 10.0
MUSIC_WINDOW_S = 12.0
MUSIC_WINDOWS_PER_FILE = 10
SYNTH_S = 15.0
TTS_TEXTS = 48
TTS_VOICES_PER_TEXT = 3
SYNTH_SEEDS_PER_GROUP = 12
TONE_CLIPS = 30
FREEDESKTOP = Path("/usr/share/sounds/freedesktop/stereo")

#: speech file-stem prefix -> speaker group
SPEAKERS: tuple[tuple[str, str], ...] = (
    ("ljspeech_linda_johnson", "speaker:ljspeech"),
    ("pyaa_diarization", "speaker:pyaa_diarization"),
    ("osr_harvard", "speaker:osr_harvard"),
    ("silero_aepyx", "speaker:silero_aepyx"),
    ("silero_test", "speaker:silero_test"),
)
#: music file-stem prefix -> artist group (pairs: ``same_composer``)
ARTISTS: tuple[tuple[str, str], ...] = (
    ("howler_foolboymedia", "artist:foolboymedia"),
    ("librosa_macleod", "composer:macleod"),
    ("mdn_macleod", "composer:macleod"),
    ("wavesurfer_", "artist:wavesurfer"),
)
#: music file-stem prefix -> genre group (pairs: ``same_genre``)
GENRES: tuple[tuple[str, str], ...] = (
    ("librosa_brahms", "genre:classical_piano"),
    ("librosa_sweet_waltz", "genre:classical_piano"),
    ("librosa_pistachio", "genre:classical_piano"),
    ("dejavu_brad_sucks", "genre:rock_metal"),
    ("mdn_conquest_of_steel", "genre:rock_metal"),
    ("howler_foolboymedia", "genre:electronic"),
    ("librosa_admiralbob", "genre:electronic"),
    ("musicnn_", "genre:electronic"),
    ("librosa_glacier_bay", "genre:animal"),
    ("librosa_pibble", "genre:animal"),
)

#: (name, espeak-ng voice[+variant], words per minute, pitch 0-99)
VOICES: tuple[tuple[str, str, int, int], ...] = (
    ("en", "en", 175, 50),
    ("en-us", "en-us", 165, 45),
    ("en+m3", "en+m3", 180, 40),
    ("en+f2", "en+f2", 170, 60),
    ("en+f4", "en+f4", 160, 70),
    ("en-scotland", "en-gb-scotland", 175, 50),
    ("en-rp+m7", "en-gb-x-rp+m7", 150, 35),
    ("en+klatt", "en+klatt", 175, 50),
    ("en-us+m1-slow", "en-us+m1", 135, 45),
    ("en+f3-fast", "en+f3", 215, 55),
    ("de", "de", 170, 50),
    ("fr", "fr", 170, 55),
)

#: synthesis groups: (timbre, tonic MIDI note, mode, bpm)
SYNTH_GROUPS: tuple[tuple[str, int, str, int], ...] = (
    ("piano", 60, "major", 120),
    ("organ", 57, "minor", 90),
    ("pluck", 55, "major", 140),
    ("square", 62, "minor", 100),
)
#: timbre -> (harmonic amplitudes, attack s, decay time constant s (0 = sustained), release s)
TIMBRES: dict[str, tuple[tuple[float, ...], float, float, float]] = {
    "piano": (tuple(1.0 / n**1.2 for n in range(1, 9)), 0.005, 0.6, 0.08),
    "organ": ((1.0, 0.8, 0.6, 0.45, 0.3, 0.2, 0.12), 0.02, 0.0, 0.03),
    "pluck": (tuple(1.0 / n for n in range(1, 11)), 0.002, 0.15, 0.05),
    "square": (tuple((1.0 / n if n % 2 else 0.0) for n in range(1, 12)), 0.01, 0.0, 0.04),
}
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
DTMF_LOW = (697.0, 770.0, 852.0, 941.0)
DTMF_HIGH = (1209.0, 1336.0, 1477.0, 1633.0)


def _label(stem: str, table: tuple[tuple[str, str], ...]) -> str | None:
    return next((label for prefix, label in table if stem.startswith(prefix)), None)


@lru_cache(maxsize=4)
def _load(path: str) -> np.ndarray:
    """A recording as mono float32 at SR (cached: its windows are cut in a row)."""
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    return _to_sr(x.mean(axis=1), sr)


def _to_sr(mono: np.ndarray, sr: int) -> np.ndarray:
    """Resample to SR by FFT (an ideal low-pass at the lower Nyquist; numpy only, deterministic)."""
    if sr != SR and mono.size:
        n_out = int(round(mono.size * SR / sr))
        spec = np.fft.rfft(mono.astype(np.float64))
        keep = min(spec.size, n_out // 2 + 1)
        mono = np.fft.irfft(spec[:keep], n_out) * (n_out / mono.size)
    return np.ascontiguousarray(mono, dtype=np.float32)


def _write_flac(path: Path, x: np.ndarray) -> None:
    sf.write(str(path), np.clip(x, -1.0, 1.0).astype(np.float32), SR, format="FLAC")


class _Builder:
    def __init__(self, data_dir: Path, cache_dir: Path, seed: int, quick: bool) -> None:
        self.audio_dir = Path(data_dir) / "audio"
        self.cache = Path(cache_dir)
        self.seed = seed
        self.quick = quick

    def file(self, key: str, suffix: str, make: Callable[[Path], None]) -> Path:
        return cached_file(self.cache, f"v{VERSION}-s{self.seed}-{key}", suffix, make)

    def signal_file(self, key: str, render: Callable[[], np.ndarray]) -> Path:
        return self.file(key, ".flac", lambda p: _write_flac(p, render()))

    # -- real recordings ---------------------------------------------------------------------------
    def recordings(self) -> list[Path]:
        return sorted(p for p in self.audio_dir.glob("*") if p.suffix.lower() in (".ogg", ".wav", ".flac", ".mp3"))

    def _window(self, src: Path, start_s: float, length_s: float) -> Path:
        def make(path: Path) -> None:
            x = _load(str(src))
            a = int(round(start_s * SR))
            _write_flac(path, x[a : a + int(round(length_s * SR))])

        return self.file(f"{src.stem}-w{start_s:.1f}-{length_s:.0f}s", ".flac", make)

    def speech(self, src: Path, group: str) -> list[Clip]:
        dur = sf.info(str(src)).duration
        n = int(dur // SPEECH_WINDOW_S)
        if self.quick:
            n = min(n, 2)
        return [
            Clip(
                self._window(src, k * SPEECH_WINDOW_S, SPEECH_WINDOW_S),
                f"speech/{src.stem}/w{k:02d}",
                src.stem,
                group,
                "same_speaker",
                True,
            )
            for k in range(n)
        ]

    def music(self, src: Path) -> list[Clip]:
        dur = sf.info(str(src)).duration
        if dur < MUSIC_WINDOW_S:
            return []
        most = 1 if self.quick else MUSIC_WINDOWS_PER_FILE
        n = int(min(most, dur // MUSIC_WINDOW_S))
        stride = (dur - MUSIC_WINDOW_S) / max(1, n - 1) if n > 1 else 0.0
        artist, genre = _label(src.stem, ARTISTS), _label(src.stem, GENRES)
        extra: tuple[tuple[str, str], ...] = ((artist, "same_composer"),) if artist and genre else ()
        if genre:
            group, kind = genre, "same_genre"
        elif artist:
            group, kind = artist, "same_composer"
        else:
            group, kind = f"music:{src.stem}", "unrelated"
        return [
            Clip(
                self._window(src, round(k * stride, 1), MUSIC_WINDOW_S),
                f"music/{src.stem}/w{k:02d}",
                src.stem,
                group,
                kind,
                extra_groups=extra,
            )
            for k in range(n)
        ]

    # -- synthetic speech ---------------------------------------------------------------------------
    def tts(self) -> list[Clip]:
        exe = shutil.which("espeak-ng")
        if exe is None:
            return []
        n_texts = 6 if self.quick else TTS_TEXTS
        clips = []
        for t, text in enumerate(texts_mod.texts(self.seed, n_texts)):
            tid = f"t{t:03d}"
            rng = rng_for(self.seed, "tts", tid)
            for v in sorted(rng.choice(len(VOICES), TTS_VOICES_PER_TEXT, replace=False)):
                name, voice, wpm, pitch = VOICES[int(v)]

                def make(path: Path, voice: str = voice, wpm: int = wpm, pitch: int = pitch, text: str = text) -> None:
                    cmd = [exe, "-v", voice, "-s", str(wpm), "-p", str(pitch), "-w", str(path), text]
                    subprocess.run(cmd, check=True, capture_output=True, timeout=60)

                path = self.file(f"tts-{tid}-{name}", ".wav", make)
                clips.append(
                    Clip(
                        path,
                        f"tts/{tid}/{name}",
                        f"tts:{tid}:{name}",
                        "tts:espeak-ng",
                        "tts_voices",
                        original=f"tts-text:{tid}",
                        extra_groups=((f"text:{tid}", "tts_same_text"), (f"voice:{name}", "tts_same_voice")),
                    )
                )
        return clips

    # -- synthetic music ----------------------------------------------------------------------------
    def synth(self) -> list[Clip]:
        clips = []
        per = 3 if self.quick else SYNTH_SEEDS_PER_GROUP
        for timbre, tonic, mode, bpm in SYNTH_GROUPS:
            group = f"synth:{timbre}-{tonic}{mode}-{bpm}bpm"
            for k in range(per):
                key = f"synth{SYNTH_VERSION}-{timbre}-{tonic}{mode}-{bpm}-{k:02d}"
                path = self.signal_file(
                    key, lambda t=timbre, n=tonic, m=mode, b=bpm, key=key: self._melody(t, n, m, b, key)
                )
                clips.append(Clip(path, f"synth/{group}/{k:02d}", key, group, "same_instrumentation"))
        return clips

    def _melody(self, timbre: str, tonic: int, mode: str, bpm: int, key: str) -> np.ndarray:
        rng = rng_for(self.seed, "synth", key)
        scale = MAJOR if mode == "major" else MINOR
        beat = 60.0 / bpm
        out = np.zeros(int(SYNTH_S * SR) + SR, np.float32)
        # Played, not pasted: every note has its own velocity and a few ms of timing jitter, and each
        # clip voices and arpeggiates its chords its own way, so no bar is sample-identical to a bar of
        # another clip (that would be a real shared sample); the same chord at the same tempo remains.

        def play(midi: int, t0: float, length: float, amp: float) -> None:
            jitter = float(rng.normal(0.0, 0.012))
            _add_note(out, timbre, midi, max(0.0, t0 + jitter), length, amp * float(rng.uniform(0.7, 1.0)))

        # chords: a random diatonic progression of four bars, cycled
        progression = [int(d) for d in rng.choice([0, 0, 1, 3, 4, 5], 4)]
        pattern = str(rng.choice(["block", "arp_up", "arp_down", "bass_chord"]))
        inversion = int(rng.integers(3))
        bar = 0
        while bar * 4 * beat < SYNTH_S:
            degree = progression[bar % 4]
            notes = []
            for k, third in enumerate((0, 2, 4)):
                d = degree + third
                notes.append(tonic - 12 + scale[d % 7] + 12 * (d // 7) + (12 if k < inversion else 0))
            t0 = bar * 4 * beat
            if pattern == "block":
                for m in notes:
                    play(m, t0, 4 * beat * 0.95, 0.12)
            elif pattern == "bass_chord":
                play(notes[0] - 12, t0, 2 * beat * 0.9, 0.15)
                for m in notes:
                    play(m, t0 + 2 * beat, 2 * beat * 0.9, 0.1)
            else:
                order = sorted(notes) if pattern == "arp_up" else sorted(notes, reverse=True)
                for k in range(4):
                    play(order[k % 3], t0 + k * beat, beat * 0.95, 0.13)
            bar += 1
        # melody: a random walk over two octaves of the scale
        t, d = 0.0, int(rng.integers(0, 7))
        while t < SYNTH_S:
            length = float(rng.choice([0.5, 1.0, 1.0, 2.0])) * beat
            if rng.random() > 0.1:  # some rests
                play(tonic + scale[d % 7] + 12 * (d // 7), t, length * 0.9, 0.25)
            d = int(np.clip(d + rng.integers(-2, 3), 0, 13))
            t += length
        out = out[: int(SYNTH_S * SR)]
        return out * (0.9 / max(float(np.abs(out).max()), 1e-9))

    # -- tones, silence, sound effects --------------------------------------------------------------
    def tones(self) -> list[Clip]:
        clips = []
        n = 8 if self.quick else TONE_CLIPS
        styles = ("beeps", "dtmf", "steady", "sweep", "beeps", "dtmf")
        for k in range(n):
            style = styles[k % len(styles)]
            key = f"tone-{style}-{k:02d}"
            path = self.signal_file(key, lambda style=style, key=key: _tone_signal(style, rng_for(self.seed, key)))
            clips.append(Clip(path, f"tones/{style}/{k:02d}", key, "tones", "tones"))
        return clips

    def silence(self) -> list[Clip]:
        styles = ("digital", "white-60", "white-50", "white-40", "pink-30", "brown-30", "hum50", "hum60")
        reps = 1 if self.quick else 2
        clips = []
        for r in range(reps):
            for style in styles:
                key = f"silence-{style}-{r}"
                path = self.signal_file(key, lambda style=style, key=key: _quiet_signal(style, rng_for(self.seed, key)))
                clips.append(Clip(path, f"silence/{style}/{r}", key, "silence", "silence"))
        return clips

    def sound_effects(self) -> list[Clip]:
        if not FREEDESKTOP.is_dir():
            return []
        files, seen = [], set()
        for p in sorted(FREEDESKTOP.glob("*.oga")):
            # the theme links one sound under several names (power-plug -> device-added): once only
            digest = file_sha256(p.resolve())
            if not p.name.startswith("audio-channel-") and digest not in seen:
                seen.add(digest)
                files.append(p.resolve())
        files = sorted(set(files))
        if self.quick:
            files = files[:6]
        clips = []
        for src in files:
            key = f"fx-{src.stem}"
            path = self.signal_file(key, lambda src=src, key=key: _repeat_sound(src, rng_for(self.seed, key)))
            clips.append(Clip(path, f"fx/{src.stem}", f"freedesktop:{src.stem}", "theme:freedesktop", "sound_effects"))
        return clips

    def build(self) -> list[Clip]:
        clips: list[Clip] = []
        for src in self.recordings():
            speaker = _label(src.stem, SPEAKERS)
            clips.extend(self.speech(src, speaker) if speaker else self.music(src))
        clips += self.tts() + self.synth() + self.tones() + self.silence() + self.sound_effects()
        return clips


def _envelope(n: int, attack: float, decay: float, release: float) -> np.ndarray:
    t = np.arange(n) / SR
    env = np.minimum(1.0, t / max(attack, 1e-4))
    if decay > 0:
        env = env * np.exp(-np.maximum(0.0, t - attack) / decay)
    r = int(release * SR)
    if 0 < r < n:
        env[-r:] *= np.linspace(1.0, 0.0, r)
    return env


TABLE = 4096


@cache
def _wavetable(timbre: str) -> np.ndarray:
    """One cycle of the timbre's harmonic sum (every note of the timbre has this waveform)."""
    harmonics = TIMBRES[timbre][0]
    phase = 2 * np.pi * np.arange(TABLE) / TABLE
    wave = sum(w * np.sin(h * phase) for h, w in enumerate(harmonics, start=1) if w)
    return (wave / max(1.0, sum(harmonics)) * 3.0).astype(np.float32)


def _add_note(out: np.ndarray, timbre: str, midi: int, start_s: float, length_s: float, amp: float) -> None:
    _, attack, decay, release = TIMBRES[timbre]
    f0 = 440.0 * 2.0 ** ((midi - 69) / 12.0)
    n = int(length_s * SR)
    a = int(start_s * SR)
    if a >= out.size or n <= 0:
        return
    n = min(n, out.size - a)
    idx = (np.arange(n) * (f0 * TABLE / SR)).astype(np.int64) % TABLE
    wave = _wavetable(timbre)[idx] * amp
    out[a : a + n] += (wave * _envelope(n, attack, decay, release)).astype(np.float32)


def _tone_signal(style: str, rng: np.random.Generator) -> np.ndarray:
    total = float(rng.uniform(10.0, 16.0))
    out = np.zeros(int(total * SR), np.float32)

    def put(t0: float, dur: float, freqs: tuple[float, ...], amp: float) -> None:
        a, n = int(t0 * SR), int(dur * SR)
        n = min(n, out.size - a)
        if n <= 0:
            return
        t = np.arange(n) / SR
        wave = sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)
        ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.005)
        out[a : a + n] += (amp * wave * ramp).astype(np.float32)

    if style in ("steady", "sweep"):
        f0 = float(np.exp(rng.uniform(np.log(200.0), np.log(2000.0))))
        if style == "steady":
            put(0.0, total, (f0,), float(rng.uniform(0.2, 0.6)))
        else:
            t = np.arange(out.size) / SR
            f1 = f0 * float(rng.uniform(1.5, 4.0))
            phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * total))
            out[:] = (0.4 * np.sin(phase)).astype(np.float32)
        return out
    t0 = float(rng.uniform(0.0, 0.5))
    while t0 < total:
        if style == "beeps":
            dur = float(rng.uniform(0.08, 0.6))
            put(t0, dur, (float(np.exp(rng.uniform(np.log(300.0), np.log(3000.0)))),), float(rng.uniform(0.3, 0.6)))
            t0 += dur + float(rng.uniform(0.05, 0.5))
        else:
            dur = float(rng.uniform(0.1, 0.25))
            put(t0, dur, (float(rng.choice(DTMF_LOW)), float(rng.choice(DTMF_HIGH))), 0.5)
            t0 += dur + float(rng.uniform(0.05, 0.15)) + (float(rng.uniform(0.3, 1.0)) if rng.random() < 0.15 else 0.0)
    return out


def _quiet_signal(style: str, rng: np.random.Generator) -> np.ndarray:
    n = int(float(rng.uniform(10.0, 20.0)) * SR)
    if style == "digital":
        return np.zeros(n, np.float32)
    if style.startswith("hum"):
        f = float(style.removeprefix("hum"))
        t = np.arange(n) / SR
        hum = sum(np.sin(2 * np.pi * f * h * t + rng.uniform(0, 2 * np.pi)) / h for h in (1, 2, 3, 5))
        return (10 ** (-40 / 20) * hum + 10 ** (-60 / 20) * rng.standard_normal(n)).astype(np.float32)
    colour, level = style.split("-")
    white = rng.standard_normal(n)
    if colour == "pink":  # 1/f: shape the spectrum
        spec = np.fft.rfft(white)
        spec[1:] /= np.sqrt(np.arange(1, spec.size))
        white = np.fft.irfft(spec, n)
    elif colour == "brown":
        white = np.cumsum(white)
        white -= np.linspace(white[0], white[-1], n)
    white /= max(float(np.sqrt(np.mean(white**2))), 1e-12)
    return (10 ** (-float(level) / 20) * white).astype(np.float32)


def _repeat_sound(src: Path, rng: np.random.Generator) -> np.ndarray:
    x, sr = sf.read(str(src), dtype="float32", always_2d=True)
    mono = _to_sr(x.mean(axis=1), sr)
    parts: list[np.ndarray] = []
    total = 0
    while total < 10 * SR:
        gap = np.zeros(int(float(rng.uniform(0.5, 1.5)) * SR), np.float32)
        parts += [mono, gap]
        total += mono.size + gap.size
    return np.concatenate(parts)[: max(10 * SR, mono.size)]


def build_corpus(data_dir: Path, cache_dir: Path, seed: int, quick: bool) -> list[Clip]:
    """The audio clips (module doc); ``quick`` keeps a few per family."""
    return _Builder(data_dir, cache_dir, seed, quick).build()
