"""Negative pairs from a corpus: every allowed pair within a group, and a seeded sample of the rest.

Rules (tested in ``tests/bench/test_negatives.py``):

* a pair is formed only within one half (the half of each clip's top-level original, :func:`clip_split`);
* never two clips of one source unless both have ``pair_within_source`` (:func:`may_pair`);
* every allowed pair that shares a group (:func:`shared_group`) is kept — these are the hard ones;
* pairs sharing no group (``unrelated``: speech against a tone, a building against a text page) are kept
  up to ``cross_ratio`` times the number of hard pairs, choosing the pairs with the smallest seeded
  hash of their two clip ids — stable when clips are added, and so hard pairs are at least
  ``1 / (1 + cross_ratio)`` of the pairs (two thirds, by default). ``cross_ratio=None`` keeps all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from bench.common import stable_hash
from bench.negatives.types import UNRELATED, Clip, NullPair, clip_split, may_pair, shared_group
from bench.types import Split

DEFAULT_CROSS_RATIO = 0.5


class CorpusError(ValueError):
    """The corpus breaks a rule the null bench relies on (duplicate ids, one source in both halves)."""


def validate(clips: Sequence[Clip], seed: int) -> None:
    """Unique clip ids and paths; every source (and every top-level original) in one half only."""
    ids: set[str] = set()
    paths: set[str] = set()
    halves: dict[str, set[Split]] = defaultdict(set)
    for c in clips:
        if c.clip_id in ids:
            raise CorpusError(f"duplicate clip id {c.clip_id!r}")
        if str(c.path) in paths:
            raise CorpusError(f"two clips share the file {c.path}")
        ids.add(c.clip_id)
        paths.add(str(c.path))
        half = clip_split(c, seed)
        halves[f"source:{c.source_id}"].add(half)
        halves[f"original:{c.top_original}"].add(half)
    split = sorted(k for k, v in halves.items() if len(v) > 1)
    if split:
        raise CorpusError(f"in both halves: {split[:5]}")


def form_pairs(
    clips: Sequence[Clip], seed: int, half: Split, cross_ratio: float | None = DEFAULT_CROSS_RATIO
) -> list[NullPair]:
    """The negative pairs of one half (module doc), hard ones first, each list in clip order."""
    members = [i for i, c in enumerate(clips) if clip_split(c, seed) == half]
    hard: list[NullPair] = []
    cross: list[NullPair] = []
    for x, i in enumerate(members):
        a = clips[i]
        for j in members[x + 1 :]:
            b = clips[j]
            if not may_pair(a, b):
                continue
            shared = shared_group(a, b)
            if shared is None:
                cross.append(NullPair(i, j, half, UNRELATED, ""))
            else:
                hard.append(NullPair(i, j, half, shared[1], shared[0]))
    if cross_ratio is not None and hard and len(cross) > cross_ratio * len(hard):
        keep = int(cross_ratio * len(hard))

        def key(p: NullPair) -> bytes:
            return stable_hash("null-cross", seed, clips[p.a].clip_id, clips[p.b].clip_id)

        chosen = set(sorted(range(len(cross)), key=lambda k: key(cross[k]))[:keep])
        cross = [p for k, p in enumerate(cross) if k in chosen]
    return hard + cross
