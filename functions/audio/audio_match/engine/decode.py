"""Decode any accepted audio (or the audio track of a video container) to mono float32 at one rate.

Why ffmpeg and not libsndfile for the samples: the engine works at 8 kHz, and ffmpeg's decoder +
resampler in one process was measured faster than ``soundfile.read`` + ``scipy.signal.resample_poly``
(240 s of 44.1 kHz Vorbis: 0.45-0.53 s vs 0.78 s), and its output is within a few percent of ffmpeg's
decode-only time. libsndfile is still used where it is cheap and exact: reading the header
(``soundfile.info``) of WAV/FLAC/OGG/MP3 without spawning a process, so a file whose header already says
it is longer than the cap is refused before anything is decoded, and for PCM WAV it lets us see data
beyond what the header declares.

The cap is enforced on the *decoded* length as well (a header can lie): ffmpeg decodes at most
``cap + 1`` seconds (``-t``), and more than ``cap`` seconds of decoded samples is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from medialayer.caps import MediaCaps
from medialayer.errors import DurationTooLong, UnsupportedMedia
from medialayer.ffmpeg import AUDIO_DEMUXERS, probe, run_ffmpeg

#: Formats whose header libsndfile reads for the early duration check.
_SNDFILE_HEADER_FORMATS = {"WAV", "WAVEX", "RF64", "W64", "FLAC", "OGG", "MP3", "AIFF", "CAF"}
#: Samples per frame written to the pipe (64 KB of float32).
PIPE_FRAME_SAMPLES = 16384
#: PCM sub-types whose byte size per sample we know, for the "more data than the header says" check.
_PCM_BYTES = {"PCM_U8": 1, "PCM_S8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}


def _too_long(seconds: float, cap: float) -> DurationTooLong:
    return DurationTooLong(f"the audio is {seconds:.0f} s long; the limit is {cap:.0f} s")


def _header_check(path: Path, cap: float | None) -> bool:
    """Refuse early from the header when it already says the audio is too long.

    Returns True when libsndfile recognised the file (so it is plain audio, with an audio stream).
    For uncompressed PCM, the file size also bounds the real length: if the bytes after the header
    hold more than ``cap`` seconds of samples, the header understates the length and we refuse.
    """
    try:
        info = sf.info(str(path))
    except Exception:  # libsndfile does not know this container: ffmpeg's probe decides
        return False
    if info.format not in _SNDFILE_HEADER_FORMATS or info.samplerate <= 0:
        return False
    if cap is None:
        return True
    if info.frames > 0 and info.duration > cap:
        raise _too_long(info.duration, cap)
    width = _PCM_BYTES.get(info.subtype)
    if width is not None and info.channels > 0:
        by_size = path.stat().st_size / (width * info.channels * info.samplerate)
        if by_size > cap + 1.0:
            raise _too_long(by_size, cap)
    return True


def decode_mono(path: Path, sample_rate: int, caps: MediaCaps | None) -> np.ndarray:
    """The first audio stream of ``path`` as mono float32 at ``sample_rate`` Hz.

    Raises :class:`DurationTooLong` (header or decoded length above ``caps.max_duration_s``) and
    :class:`UnsupportedMedia` (undecodable, or no audio track).
    """
    path = Path(path)
    cap = caps.max_duration_s if caps is not None else None
    if not _header_check(path, cap):
        info = probe(path, demuxers=AUDIO_DEMUXERS)
        if info.audio_streams == 0:
            raise UnsupportedMedia("no audio track")
        if cap is not None and info.duration_s is not None and info.duration_s > cap:
            raise _too_long(info.duration_s, cap)
    # Frames of PIPE_FRAME_SAMPLES: a codec's frames resampled to 8 kHz are a few hundred samples, and
    # one pipe write (and wake-up of this process) each cost more than the resampling; same samples.
    regroup = f"aresample={sample_rate},asetnsamples=n={PIPE_FRAME_SAMPLES}:p=0"
    out = ["-map", "0:a:0", "-vn", "-sn", "-dn", "-ac", "1", "-ar", str(sample_rate), "-af", regroup]
    max_bytes = None
    if cap is not None:
        out += ["-t", f"{cap + 1.0:.3f}"]
        max_bytes = int((cap + 2.0) * sample_rate * 4)
    # WAV: decode all the data even when the header's data size is smaller (a header can lie).
    with path.open("rb") as fh:
        magic = fh.read(4)
    input_args = ["-ignore_length", "1"] if magic in (b"RIFF", b"RIFX") else []
    run = run_ffmpeg(
        path,
        [*out, "-f", "f32le", "pipe:1"],
        demuxers=AUDIO_DEMUXERS,
        input_args=input_args,
        max_output_bytes=max_bytes,
    )
    samples = np.frombuffer(run.stdout, dtype="<f4").astype(np.float32, copy=False)
    if cap is not None and samples.size > cap * sample_rate + sample_rate // 10:
        raise _too_long(samples.size / sample_rate, cap)
    return samples
