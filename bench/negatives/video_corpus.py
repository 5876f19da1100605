"""Hard-negative video corpus for the null bench: clips that are *not* copies of each other but look alike.

``build_corpus(data_dir, cache_dir, seed, quick) -> list[Clip]`` builds short H.264/MP4 clips (320x180 or
less, 25 fps, 8-16 s) with the imageio-ffmpeg binary, deterministically from the seed. The null-bench
runner pairs the clips of one half with each other; no two clips of a half share a photo, a music file or
a time range of a video or speech recording, so every such pair is a negative. Groups (kind), the most
specific first (``Clip.extra_groups``, then the broad main group):

``audio:<label>`` (``same_genre_audio``): every clip with a soundtrack
    the artist / genre / speaker of the soundtrack (FoolBoyMedia, Kevin MacLeod, one audiobook reader,
    classical and piano, speech, ...). Labels with two or more files in a half first get one slideshow
    per file, all of one recipe (two clips per speech file, the second a visualiser), so a same-artist
    soundtrack meets the same motion.
``slideshow:<recipe>`` (``slideshow_same_motion``), main group ``stills`` (``slideshow_any_motion``)
    4 *different* photos, each 2-4 s, with one motion recipe per group (Ken Burns zoom-in / zoom-out, pan
    left-to-right and its mirror right-to-left, static, alternating in/out; hard cuts, same frame size,
    same durations). The same motion at 2 s, 3 s and 4 s per photo makes speed-1.5x and speed-2x
    look-alikes; ``stills`` pairs any two photo clips (other recipes, mirrored pans, a held photo).
    Soundtrack: a window of a music file, else of a speech file, else silence; every sixth clip silent,
    every sixth without an audio stream.
``camera:<video>`` (``other_take``, ``pair_within_source``)
    disjoint windows (8-12 s, >= 2 s apart) of one real recording, mostly fixed cameras (the mouse arena,
    the bottles, the car park, the walkers past a table, the bridge traffic), plus the handheld TMK chair
    original and the Big Buck Bunny opening (other shots of one film). Only windows with motion in >= 35 %
    of their half-seconds are kept (two windows of an empty static room are the same picture). One file
    per manifest group (the TMK chair clips are transformed copies of one video: only the original).
``uniform:<what>``, ``visualiser:<style>``, main group ``uniform`` (``black_uniform``)
    solid colours, fades, noise-only, gradients, hue cycles, one static photo per clip, black frames over
    a soundtrack, and waveform / spectrum visualisers of the half's audio; every other synthetic clip with
    a silent audio track. Visualisers fill the half up to ``TARGET_PER_HALF`` clips: of the half's audio
    while it lasts, then of synthetic sound (coloured noise, tremolo tones, chirps; ``audio:synthetic:*``).
``video:<video>`` (``unrelated``)
    the single window of each real video too short for two disjoint windows.

Any two clips of a half that share no group are ``unrelated`` pairs (the runner samples those).

Splits: every original (photo stem, audio file stem, video manifest group) goes to the half
``bench.common.split_of(original, seed)``, the same split as the image/audio/video pair builders; a clip
is built only from originals of its half and carries one of them as ``Clip.original`` (synthetic clips: a
salted ``source_id`` that ``split_of`` puts in the half), so ``clip_split`` recovers its half.

Soundtracks: a music (or other non-speech) file serves one clip per half (the null bench never pairs
music windows of one file: loops and choruses repeat). A speech file serves several clips in disjoint
windows >= 3 s apart, and a window is refused when any 4 s of it has a log-band spectral correlation >=
``REPEAT_CORR`` with an earlier window of the file (measured on the real audio: the salsa rhythm-pattern
loop repeats at 0.95, within-track repeats of music reach 0.87, different files stay <= 0.73).
Files are cached under ``cache_dir/video_negatives`` by keys that encode every input
(``bench.common.cached_file``, atomic) and encoded bit-exactly on one thread: a seed gives byte-identical
files. :func:`build_corpus_detailed` also returns what each clip is made of (:class:`Provenance`).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bench.common import cached_file, rng_for, split_of
from bench.decode_floor import ffmpeg_exe
from bench.negatives.types import UNRELATED, Clip, clip_split
from bench.types import Split
from bench.video_pairs import _groups, _probe  # the pair bench's manifest groups and media probe

VERSION = 1  # part of every cache key: bump when the way a file is made changes
HALVES: tuple[Split, Split] = ("calib", "report")
W, H, FPS = 320, 180, 25
MIN_CLIP, MAX_CLIP = 8.0, 16.0
#: target clip count per half (full build): extra visualisers fill up to it while audio lasts
TARGET_PER_HALF = 105
REPEAT_CORR = 0.78
# Groups and kinds (report labels). Broad main groups, specific ones first in ``extra_groups``.
STILLS, UNIFORM = "stills", "uniform"
SAME_MOTION, ANY_MOTION = "slideshow_same_motion", "slideshow_any_motion"
SAME_GENRE, BLACK_UNIFORM, OTHER_TAKE = "same_genre_audio", "black_uniform", "other_take"
IMAGE_EXTS = (".jpg", ".jpeg", ".png")
AUDIO_EXTS = (".ogg", ".wav", ".mp3", ".flac", ".m4a")
_X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "27", "-pix_fmt", "yuv420p", "-threads", "1"]
_AAC = ["-c:a", "aac", "-b:a", "64k", "-ar", "44100", "-ac", "2"]
_EXACT = ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"]


@dataclass(frozen=True)
class Recipe:
    """One slideshow motion recipe: the motions cycle over the photos, each shown ``seconds``."""

    name: str
    motions: tuple[str, ...]
    seconds: float
    photos: int = 4


RECIPES: tuple[Recipe, ...] = (
    Recipe("kenburns-in-2s", ("in",), 2.0),
    Recipe("kenburns-in-3s", ("in",), 3.0),
    Recipe("kenburns-out-2.5s", ("out",), 2.5),
    Recipe("pan-lr-3s", ("lr",), 3.0),
    Recipe("pan-rl-3s", ("rl",), 3.0),
    Recipe("static-2s", ("static",), 2.0),
    Recipe("inout-4s", ("in", "out"), 4.0),
)

#: Soundtrack labels by file-stem prefix (first match wins): artist where known, else a genre.
AUDIO_LABELS: tuple[tuple[str, str], ...] = (
    ("howler_foolboymedia", "artist:foolboymedia"),
    ("librosa_macleod", "artist:kevin_macleod"),
    ("mdn_macleod", "artist:kevin_macleod"),
    ("wavesurfer_", "artist:wavesurfer_unknown"),
    ("ljspeech_linda_johnson", "speaker:linda_johnson"),
    ("librosa_brahms", "genre:classical_piano"),
    ("librosa_sweet_waltz", "genre:classical_piano"),
    ("librosa_pistachio", "genre:classical_piano"),
    ("dejavu_brad_sucks", "genre:rock_metal"),
    ("mdn_conquest_of_steel", "genre:rock_metal"),
    ("librosa_admiralbob", "genre:electronic"),
    ("musicnn_", "genre:electronic"),
    ("osr_", "genre:speech"),
    ("pyaa_diarization", "genre:speech"),
    ("silero_", "genre:speech"),
    ("pyaa_salsa", "genre:latin"),
    ("librosa_karissa", "genre:folk"),
    ("librosa_glacier_bay", "genre:animal"),
    ("librosa_pibble", "genre:animal"),
)


def audio_label(stem: str) -> str:
    """The artist/genre label of an audio file stem (``genre:other`` when unknown)."""
    return next((label for prefix, label in AUDIO_LABELS if stem.startswith(prefix)), "genre:other")


def clip_half(clip: Clip, seed: int) -> Split:
    """The half a clip belongs to (``bench.negatives.types.clip_split``: by its top-level original)."""
    return clip_split(clip, seed)


# --------------------------------------------------------------------------------------------- ffmpeg


def _ffmpeg(args: list[str]) -> None:
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error", "-y"]
    cmd += ["-filter_threads", "1", "-filter_complex_threads", "1", *args]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {' '.join(args)}: {proc.stderr.decode(errors='replace')[-600:]}")


def _audio_in(track: Path, start: float, dur: float, k: int) -> tuple[list[str], str]:
    """ffmpeg input args and a filter chain giving ``[a]``: ``dur`` s of ``track`` from ``start``."""
    fade = f"afade=t=in:d=0.3,afade=t=out:st={dur - 0.5:.3f}:d=0.5"
    chain = f"[{k}:a]aresample=44100,aformat=channel_layouts=stereo,{fade},apad,atrim=duration={dur:.3f}[a]"
    return ["-ss", f"{start:.3f}", "-t", f"{dur:.3f}", "-i", str(track)], chain


def _silence(dur: float) -> str:
    return f"anullsrc=r=44100:cl=stereo,atrim=duration={dur:.3f}[a]"


def _encode(inputs: list[str], chains: list[str], has_audio: bool, out: Path) -> None:
    maps = ["-map", "[v]"] + (["-map", "[a]", *_AAC] if has_audio else ["-an"])
    _ffmpeg([*inputs, "-filter_complex", ";".join(chains), *maps, *_X264, *_EXACT, str(out)])


def _zoompan(motion: str, frames: int) -> str:
    n = max(frames - 1, 1)
    centre = "x='(iw-iw/zoom)/2':y='(ih-ih/zoom)/2'"
    expr = {
        "in": f"z='1+0.3*on/{n}':{centre}",
        "out": f"z='1.3-0.3*on/{n}':{centre}",
        "lr": f"z=1.25:x='(iw-iw/zoom)*on/{n}':y='(ih-ih/zoom)/2'",
        "rl": f"z=1.25:x='(iw-iw/zoom)*(1-on/{n})':y='(ih-ih/zoom)/2'",
        "static": "z=1:x=0:y=0",
    }[motion]
    return f"zoompan={expr}:d={frames}:s={W}x{H}:fps={FPS}"


@dataclass(frozen=True)
class Soundtrack:
    """What a clip hears: a window of a track, digital silence, or no audio stream at all."""

    track: Path | None = None
    start: float = 0.0
    silence: bool = False
    label: str = ""  # the track's artist/genre label (``audio_label``)

    def key(self) -> str:
        if self.track is not None:
            return f"{self.track.stem}@{self.start:.2f}"
        return "silence" if self.silence else "noaudio"


def _with_audio(inputs: list[str], chains: list[str], sound: Soundtrack, dur: float) -> bool:
    """Append the soundtrack's input/chain; returns whether the clip has an audio stream."""
    if sound.track is not None:
        args, chain = _audio_in(sound.track, sound.start, dur, inputs.count("-i"))
        inputs += args
        chains.append(chain)
        return True
    if sound.silence:
        chains.append(_silence(dur))
        return True
    return False


def _make_slideshow(photos: list[Path], recipe: Recipe, sound: Soundtrack) -> Callable[[Path], None]:
    frames = round(recipe.seconds * FPS)
    dur = frames * len(photos) / FPS

    def make(out: Path) -> None:
        inputs: list[str] = []
        chains: list[str] = []
        for k, photo in enumerate(photos):
            inputs += ["-i", str(photo)]
            motion = recipe.motions[k % len(recipe.motions)]
            chains.append(
                f"[{k}:v]scale={2 * W}:{2 * H}:force_original_aspect_ratio=increase:out_range=tv,crop={2 * W}:{2 * H},"
                f"setsar=1,{_zoompan(motion, frames)},format=yuv420p,setsar=1[v{k}]"
            )
        chains.append("".join(f"[v{k}]" for k in range(len(photos))) + f"concat=n={len(photos)}:v=1:a=0[v]")
        _encode(inputs, chains, _with_audio(inputs, chains, sound, dur), out)

    return make


def _make_lavfi(video: str, dur: float, sound: Soundtrack) -> Callable[[Path], None]:
    """A clip whose picture is the lavfi graph ``video`` (ending in ``[v]``)."""

    def make(out: Path) -> None:
        inputs: list[str] = []
        chains = [video]
        _encode(inputs, chains, _with_audio(inputs, chains, sound, dur), out)

    return make


def _make_static_photo(photo: Path, dur: float, sound: Soundtrack) -> Callable[[Path], None]:
    def make(out: Path) -> None:
        inputs = ["-loop", "1", "-framerate", str(FPS), "-t", f"{dur:.3f}", "-i", str(photo)]
        chains = [
            f"[0:v]scale={W}:{H}:force_original_aspect_ratio=increase:out_range=tv,crop={W}:{H},setsar=1,format=yuv420p[v]"
        ]
        _encode(inputs, chains, _with_audio(inputs, chains, sound, dur), out)

    return make


def _make_visualiser(
    style: str, track: Path | None, start: float, dur: float, synth: str = ""
) -> Callable[[Path], None]:
    """A waveform or scrolling-spectrum picture of its own soundtrack: ``dur`` s of ``track`` from
    ``start``, or the lavfi audio source ``synth``."""

    def make(out: Path) -> None:
        if track is not None:
            args, chain = _audio_in(track, start, dur, 0)
            chain = chain.replace("[a]", "[m]") + ";[m]asplit[a][s]"
        else:
            args = []
            chain = f"{synth},aformat=channel_layouts=stereo,atrim=duration={dur:.3f},asplit[a][s]"
        if style == "waves":
            vis = f"[s]showwaves=s={W}x{H}:mode=cline:rate={FPS}:colors=0xd0e0ff,format=yuv420p[v]"
        else:
            vis = (
                f"[s]showspectrum=s={W}x{H}:slide=scroll:color=intensity:scale=log:fps={FPS},format=yuv420p,setsar=1[v]"
            )
        _encode(args, [chain, vis], True, out)

    return make


def _make_window(src: Path, start: float, dur: float) -> Callable[[Path], None]:
    def make(out: Path) -> None:
        has_audio = _probe(src)[1]
        inputs = ["-ss", f"{start:.3f}", "-t", f"{dur:.3f}", "-i", str(src)]
        chains = [f"[0:v]scale=-2:{H},setsar=1,fps={FPS},format=yuv420p[v]"]
        if has_audio:
            chains.append("[0:a]aresample=44100,aformat=channel_layouts=stereo[a]")
        _encode(inputs, chains, has_audio, out)

    return make


# ---------------------------------------------------------------------------------------------- audio

_SR, _NFFT, _HOP = 8000, 512, 256
_FRAMES_PER_S = _SR / _HOP
_BLOCK_S = 4.0


def _band_features(path: Path) -> np.ndarray:
    """Log energies in 32 log-spaced bands (100-3900 Hz), 31.25 frames/s, of the whole file (mono 8 kHz)."""
    cmd = [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(_SR)]
    raw = subprocess.run([*cmd, "-f", "s16le", "-"], capture_output=True, check=True).stdout
    x = np.frombuffer(raw, np.int16).astype(np.float32) / 32768.0
    if len(x) < _NFFT:
        return np.zeros((0, 32), np.float32)
    n = 1 + (len(x) - _NFFT) // _HOP
    frames = x[np.arange(_NFFT)[None, :] + _HOP * np.arange(n)[:, None]] * np.hanning(_NFFT).astype(np.float32)
    spec = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(_NFFT, 1 / _SR)
    edges = np.geomspace(100.0, 3900.0, 33)
    pairs = zip(edges[:-1], edges[1:], strict=True)
    bands = np.stack([spec[:, (freqs >= lo) & (freqs < hi)].sum(1) for lo, hi in pairs], 1)
    return np.log(bands + 1e-7).astype(np.float32)


def _blocks(feats: np.ndarray, step: int) -> np.ndarray:
    """Unit-norm 4 s blocks (per-band mean removed) every ``step`` frames."""
    size = int(_BLOCK_S * _FRAMES_PER_S)
    if len(feats) < size:
        return np.zeros((0, size * feats.shape[1]), np.float32)
    view = sliding_window_view(feats, (size, feats.shape[1]))[::step, 0]
    view = view - view.mean(axis=1, keepdims=True)
    flat = view.reshape(view.shape[0], -1)
    return flat / (np.linalg.norm(flat, axis=1, keepdims=True) + 1e-9)


def repeat_score(feats: np.ndarray, a: tuple[float, float], b: tuple[float, float]) -> float:
    """Best correlation of any 4 s of window ``a`` with any 4 s of window ``b`` (one track's features)."""
    fa = feats[int(a[0] * _FRAMES_PER_S) : int((a[0] + a[1]) * _FRAMES_PER_S)]
    fb = feats[int(b[0] * _FRAMES_PER_S) : int((b[0] + b[1]) * _FRAMES_PER_S)]
    va, vb = _blocks(fa, int(_FRAMES_PER_S)), _blocks(fb, 1)
    if not len(va) or not len(vb):
        return 0.0
    return float((va @ vb.T).max())


@dataclass
class _Track:
    path: Path
    duration: float
    label: str
    speech: bool
    cursor: float = 0.0
    windows: list[tuple[float, float]] = field(default_factory=list)
    feats: np.ndarray | None = None


class _AudioPool:
    """One half's soundtrack windows. A music (or other non-speech) file serves ONE clip per half (loops
    and choruses repeat, and the null bench never pairs music windows of one file); a speech file serves
    several, in disjoint windows >= 3 s apart that never repeat an earlier window of it (``REPEAT_CORR``)."""

    def __init__(self, tracks: list[Path], kinds: dict[str, str], seed: int, half: str) -> None:
        self.seed, self.half = seed, half
        self.tracks: dict[str, _Track] = {}
        for p in tracks:
            label = audio_label(p.stem)
            speech = kinds.get(p.stem) == "speech" or label.startswith(("speaker:", "genre:speech"))
            self.tracks[p.stem] = _Track(p, _probe(p)[0], label, speech)

    def labels(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name in sorted(self.tracks):
            out.setdefault(self.tracks[name].label, []).append(name)
        return out

    def room(self, name: str) -> float:
        t = self.tracks[name]
        if t.windows and not t.speech:
            return 0.0
        return t.duration - 0.5 - t.cursor - (3.0 if t.windows else 0.0)

    def take(self, name: str, dur: float) -> Soundtrack | None:
        """A new ``dur`` s window of track ``name`` (``None`` when it has no room left)."""
        t = self.tracks[name]
        if t.windows and not t.speech:
            return None
        rng = rng_for(self.seed, self.half, "audio", name, len(t.windows))
        if not t.speech:  # its one window: anywhere in the file
            start = round(float(rng.uniform(0.0, max(t.duration - 0.5 - dur, 0.0))), 2)
        else:
            start = round(t.cursor + float(rng.uniform(3.0, 6.0) if t.windows else rng.uniform(0.0, 3.0)), 2)
        while start + dur <= t.duration - 0.5:
            if self._fresh(t, start, dur):
                t.windows.append((start, dur))
                t.cursor = start + dur
                return Soundtrack(t.path, start, label=t.label)
            start = round(start + 2.0, 2)
        t.cursor = t.duration
        return None

    def _fresh(self, t: _Track, start: float, dur: float) -> bool:
        if not t.windows:
            return True
        if t.feats is None:
            t.feats = _band_features(t.path)
        return all(repeat_score(t.feats, (start, dur), w) < REPEAT_CORR for w in t.windows)

    def take_any(self, rng: np.random.Generator, dur: float) -> Soundtrack | None:
        """A ``dur`` s window: an unused music file if any has room (seeded choice), else speech with
        weight = room left."""
        for _ in range(2 * len(self.tracks)):
            names = [n for n in sorted(self.tracks) if self.room(n) >= dur]
            if not names:
                return None
            music = [n for n in names if not self.tracks[n].speech]
            if music:
                name = music[int(rng.integers(len(music)))]
            else:
                weights = np.array([self.room(n) for n in names])
                name = names[int(rng.choice(len(names), p=weights / weights.sum()))]
            sound = self.take(name, dur)
            if sound is not None:
                return sound
        return None


# --------------------------------------------------------------------------------------------- videos


def _video_groups(data: Path) -> dict[str, list[Path]]:
    """Manifest group (else file stem) -> its video files, sorted (groups as the pair bench reads them)."""
    groups = _groups(data)
    out: dict[str, list[Path]] = {}
    for p in sorted((data / "video").glob("*.mp4")) if (data / "video").is_dir() else []:
        out.setdefault(groups.get(p.stem, p.stem), []).append(p)
    return out


def _group_file(files: list[Path]) -> Path:
    """The one file of a group that windows are cut from: the original where one is named so."""
    return next((p for p in files if "orig" in p.stem), files[0])


def _motion_profile(path: Path) -> np.ndarray:
    """Per 0.5 s: fraction of 64x36 grey pixels that changed by > 12 levels since the previous sample."""
    cmd = [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-vf", "fps=2,scale=64:36,format=gray"]
    raw = subprocess.run([*cmd, "-f", "rawvideo", "-"], capture_output=True, check=True).stdout
    f = np.frombuffer(raw, np.uint8).reshape(-1, 36, 64).astype(np.int16)
    if len(f) < 2:
        return np.zeros(len(f))
    return np.concatenate([[0.0], (np.abs(np.diff(f, axis=0)) > 12).mean(axis=(1, 2))])


def video_windows(path: Path, seed: int, max_windows: int, cache: Path | None = None) -> list[tuple[float, float]]:
    """Disjoint (start, duration) windows, >= 2 s apart, 8-12 s long, each with motion in >= 35 % of its
    half-second samples. A clip too short for two windows gives one window of up to 12 s, motion or not."""
    dur = _probe(path)[0]
    if dur < 2 * MIN_CLIP + 2.0:
        return [(0.0, round(min(dur - 0.1, 12.0), 2))] if dur >= MIN_CLIP else []
    if cache is None:
        profile = _motion_profile(path)
    else:
        key = f"v{VERSION}_motion_{path.stem}_{path.stat().st_size}"
        profile = np.load(cached_file(cache, key, ".npy", lambda out: np.save(out, _motion_profile(path))))
    moving = profile >= 0.01
    rng = rng_for(seed, path.stem, "windows")
    windows: list[tuple[float, float]] = []
    start = round(float(rng.uniform(0.0, 1.5)), 2)
    length = round(float(rng.uniform(8.0, 12.0)), 1)
    while start + length <= dur - 0.1 and len(windows) < max_windows:
        a, b = int(start * 2), int((start + length) * 2)
        if moving[a:b].mean() >= 0.35:
            windows.append((start, length))
            start = round(start + length + float(rng.uniform(2.0, 4.0)), 2)
            length = round(float(rng.uniform(8.0, 12.0)), 1)
        else:
            start = round(start + 1.0, 2)
    return windows


# --------------------------------------------------------------------------------------------- corpus


def _salted(base: str, half: str, seed: int) -> str:  # synthetic clips have no original of their own
    """``base`` or ``base~N``: the first that ``split_of`` puts in ``half``."""
    for i in range(256):
        sid = base if i == 0 else f"{base}~{i}"
        if split_of(sid, seed) == half:
            return sid
    raise RuntimeError(f"no salt puts {base!r} in {half}")  # pragma: no cover - 2**-256


def _colour(rng: np.random.Generator) -> str:
    return "0x" + "".join(f"{int(c):02x}" for c in rng.integers(30, 226, size=3))


def _uniform_specs(rng: np.random.Generator, quick: bool) -> list[tuple[str, str, float, str]]:
    """(name, group, seconds, lavfi graph ending in [v]) of the synthetic near-uniform clips of a half:
    solid colours, fades, noise-only (seeded), gradients and hue cycles; colours and seeds per half."""
    size = f"s={W}x{H}:r={FPS}"

    def solid(c: str, d: float) -> str:
        return f"color=c={c}:{size}:d={d:g},format=yuv420p[v]"

    def fade(c: str, d: float, way: str) -> str:
        st = 0.5 if way == "in" else 1.0
        return f"color=c={c}:{size}:d={d:g},fade=t={way}:st={st}:d={d - 2:g},format=yuv420p[v]"

    def cross(c0: str, c1: str, d: float) -> str:
        return (
            f"color=c={c0}:{size}:d={d:g}[c0];color=c={c1}:{size}:d={d:g}[c1];"
            f"[c0][c1]xfade=transition=fade:duration={d - 2:g}:offset=1,trim=duration={d:g},format=yuv420p[v]"
        )

    def noise(c: str, d: float, strength: int, seed: int) -> str:
        return f"color=c={c}:{size}:d={d:g},noise=alls={strength}:allf=t+u:all_seed={seed},format=yuv420p[v]"

    def gradient(c0: str, c1: str, d: float, speed: float, seed: int) -> str:
        return f"gradients={size}:d={d:g}:c0={c0}:c1={c1}:seed={seed}:speed={speed:.3f},format=yuv420p[v]"

    def dark() -> str:
        return "0x" + f"{int(rng.integers(12, 64)):02x}" * 3

    def seed() -> int:
        return int(rng.integers(1, 2**31 - 1))

    def secs() -> float:
        return float(rng.choice([8.0, 9.0, 10.0, 11.0, 12.0]))

    col = lambda: _colour(rng)  # noqa: E731
    specs = [
        ("black-12s", "uniform:solid", 12.0, solid("black", 12.0)),
        ("fadein-10s", "uniform:fade", 10.0, fade(col(), 10.0, "in")),
        ("noise-grey-10s", "uniform:noise", 10.0, noise("gray", 10.0, 30, seed())),
    ]
    if quick:
        return specs
    more: list[tuple[str, str, str]] = [
        ("black-10s", "uniform:solid", "black"),
        ("black-8s", "uniform:solid", "black"),
        ("white", "uniform:solid", "white"),
        ("grey", "uniform:solid", "gray"),
        *((f"dark-{k}", "uniform:solid", dark()) for k in range(2)),
        *((f"colour-{k}", "uniform:solid", col()) for k in range(5)),
    ]
    for name, group, c in more:
        d = 10.0 if name == "black-10s" else 8.0 if name == "black-8s" else secs()
        specs.append((f"{name}-{d:g}s", group, d, solid(c, d)))
    for k in range(5):
        d = secs()
        way = ("in", "out")[k % 2]
        graph = fade(col(), d, way) if k < 4 else fade("white", d, "out")
        specs.append((f"fade{way}-{k}-{d:g}s", "uniform:fade", d, graph))
    for k in range(2):
        d = secs()
        specs.append((f"crossfade-{k}-{d:g}s", "uniform:fade", d, cross(col(), col(), d)))
    for k, (c, strength) in enumerate((("black", 12), (None, 25), (None, 40), ("gray", 8))):
        d = secs()
        specs.append((f"noise-{k}-{d:g}s", "uniform:noise", d, noise(c or col(), d, strength, seed())))
    for k in range(3):
        d = secs()
        speed = float(rng.uniform(0.005, 0.03))
        specs.append((f"gradient-{k}-{d:g}s", "uniform:gradient", d, gradient(col(), col(), d, speed, seed())))
    for k in range(2):
        d = secs()
        rate = float(rng.uniform(10, 40))
        graph = f"color=c={col()}:{size}:d={d:g},hue=h=t*{rate:.1f},format=yuv420p[v]"
        specs.append((f"hue-{k}-{d:g}s", "uniform:gradient", d, graph))
    return specs


def _files(folder: Path, exts: tuple[str, ...]) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in exts) if folder.is_dir() else []


def _audio_kinds(data: Path) -> dict[str, str]:
    """Audio file stem -> the manifest's ``kind`` (music, speech, nature, animal)."""
    manifest = data / "manifest.json"
    if not manifest.is_file():
        return {}
    recs = json.loads(manifest.read_text()).get("files", [])
    return {Path(r["file"]).stem: str(r.get("kind", "")) for r in recs if str(r.get("file", "")).startswith("audio/")}


@dataclass(frozen=True)
class Provenance:
    """What one clip is made of: its half, photos, and (file stem, start s, duration s) of its soundtrack
    window and of its video window (for checks and debugging; the runner needs only the clips)."""

    half: Split
    photos: tuple[str, ...] = ()
    audio: tuple[str, float, float] | None = None
    video: tuple[str, float, float] | None = None


def build_corpus(data_dir: Path, cache_dir: Path, seed: int, quick: bool) -> list[Clip]:
    """The hard-negative video clips of both halves for ``seed`` (~13 per half if ``quick``, else ~86)."""
    return [clip for clip, _ in build_corpus_detailed(data_dir, cache_dir, seed, quick)]


def build_corpus_detailed(data_dir: Path, cache_dir: Path, seed: int, quick: bool) -> list[tuple[Clip, Provenance]]:
    """:func:`build_corpus` with each clip's :class:`Provenance`."""
    data, cache = Path(data_dir), Path(cache_dir)
    photos = _files(data / "images", IMAGE_EXTS)
    tracks = _files(data / "audio", AUDIO_EXTS)
    videos = _video_groups(data)
    kinds = _audio_kinds(data)
    clips: list[tuple[Clip, Provenance]] = []
    for half in HALVES:
        builder = _HalfBuilder(half, cache, seed, quick)
        builder.photos = [p for p in builder.shuffled([p for p in photos if split_of(p.stem, seed) == half])]
        builder.pool = _AudioPool([p for p in tracks if split_of(p.stem, seed) == half], kinds, seed, half)
        builder.build({g: f for g, f in videos.items() if split_of(g, seed) == half})
        clips += zip(builder.clips, builder.provenance, strict=True)
    return clips


def _audio_groups(sound: Soundtrack) -> tuple[tuple[str, str], ...]:
    return ((f"audio:{sound.label}", SAME_GENRE),) if sound.track is not None else ()


class _HalfBuilder:
    """Builds one half's clips in a fixed order (every draw seeded by half and position)."""

    def __init__(self, half: Split, cache: Path, seed: int, quick: bool) -> None:
        self.half, self.cache, self.seed, self.quick = half, cache, seed, quick
        self.rng = rng_for(seed, half, "video-corpus")
        self.photos: list[Path] = []
        self.pool = _AudioPool([], {}, seed, half)
        self.clips: list[Clip] = []
        self.provenance: list[Provenance] = []

    def shuffled(self, items: list[Path]) -> list[Path]:
        return [items[int(i)] for i in self.rng.permutation(len(items))]

    def add(
        self,
        key: str,
        make: Callable[[Path], None],
        clip_id: str,
        group: str,
        kind: str,
        *,
        source: str = "",
        original: str = "",
        extra: tuple[tuple[str, str], ...] = (),
        photos: tuple[str, ...] = (),
        sound: Soundtrack | None = None,
        dur: float = 0.0,
    ) -> None:
        path = cached_file(self.cache, f"v{VERSION}_{key}", ".mp4", make)
        cid = f"{self.half}/{clip_id}"
        audio = (sound.track.stem, sound.start, dur) if sound is not None and sound.track is not None else None
        self.provenance.append(Provenance(self.half, photos, audio))
        self.clips.append(
            Clip(
                path,
                cid,
                source or _salted(cid, self.half, self.seed),
                group,
                kind,
                original=original,
                extra_groups=extra,
            )
        )

    def slideshow(self, recipe: Recipe, sound: Soundtrack, clip_id: str) -> bool:
        if len(self.photos) < recipe.photos:
            return False
        chosen, self.photos = self.photos[: recipe.photos], self.photos[recipe.photos :]
        key = f"slideshow_{recipe.name}_{'+'.join(p.stem for p in chosen)}_{sound.key()}"
        self.add(
            key,
            _make_slideshow(chosen, recipe, sound),
            clip_id,
            STILLS,
            ANY_MOTION,
            source=f"slideshow:{self.half}/{clip_id}",
            original=chosen[0].stem,
            extra=(*_audio_groups(sound), (f"slideshow:{recipe.name}", SAME_MOTION)),
            photos=tuple(p.stem for p in chosen),
            sound=sound,
            dur=_clip_seconds(recipe),
        )
        return True

    def visualiser(self, style: str, sound: Soundtrack, dur: float, clip_id: str) -> None:
        assert sound.track is not None
        self.add(
            f"vis_{style}_{sound.key()}+{dur}",
            _make_visualiser(style, sound.track, sound.start, dur),
            clip_id,
            UNIFORM,
            BLACK_UNIFORM,
            source=f"visualiser:{self.half}/{clip_id}",
            original=sound.track.stem,
            extra=(*_audio_groups(sound), (f"visualiser:{style}", BLACK_UNIFORM)),
            sound=sound,
            dur=dur,
        )

    def build(self, videos: dict[str, list[Path]]) -> None:
        self.same_genre()
        self.static_photos()
        self.motion_slideshows()
        self.uniform()
        self.recordings(videos)
        self.fill_visualisers()

    def same_genre(self) -> None:
        """Labels with >= 2 files in the half: one recipe per label, one slideshow per file (two per
        speech file, the second a visualiser), so same-artist soundtracks meet the same motion."""
        labels = {lab: names for lab, names in self.pool.labels().items() if len(names) >= 2}
        for li, (label, names) in enumerate(sorted(labels.items())):
            if self.quick and li > 0:
                break
            recipe = RECIPES[int(rng_for(self.seed, self.half, label, "recipe").integers(len(RECIPES)))]
            for name in names[:2] if self.quick else names:
                sound = self.pool.take(name, _clip_seconds(recipe))
                if sound is not None:
                    self.slideshow(recipe, sound, f"genre/{label}/{name}/slideshow")
                if self.quick or not self.pool.tracks[name].speech:
                    continue
                dur = round(float(rng_for(self.seed, self.half, name, "vis-len").uniform(10.0, 14.0)), 1)
                sound = self.pool.take(name, dur)
                if sound is not None:
                    self.visualiser(("waves", "spectrum")[li % 2], sound, dur, f"genre/{label}/{name}/visualiser")

    def static_photos(self) -> None:
        """A single photo held still (no motion at all), half of them with a silent audio track."""
        for k in range(1 if self.quick else 4):
            if not self.photos:
                return
            photo, self.photos = self.photos[0], self.photos[1:]
            dur = round(float(self.rng.uniform(9.0, 11.0)), 1)
            sound = Soundtrack(silence=k % 2 == 0)
            self.add(
                f"static_{photo.stem}_{dur}_{sound.key()}",
                _make_static_photo(photo, dur, sound),
                f"uniform/static_photo/{k:02d}",
                UNIFORM,
                BLACK_UNIFORM,
                source=photo.stem,
                extra=(("uniform:static_photo", BLACK_UNIFORM), (STILLS, ANY_MOTION)),
                photos=(photo.stem,),
            )

    def motion_slideshows(self) -> None:
        """Recipes round-robin in a seeded order while photos last; the soundtrack is an unused music
        file, else a speech window, else silence; every sixth clip silent, every sixth without audio."""
        order = [RECIPES[int(i)] for i in self.rng.permutation(len(RECIPES))]
        if self.quick:
            order = order[:2]
        counts = dict.fromkeys((r.name for r in order), 0)
        k = 0
        while len(self.photos) >= 4 and (not self.quick or k < 4):
            recipe = order[k % len(order)]
            sound: Soundtrack | None = Soundtrack(silence=True) if k % 6 == 4 else None
            if k % 6 == 5:
                sound = Soundtrack()
            if sound is None:
                rng = rng_for(self.seed, self.half, "slideshow-audio", k)
                sound = self.pool.take_any(rng, _clip_seconds(recipe)) or Soundtrack(silence=True)
            self.slideshow(recipe, sound, f"slideshow/{recipe.name}/{counts[recipe.name]:02d}")
            counts[recipe.name] += 1
            k += 1

    def uniform(self) -> None:
        """Synthetic black / uniform / noise clips (every other with a silent audio track), and black
        frames over a soundtrack window."""
        for j, (name, group, dur, graph) in enumerate(
            _uniform_specs(rng_for(self.seed, self.half, "uniform"), self.quick)
        ):
            sound = Soundtrack(silence=j % 2 == 0)
            self.add(
                f"uniform_{self.half}_{name}_{sound.key()}_{graph}",
                _make_lavfi(graph, dur, sound),
                f"uniform/{name}",
                UNIFORM,
                BLACK_UNIFORM,
                extra=((group, BLACK_UNIFORM),),
            )
        for j in range(0 if self.quick else 2):
            dur = 10.0 + 2 * j
            found = self.pool.take_any(rng_for(self.seed, self.half, "black-music", j), dur)
            if found is None:
                return
            self.add(
                f"blackmusic_{found.key()}+{dur}",
                _make_lavfi(f"color=c=black:s={W}x{H}:r={FPS}:d={dur},format=yuv420p[v]", dur, found),
                f"uniform/black_soundtrack/{j:02d}",
                UNIFORM,
                BLACK_UNIFORM,
                original=found.track.stem if found.track else "",
                extra=(*_audio_groups(found), ("uniform:black_soundtrack", BLACK_UNIFORM)),
                sound=found,
                dur=dur,
            )

    def recordings(self, videos: dict[str, list[Path]]) -> None:
        """Disjoint windows of one file per video group: ``other_take`` when it gives two or more."""
        multi = single = 0
        for group, files in sorted(videos.items()):
            src = _group_file(files)
            windows = video_windows(src, self.seed, max_windows=12, cache=self.cache)
            if not windows:
                continue
            other_take = len(windows) >= 2
            if self.quick:
                if (multi if other_take else single) >= 1:
                    continue
                windows = windows[:2]
            multi += other_take
            single += not other_take
            for w, (start, dur) in enumerate(windows):
                key = f"v{VERSION}_window_{src.stem}_{start:.2f}+{dur:.2f}"
                path = cached_file(self.cache, key, ".mp4", _make_window(src, start, dur))
                if other_take:
                    cid = f"{self.half}/camera/{group}/{w:02d}"
                    self.clips.append(Clip(path, cid, group, f"camera:{group}", OTHER_TAKE, True))
                else:
                    self.clips.append(Clip(path, f"{self.half}/video/{group}", group, f"video:{group}", UNRELATED))
                self.provenance.append(Provenance(self.half, video=(src.stem, start, dur)))

    def fill_visualisers(self) -> None:
        """Waveform / spectrum visualisers of the remaining audio fill the half up to the target."""
        j = 0
        while not self.quick and len(self.clips) < TARGET_PER_HALF:
            style = ("waves", "spectrum")[j % 2]
            dur = round(float(rng_for(self.seed, self.half, "vis-len", j).uniform(10.0, 14.0)), 1)
            sound = self.pool.take_any(rng_for(self.seed, self.half, "vis-audio", j), dur)
            if sound is None:
                break
            self.visualiser(style, sound, dur, f"uniform/visualiser-{style}/{j:02d}")
            j += 1
        # Then visualisers of synthetic sound (coloured noise, tremolo tones, chirps), seeded per clip.
        j = 0
        while not self.quick and len(self.clips) < TARGET_PER_HALF:
            rng = rng_for(self.seed, self.half, "synth-vis", j)
            style = ("waves", "spectrum")[j % 2]
            dur = float(rng.choice([8.0, 10.0, 12.0]))
            what = ("noise", "tone", "chirp")[j % 3]
            if what == "noise":
                colour = str(rng.choice(["white", "pink", "brown", "blue", "violet", "velvet"]))
                amp = float(rng.uniform(0.1, 0.6))
                synth = f"anoisesrc=r=44100:c={colour}:a={amp:.2f}:seed={int(rng.integers(1, 2**31 - 1))}:d={dur:g}"
            elif what == "tone":
                f0, trem = float(rng.uniform(110, 880)), float(rng.uniform(1, 8))
                synth = f"sine=f={f0:.1f}:r=44100:d={dur:g},tremolo=f={trem:.2f}:d=0.7,volume=0.5"
            else:
                f0, rate = float(rng.uniform(100, 600)), float(rng.uniform(20, 120))
                synth = f"aevalsrc='0.4*sin(2*PI*({f0:.1f}+{rate:.1f}*t)*t)':s=44100:d={dur:g}"
            cid = f"uniform/visualiser-{style}-synthetic/{j:02d}"
            self.add(
                f"synthvis_{style}_{synth}",
                _make_visualiser(style, None, 0.0, dur, synth),
                cid,
                UNIFORM,
                BLACK_UNIFORM,
                extra=((f"audio:synthetic:{what}", SAME_GENRE), (f"visualiser:{style}", BLACK_UNIFORM)),
            )
            j += 1


def _clip_seconds(recipe: Recipe) -> float:
    return round(recipe.seconds * FPS) * recipe.photos / FPS
