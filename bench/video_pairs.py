"""Video benchmark pairs: seeded ffmpeg transforms of the real clips in ``<data>/video``.

``build_pairs(data_dir, cache_dir, seed, quick)`` returns a deterministic list of :class:`Pair`. Originals
are split into calibration/report halves by ``split_of`` on their *group* (the TMK chair clips form one
group, so its variants and hard negatives stay in one half). Transformed files are built once with
ffmpeg and cached under ``cache_dir`` (keys include seed, original and parameters).

Positive families (target = transform of the source original, truth = the known alignment):
``reencode`` (CRF 40), ``downscale`` (1/3 size, low bit rate), ``crop`` (70-88 % of each side, random
offset), ``letterbox`` (letter- or pillarbox to another aspect), ``mirror`` (hflip), ``overlay`` (a banner
box and a picture logo), ``fps`` (10 or 15 fps), ``speed`` (1.25x, setpts + atempo), ``excerpt`` (5-15 s
of the source between two unrelated clips from the *other* half), ``audio_removed``; plus the TMK chair
set's own ``colour`` (grey, sepia) and ``overlay`` (logo) variants of the original chair clip.

The seven TMK chair clips are ONE footage family (TMK's own level-1 scores put chair-19 vs chair-20 at
0.989, and the 19 s / 20 s clips are trims/re-framings of the 22 s original): the original is paired with
each of them as a positive (``tmk_variant`` for the two trimmed takes, whose offset is unknown, so they
carry no segment truth).

Negatives: every pair of different originals in the half (``negative``, including the three static
surveillance clips against each other), an original against a transformed copy of another original
(``negative_transformed``), two disjoint stretches of the same edited film, i.e. same scene and other
shots (``hard_negative``), and black/grey synthetic clips against originals and each other (``blank``).
Disjoint stretches of a *static-camera* clip are not used as negatives: they show the same picture.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from bench.common import cached_file, rng_for, split_of
from bench.decode_floor import ffmpeg_exe
from bench.types import Alignment, Pair

FAMILIES: tuple[str, ...] = (
    "reencode",
    "downscale",
    "crop",
    "letterbox",
    "mirror",
    "overlay",
    "fps",
    "speed",
    "excerpt",
    "audio_removed",
)
QUICK_FAMILIES: tuple[str, ...] = ("crop", "letterbox", "mirror", "overlay", "speed", "excerpt")
CHAIR_VARIANTS = {
    "tmk_chair_19_sd": "tmk_variant",
    "tmk_chair_20_sd": "tmk_variant",
    "tmk_chair_22_grey": "colour",
    "tmk_chair_22_sepia": "colour",
    "tmk_chair_22_large_logo": "overlay",
    "tmk_chair_22_small_logo": "overlay",
}
CHAIR_ORIGINAL = "tmk_chair_orig_22_sd"
#: Same scene, other shot: two disjoint stretches of an edited film (cuts between shots).
HARD_NEGATIVE_SPLITS = {"moviepy_big_buck_bunny_0_30": ((0.0, 13.0), (17.0, 30.0))}
SPEED = 1.25
_X264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
_AAC = ["-c:a", "aac", "-b:a", "96k"]


def _ffmpeg(args: list[str]) -> None:
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error", "-y", *args]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {' '.join(args)}: {proc.stderr.decode(errors='replace')[-400:]}")


def _probe(path: Path) -> tuple[float, bool]:
    """(duration s, has audio) from ``ffmpeg -i``."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, check=False)
    text = proc.stderr.decode(errors="replace")
    h, m, s = text.split("Duration: ", 1)[1].split(",", 1)[0].split(":")
    return int(h) * 3600 + int(m) * 60 + float(s), ": Audio:" in text


def _video_files(data: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted((data / "video").glob("*.mp4"))}


def _groups(data: Path) -> dict[str, str]:
    """File stem -> split group (the manifest's ``group`` when it has one)."""
    groups: dict[str, str] = {}
    manifest = data / "manifest.json"
    if manifest.is_file():
        for rec in json.loads(manifest.read_text()).get("files", []):
            f = str(rec.get("file", ""))
            if f.startswith("video/"):
                groups[Path(f).stem] = str(rec.get("group") or Path(f).stem)
    return groups


def _transform(
    family: str, src: Path, seed: int, name: str, fillers: list[Path]
) -> tuple[str, Callable[[Path], None], Callable[[float, float], Alignment]]:
    """(cache key, builder, truth(src_duration, tgt_duration)) of one positive transform."""
    rng = rng_for(seed, name, family)
    full = lambda ds, dt: Alignment(0.0, ds, 0.0, dt)  # noqa: E731
    io = ["-i", str(src)]
    if family == "reencode":
        return "crf40", lambda o: _ffmpeg([*io, *_X264, "-crf", "40", *_AAC, str(o)]), full
    if family == "downscale":
        vf = "scale=trunc(iw/6)*2:trunc(ih/6)*2"
        return "third", lambda o: _ffmpeg([*io, "-vf", vf, *_X264, "-b:v", "150k", *_AAC, str(o)]), full
    if family == "crop":
        r = float(rng.uniform(0.70, 0.88))
        fx, fy = float(rng.uniform(0, 1)), float(rng.uniform(0, 1))
        vf = f"crop=trunc(iw*{r:.3f}/2)*2:trunc(ih*{r:.3f}/2)*2:(iw-ow)*{fx:.3f}:(ih-oh)*{fy:.3f}"
        return (
            f"crop{r:.3f}_{fx:.2f}_{fy:.2f}",
            lambda o: _ffmpeg([*io, "-vf", vf, *_X264, *_AAC, str(o)]),
            full,
        )
    if family == "letterbox":
        if rng.uniform() < 0.5:
            vf = "pad=iw:trunc(ih*1.45/2)*2:0:(oh-ih)/2:black"
        else:
            vf = "pad=trunc(iw*1.4/2)*2:ih:(ow-iw)/2:0:black"
        return vf, lambda o: _ffmpeg([*io, "-vf", vf, *_X264, "-crf", "26", *_AAC, str(o)]), full
    if family == "mirror":
        return "hflip", lambda o: _ffmpeg([*io, "-vf", "hflip", *_X264, "-crf", "26", *_AAC, str(o)]), full
    if family == "overlay":
        x = float(rng.uniform(0.05, 0.55))
        fc = (
            f"[0:v]drawbox=x=iw*{x:.2f}:y=ih*0.78:w=iw*0.4:h=ih*0.12:color=white@0.85:t=fill,"
            "drawbox=x=iw*0.04:y=ih*0.04:w=iw*0.12:h=iw*0.12:color=red@0.9:t=fill[b];"
            "[1:v]scale=120:68[l];[b][l]overlay=W-w-10:10:shortest=1[v]"
        )
        logo = ["-f", "lavfi", "-i", "testsrc2=s=120x68:r=25"]
        args = [*io, *logo, "-filter_complex", fc, "-map", "[v]", "-map", "0:a?", *_X264, *_AAC]
        return f"overlay{x:.2f}", lambda o: _ffmpeg([*args, str(o)]), full
    if family == "fps":
        fps = int(rng.choice([10, 15]))
        return f"fps{fps}", lambda o: _ffmpeg([*io, "-vf", f"fps={fps}", *_X264, *_AAC, str(o)]), full
    if family == "speed":

        def make_speed(o: Path) -> None:
            has_audio = _probe(src)[1]
            audio = ["-af", f"atempo={SPEED}", *_AAC] if has_audio else ["-an"]
            _ffmpeg([*io, "-vf", f"setpts=PTS/{SPEED}", *audio, *_X264, str(o)])

        def speed_truth(ds: float, dt: float) -> Alignment:
            return Alignment(0.0, ds, 0.0, ds / SPEED, speed=SPEED)

        return f"speed{SPEED}", make_speed, speed_truth
    if family == "audio_removed":
        return "an", lambda o: _ffmpeg([*io, "-an", *_X264, "-crf", "26", str(o)]), full
    if family == "excerpt":
        ds, _ = _probe(src)
        length = float(min(rng.uniform(5.0, 15.0), ds * 0.8))
        start = float(rng.uniform(0.0, ds - length))
        a, b = (fillers[int(i)] for i in rng.choice(len(fillers), size=2, replace=False))
        la = float(rng.uniform(3.0, 8.0))
        lb = float(rng.uniform(3.0, 8.0))
        parts = [(a, 0.0, la), (src, start, length), (b, 0.0, lb)]

        def make_excerpt(o: Path) -> None:
            args: list[str] = []
            chains: list[str] = []
            for k, (p, ss, dur) in enumerate(parts):
                args += ["-ss", f"{ss:.3f}", "-t", f"{dur:.3f}", "-i", str(p)]
                chains.append(f"[{k}:v]scale=640:360,setsar=1,fps=25,format=yuv420p[v{k}]")
                if _probe(p)[1]:
                    chains.append(f"[{k}:a]aresample=44100,aformat=channel_layouts=stereo,apad[p{k}]")
                else:
                    chains.append(f"anullsrc=r=44100:cl=stereo[p{k}]")
                chains.append(f"[p{k}]atrim=duration={dur:.3f}[a{k}]")
            concat = "".join(f"[v{k}][a{k}]" for k in range(3)) + "concat=n=3:v=1:a=1[v][a]"
            fc = ";".join([*chains, concat])
            _ffmpeg([*args, "-filter_complex", fc, "-map", "[v]", "-map", "[a]", *_X264, *_AAC, str(o)])

        def excerpt_truth(ds: float, dt: float) -> Alignment:
            return Alignment(start, start + length, la, la + length)

        key = f"excerpt{start:.2f}+{length:.2f}_{a.stem}{la:.2f}_{b.stem}{lb:.2f}"
        return key, make_excerpt, excerpt_truth
    raise ValueError(f"unknown video family {family!r}")


def _trim(cache_dir: Path, src: Path, seed: int, start: float, end: float) -> Path:
    def make(o: Path) -> None:
        _ffmpeg(["-ss", f"{start:g}", "-t", f"{end - start:g}", "-i", str(src), *_X264, "-crf", "24", *_AAC, str(o)])

    return cached_file(cache_dir, f"{seed}_{src.stem}_trim{start:g}-{end:g}", ".mp4", make)


def _blank(cache_dir: Path, kind: str, seconds: float) -> Path:
    colour = {"black": "black", "grey": "gray"}[kind]

    def make(o: Path) -> None:
        _ffmpeg(
            ["-f", "lavfi", "-i", f"color=c={colour}:s=640x360:r=25:d={seconds:g}"]
            + ["-f", "lavfi", "-i", f"anullsrc=r=44100:cl=stereo:d={seconds:g}", "-shortest", *_X264, *_AAC]
            + [str(o)]
        )

    return cached_file(cache_dir, f"blank_{kind}_{seconds:g}", ".mp4", make)


def build_pairs(data_dir: Path, cache_dir: Path, seed: int, quick: bool = False) -> list[Pair]:
    """All video pairs for ``seed`` (a smaller, still two-sided set when ``quick``)."""
    data = Path(data_dir)
    cache = Path(cache_dir) / "video"
    files = _video_files(data)
    groups = _groups(data)
    originals = [n for n in files if n not in CHAIR_VARIANTS]
    split = {n: split_of(groups.get(n, n), seed) for n in files}
    if quick:
        keep = [
            n
            for n in originals
            if n in (CHAIR_ORIGINAL, *HARD_NEGATIVE_SPLITS) or rng_for(seed, n, "quick").uniform() < 0.4
        ]
        originals = keep
    families = QUICK_FAMILIES if quick else FAMILIES
    pairs: list[Pair] = []
    transformed: dict[str, list[tuple[str, Path]]] = {}

    for name in originals:
        src = files[name]
        fillers = [files[n] for n in originals if split[n] != split[name]]
        fillers = fillers or [files[n] for n in originals if n != name]
        ds, _ = _probe(src)
        for family in families:
            key, make, truth = _transform(family, src, seed, name, fillers)
            tgt = cached_file(cache, f"{seed}_{name}_{family}_{key}", ".mp4", make)
            dt, _ = _probe(tgt)
            pairs.append(
                Pair(
                    f"video/{name}/{family}",
                    "video",
                    split[name],
                    family,
                    True,
                    src,
                    tgt,
                    name,
                    truth(ds, dt),
                )
            )
            transformed.setdefault(name, []).append((family, tgt))
    if CHAIR_ORIGINAL in originals:
        src = files[CHAIR_ORIGINAL]
        ds, _ = _probe(src)
        for variant, family in CHAIR_VARIANTS.items():
            tgt = files[variant]
            dt, _ = _probe(tgt)
            # The trimmed takes (19 s, 20 s) start at an offset nobody recorded: no segment truth.
            truth = None if family == "tmk_variant" else Alignment(0.0, ds, 0.0, dt)
            pairs.append(
                Pair(
                    f"video/{CHAIR_ORIGINAL}/{variant}",
                    "video",
                    split[CHAIR_ORIGINAL],
                    family,
                    True,
                    src,
                    tgt,
                    CHAIR_ORIGINAL,
                    truth,
                )
            )

    for i, x in enumerate(originals):
        for y in originals[i + 1 :]:
            if split[x] != split[y]:
                continue
            pairs.append(Pair(f"video/{x}~{y}", "video", split[x], "negative", False, files[x], files[y], x))
            for a, b in ((x, y), (y, x)):
                options = transformed.get(b, [])
                if options:
                    fam_b, tgt = options[int(rng_for(seed, a, b, "neg").integers(len(options)))]
                    pairs.append(
                        Pair(
                            f"video/{a}~{b}/{fam_b}",
                            "video",
                            split[a],
                            "negative_transformed",
                            False,
                            files[a],
                            tgt,
                            a,
                        )
                    )

    for name, ((a0, a1), (b0, b1)) in HARD_NEGATIVE_SPLITS.items():
        if name not in originals:
            continue
        first = _trim(cache, files[name], seed, a0, a1)
        second = _trim(cache, files[name], seed, b0, b1)
        pairs.append(Pair(f"video/{name}/disjoint", "video", split[name], "hard_negative", False, first, second, name))

    for half in ("calib", "report"):
        members = [n for n in originals if split[n] == half]
        if not members:
            continue
        kind = "black" if half == "calib" else "grey"
        blank = _blank(cache, kind, 10.0 if half == "calib" else 12.0)
        other = _blank(cache, "grey" if kind == "black" else "black", 8.0)
        pairs.append(Pair(f"video/blank_{half}~blank", "video", half, "blank", False, blank, other, f"blank_{half}"))
        for n in members:
            pairs.append(Pair(f"video/blank_{half}~{n}", "video", half, "blank", False, blank, files[n], n))
    return pairs
