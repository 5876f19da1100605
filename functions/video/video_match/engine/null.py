"""Decoys of the target: the per-pair null of the visual search (GUIDE §4, "the look-elsewhere effect").

A decoy is the target with its frames put in another order — reversed, or cut into blocks of
``DECOY_BLOCK_S`` seconds that are shuffled by a seeded permutation — so it keeps everything the target's
frames are (their look, their motion within a block, how alike they are to each other and to the
source) and loses any true alignment with the source. The frame x frame similarity matrix of a decoy is
the real matrix with its columns permuted (``S[:, order]``): no new descriptors or products are needed,
only the alignment is rerun, and the decoy's best alignment is what the same search finds by chance on
this very pair.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from video_match.engine.types import VideoSignature

#: Shortest block of a shuffled decoy (s): the shared minimum support of a segment at unchanged speed
#: (``medialayer.verdict.MIN_SEGMENT_S``), so a true alignment surviving inside a block is shorter than
#: anything that may carry a match.
DECOY_BLOCK_S = 2.0
#: Seed of the block permutations (any fixed number: the decoys must be the same on every run).
DECOY_SEED = 20261204


#: Blocks that follow each other in a decoy are at least this many blocks apart in the target.
MIN_JUMP = 3


def _far_permutation(count: int, rng: np.random.Generator) -> np.ndarray | None:
    """A random order of ``count`` blocks in which consecutive blocks are >= ``MIN_JUMP`` apart (a
    randomised greedy walk with restarts), or ``None`` when none was found."""
    for _ in range(50):
        left = list(rng.permutation(count))
        order = [left.pop()]
        while left:
            ok = [k for k, b in enumerate(left) if abs(b - order[-1]) >= MIN_JUMP]
            if not ok:
                break
            order.append(left.pop(ok[int(rng.integers(len(ok)))]))
        if not left:
            return np.array(order)
    return None


def block_order(m: int, block: int, seed: int) -> np.ndarray | None:
    """Frame order of a block-shuffled decoy of ``m`` frames, or ``None`` for too few blocks.

    Blocks of ``block`` frames (the last one may be shorter) are permuted so that blocks following each
    other in the decoy were at least ``MIN_JUMP`` blocks apart in the target. Any line of slope 0.5-2
    through two neighbouring decoy blocks would otherwise meet a sped-up or slowed-down copy: blocks
    ``k, k + 2, k + 4`` of slowly changing footage *are* the footage at twice the speed.
    """
    count = -(-m // block)
    if count < 2 * MIN_JUMP:
        return None
    perm = _far_permutation(count, np.random.default_rng([seed, m, block]))
    if perm is None:
        return None
    starts = perm * block
    return np.concatenate([np.arange(s, min(s + block, m)) for s in starts])


def block_reversal(m: int, block: int) -> np.ndarray | None:
    """Frame order with the blocks in reverse order, each block played forwards (``None``: one block)."""
    count = -(-m // block)
    if count < 2:
        return None
    return np.concatenate([np.arange(k * block, min((k + 1) * block, m)) for k in range(count - 1, -1, -1)])


def block_frames(fps: float) -> int:
    """Frames in one ``DECOY_BLOCK_S`` block at the signature's rate (at least 2)."""
    return max(2, int(np.ceil(DECOY_BLOCK_S * fps - 1e-9)))


def decoy_orders(m: int, fps: float, shuffles: int = 1) -> list[np.ndarray]:
    """Target frame orders of the decoys of an ``m``-frame target: time reversal (motion played
    backwards), block reversal (each block forwards, the blocks last to first) and ``shuffles`` seeded
    block shuffles (when the target has enough blocks, :func:`block_order`)."""
    orders = [np.arange(m)[::-1].copy()]
    block = block_frames(fps)
    reversal = block_reversal(m, block)
    if reversal is not None:
        orders.append(reversal)
    for k in range(shuffles):
        order = block_order(m, block, DECOY_SEED + k)
        if order is not None:
            orders.append(order)
    return orders


def decoy_signature(target: VideoSignature, order: np.ndarray) -> VideoSignature:
    """The target with its frames in ``order`` (descriptors of every view permuted; times, duration and
    soundtrack kept): a decoy as a video. Its similarity matrix with any source is the target's with its
    columns permuted, ``S[:, order]`` — which is all :mod:`.scoring` computes (tested)."""
    return replace(target, descriptors={k: v[order] for k, v in target.descriptors.items()}, audio=None)
