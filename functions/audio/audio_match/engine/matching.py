"""Hash matching under a grid of speed / tempo / pitch variants, and the offset histogram.

Hash keys quantise a peak pair: anchor log2-frequency (1/24 octave), log2 frequency ratio (1/24 octave)
and time gap (frames). A change of playback speed ``s`` scales the target's times by ``1/s`` and its
frequencies by ``s``; a tempo-only change scales times, a pitch-only change scales frequencies. Instead
of resampling audio, the *source's* continuous pair values are scaled and re-quantised for each variant
of a grid (speed 0.90-1.10, tempo 0.90-1.10, pitch 0.93-1.07, 1 % steps), and looked up in a table
of the target's keys. Only the anchor frequency and the gap move with a variant (the log frequency ratio
is pitch-invariant), so re-keying is a few vector operations; the lookup is a direct table (no sort).
The variant whose matches pile up at one time offset wins; ``align`` then fits lines to its matches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audio_match.engine.landmarks import F_MIN_HZ, PeakPairs

F1_PER_OCT = 24
DLF_PER_OCT = 24
LF0 = float(np.log2(F_MIN_HZ)) - 0.25
N_F1 = 128
N_DLF = 2 * DLF_PER_OCT + 1
N_DT = 72
N_KEYS = N_F1 * N_DLF * N_DT
#: Target keys occurring more often than this carry no information (stationary repeats): skipped.
MAX_HITS_PER_KEY = 24
#: Screening stops at one variant when its offset-peak count (on the screening subset) is at least
#: DECISIVE_MIN_PEAK and DECISIVE_RATIO times the runner-up's: only that variant is matched in full.
DECISIVE_MIN_PEAK = 64
DECISIVE_RATIO = 1.25
#: At most this many source pairs screen each variant: ~4 minutes of audio at the default every 4th;
#: a longer file's copy is screened on a sparser subset, its offset peak growing with its length anyway.
SCREEN_MAX_PAIRS = 16000


@dataclass(frozen=True)
class Variant:
    """Scale applied to the source: times ``* time_scale`` and frequencies ``* pitch_scale``.

    ``kind`` is "speed" (resampling: both), "tempo" (time only) or "pitch" (frequency only); ``factor`` is
    the transform applied to the source to obtain the target (speed 1.05 = target plays 5 % faster).
    """

    kind: str
    factor: float

    @property
    def time_scale(self) -> float:
        return 1.0 if self.kind == "pitch" else 1.0 / self.factor

    @property
    def pitch_scale(self) -> float:
        return 1.0 if self.kind == "tempo" else self.factor


def variant_grid() -> list[Variant]:
    """Identity first, then speed and tempo 0.90-1.10 and pitch 0.93-1.07 in 1 % steps."""
    steps = [round(1.0 + 0.01 * k, 2) for k in range(-10, 11) if k != 0]
    grid = [Variant("speed", 1.0)]
    grid += [Variant("speed", f) for f in steps]
    grid += [Variant("tempo", f) for f in steps]
    grid += [Variant("pitch", f) for f in steps if abs(f - 1.0) <= 0.07 + 1e-9]
    return grid


def keys_of(pairs: PeakPairs, time_scale: float = 1.0, pitch_scale: float = 1.0) -> np.ndarray:
    """int64 hash keys of ``pairs`` after scaling; -1 where a value falls outside the key space."""
    f1 = np.floor((pairs.lf1 + np.float32(np.log2(pitch_scale)) - LF0) * F1_PER_OCT).astype(np.int64)
    dlf = np.rint(pairs.dlf * DLF_PER_OCT).astype(np.int64) + DLF_PER_OCT
    dt = np.rint(pairs.dt * np.float32(time_scale)).astype(np.int64)
    ok = (f1 >= 0) & (f1 < N_F1) & (dlf >= 0) & (dlf < N_DLF) & (dt >= 0) & (dt < N_DT)
    keys = (f1 * N_DLF + dlf) * N_DT + dt
    return np.where(ok, keys, -1)


@dataclass(frozen=True)
class KeyTable:
    """The target's keys as a direct-address table.

    Hits of key k are ``order[start[k] : start[k] + count[k]]``; hot keys have ``count`` 0.
    """

    count: np.ndarray
    start: np.ndarray
    order: np.ndarray

    @classmethod
    def build(cls, keys: np.ndarray) -> KeyTable:
        valid = np.nonzero(keys >= 0)[0].astype(np.int32)
        k = keys[valid]
        order = valid[np.argsort(k, kind="stable")]
        full = np.bincount(k, minlength=N_KEYS).astype(np.int32)
        start = np.cumsum(full, dtype=np.int32) - full  # indexes ``order``, which still holds the hot keys
        count = full.copy()
        count[count > MAX_HITS_PER_KEY] = 0
        return cls(count=count, start=start, order=order)

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All (source index, target index) pairs with equal keys.

        int32 throughout and one ``np.repeat`` per output (the hits of source key ``i`` are
        ``order[start[k_i] + j]``, ``j < count[k_i]``, i.e. ``arange(total)`` shifted per run): this is
        the hottest loop of a comparison (every screened variant calls it).
        """
        src = np.nonzero(keys >= 0)[0].astype(np.int32)
        k = keys[src]
        c = self.count[k]
        hit = c > 0
        src, k, c = src[hit], k[hit], c[hit]
        if src.size == 0:
            empty = np.zeros(0, np.int32)
            return empty, empty
        first = np.cumsum(c, dtype=np.int32) - c
        tgt = self.order[np.repeat(self.start[k] - first, c) + np.arange(int(first[-1] + c[-1]), dtype=np.int32)]
        return np.repeat(src, c), tgt


@dataclass
class VariantMatches:
    """Matches of one variant: source/target anchor times (frames, source already time-scaled)."""

    variant: Variant
    t_src: np.ndarray  # original source anchor time (frames)
    t_tgt: np.ndarray
    dt_src: np.ndarray  # the pair's time gap on the source (frames): its far end is t_src + dt_src
    keys: np.ndarray  # the matched key of each match
    peak_count: int  # most matches within a 3-frame offset window
    peak_offset: float  # that window's centre offset (frames): t_tgt - time_scale * t_src


def offset_peak(offsets: np.ndarray) -> tuple[int, float]:
    """Largest number of offsets within a 3-frame window, and the window's centre."""
    if offsets.size == 0:
        return 0, 0.0
    b = np.rint(offsets).astype(np.int64)
    lo = int(b.min())
    c = np.bincount(b - lo + 1)
    c = np.concatenate([c, [0, 0]])
    s = c[:-2] + c[1:-1] + c[2:]
    i = int(np.argmax(s))
    return int(s[i]), float(i + lo)


def match_variant(src: PeakPairs, table: KeyTable, tgt_t1: np.ndarray, variant: Variant) -> VariantMatches:
    """Look the variant-scaled source keys up in the target table and find the offset peak."""
    keys = keys_of(src, variant.time_scale, variant.pitch_scale)
    si, ti = table.lookup(keys)
    t_src = src.t1[si]
    t_tgt = tgt_t1[ti]
    count, offset = offset_peak(t_tgt - variant.time_scale * t_src)
    return VariantMatches(variant, t_src, t_tgt, src.dt[si], keys[si], count, offset)


def match_weights(keys: np.ndarray) -> np.ndarray:
    """Evidence of each match: ``1 / sqrt(matches sharing its key)`` (= 1 / sqrt(n_src * n_tgt) of the
    key). A key repeated on both sides (a drum hit, a held note) pairs every copy with every copy; only
    one of those pairings can be the true one, so repeated keys weigh less, like IDF in text retrieval."""
    if keys.size == 0:
        return np.zeros(0, np.float32)
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return (1.0 / np.sqrt(counts[inverse])).astype(np.float32)


def subsample(pairs: PeakPairs, every: int) -> PeakPairs:
    """Every ``every``-th pair (a cheap, evenly spread subset for screening variants)."""
    sl = slice(0, None, every)
    return PeakPairs(pairs.t1[sl], pairs.lf1[sl], pairs.dlf[sl], pairs.dt[sl])


def search(
    src: PeakPairs, tgt: PeakPairs, grid: list[Variant] | None = None, *, screen_every: int = 4, keep: int = 6
) -> list[VariantMatches]:
    """Match the grid's variants, best first.

    Two stages keep this cheap: every variant is screened with every ``screen_every``-th source pair
    (sparser on long files, so that at most SCREEN_MAX_PAIRS are screened),
    then the ``keep`` best screened variants (and the identity) are matched with all pairs — or, when
    one variant wins the screening decisively (``DECISIVE_RATIO``), only that one. The returned list
    holds only those fully matched variants, sorted by their offset-peak count.
    """
    grid = grid or variant_grid()
    table = KeyTable.build(keys_of(tgt))
    if screen_every > 1 and len(grid) > keep + 1:
        few = subsample(src, max(screen_every, -(-src.t1.size // SCREEN_MAX_PAIRS)))
        screened = _screen(few, table, tgt.t1, grid)
        ranked = sorted(range(len(grid)), key=lambda i: -screened[i])
        top, runner_up = screened[ranked[0]], screened[ranked[1]]
        if top >= DECISIVE_MIN_PEAK and top >= DECISIVE_RATIO * runner_up:
            # A decisive screening winner: its full match would win anyway; the others are not needed.
            grid = [grid[ranked[0]]]
        else:
            ranked = [i for i in ranked if i != 0]
            grid = [grid[0], *(grid[i] for i in ranked[:keep])]
    full = [match_variant(src, table, tgt.t1, v) for v in grid]
    return sorted(full, key=lambda r: -r.peak_count)


def _screen(few: PeakPairs, table: KeyTable, tgt_t1: np.ndarray, grid: list[Variant]) -> list[int]:
    """Screening offset-peak counts of every variant of ``grid`` (its first entry the identity).

    The identity and its nearest neighbours (1 % either way) go first: when the identity wins them
    decisively, no farther variant can win (a copy at another speed scatters the identity's offsets and
    shifts its keys, leaving it a chance-level peak), so the rest count 0 and are not matched.
    """
    near = [i for i, v in enumerate(grid) if i == 0 or abs(v.factor - 1.0) <= 0.01 + 1e-9]
    counts = dict.fromkeys(range(len(grid)), 0)
    for i in near:
        counts[i] = match_variant(few, table, tgt_t1, grid[i]).peak_count
    best_other = max((counts[i] for i in near if i != 0), default=0)
    if not (counts[0] >= DECISIVE_MIN_PEAK and counts[0] >= DECISIVE_RATIO * best_other):
        for i in range(len(grid)):
            if i not in near:
                counts[i] = match_variant(few, table, tgt_t1, grid[i]).peak_count
    return [counts[i] for i in range(len(grid))]
