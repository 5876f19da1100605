"""The visual channel's per-pair null (decoys of the target) and what it is for (issue 14): slideshows of
different photos with the same motion, other takes of one fixed camera, a video against its own decoy —
none is a match; a copy's margin over its decoys stays decisive.

Synthetic videos are built as decoded thumbnails (:mod:`tests.video.synthetic`, no ffmpeg); verdicts go
through the shared :func:`medialayer.verdict.decide` with the engine's fitted calibration.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from medialayer.verdict import decide, segment_speed
from tests.video import synthetic as syn
from video_match.engine import VideoEngine
from video_match.engine.null import (
    MIN_JUMP,
    block_frames,
    block_order,
    block_reversal,
    decoy_orders,
    decoy_signature,
)
from video_match.engine.scoring import compare_signatures, visual_alignment
from video_match.engine.similarity import rank_variants, variants


@pytest.fixture(scope="module")
def calibration():
    return VideoEngine(use_audio=False).calibration()


def _verdict(source, target, calibration):
    return decide(compare_signatures(source, target), calibration, with_segments=True)


# -- the decoys --------------------------------------------------------------------------------------


@pytest.mark.parametrize("m", [24, 25, 31, 60, 200, 361])
def test_block_shuffle_is_a_permutation_with_far_neighbours(m: int) -> None:
    block = block_frames(2.0)
    order = block_order(m, block, seed=1)
    assert order is not None
    assert sorted(order.tolist()) == list(range(m))
    firsts = order[::block] // block  # the decoy's blocks, as target block numbers
    assert np.all(np.abs(np.diff(firsts)) >= MIN_JUMP)
    assert np.array_equal(order, block_order(m, block, seed=1))  # seeded: the same every run


def test_too_short_for_a_shuffle_still_has_reversals() -> None:
    assert block_order(20, 4, seed=1) is None  # 5 blocks cannot all be 3 apart
    orders = decoy_orders(20, 2.0)
    assert len(orders) == 2
    assert np.array_equal(orders[0], np.arange(20)[::-1])
    assert np.array_equal(orders[1], block_reversal(20, 4))
    assert orders[1][:4].tolist() == [16, 17, 18, 19]  # last block first, played forwards


def test_decoy_matrix_is_the_column_permuted_real_matrix() -> None:
    rng = np.random.default_rng(3)
    photos = [syn.photo(rng) for _ in range(8)]
    source = syn.signature(syn.slideshow(photos, 3.0, "in"))
    target = syn.signature(syn.reencoded(syn.slideshow(photos, 3.0, "in"), rng))
    for order in decoy_orders(target.n_frames, target.fps, shuffles=2):
        decoy = decoy_signature(target, order)
        real = {v.name: s for v, s, _ in rank_variants(source, target, keep=len(variants()))}
        fake = {v.name: s for v, s, _ in rank_variants(source, decoy, keep=len(variants()))}
        assert real.keys() == fake.keys()  # the ranking statistic ignores frame order: same variants
        for name, s in real.items():
            np.testing.assert_allclose(fake[name], s[:, order], atol=1e-6)


def test_video_against_its_own_decoy_is_not_a_match(calibration) -> None:
    rng = np.random.default_rng(5)
    bg = syn.scene(rng)
    video = syn.signature(syn.take(bg, syn.walk(rng, 40)))
    for order in decoy_orders(video.n_frames, video.fps, shuffles=2):
        verdict = _verdict(video, decoy_signature(video, order), calibration)
        assert not verdict.match


# -- copies stay decisive ----------------------------------------------------------------------------


def test_copy_margin_over_its_decoys_is_decisive(calibration) -> None:
    rng = np.random.default_rng(7)
    bg = syn.scene(rng)
    take = syn.take(bg, syn.walk(rng, 40))
    source = syn.signature(take)
    copy = syn.signature(syn.reencoded(take, rng, blur=1.0, noise=5.0))
    vis = visual_alignment(source, copy)
    best = vis.segments[0][0]
    assert best.motion > 3.0 * max(vis.null_motion, 0.5)
    verdict = _verdict(source, copy, calibration)
    assert verdict.match and verdict.confidence == "high"


def test_slideshow_copy_at_half_speed_matches(calibration) -> None:
    rng = np.random.default_rng(11)
    photos = [syn.photo(rng) for _ in range(6)]
    source = syn.signature(syn.slideshow(photos, 2.0, "lr"))
    slow = syn.signature(syn.reencoded(syn.slideshow(photos, 4.0, "lr"), rng))  # the same show, 0.5x
    verdict = _verdict(source, slow, calibration)
    assert verdict.match
    assert verdict.segments and segment_speed(verdict.segments[0]) == pytest.approx(0.5, rel=0.08)


# -- the hard negatives of issue 14 ------------------------------------------------------------------


@pytest.mark.parametrize("motion", ["in", "out", "lr", "static"])
@pytest.mark.parametrize(("seconds_a", "seconds_b"), [(2.0, 2.0), (2.0, 4.0), (3.0, 3.0)])
def test_slideshows_of_different_photos_with_the_same_motion_do_not_match(
    calibration, motion: str, seconds_a: float, seconds_b: float
) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{motion}/{seconds_a}/{seconds_b}".encode()))
    a = syn.signature(syn.slideshow([syn.photo(rng) for _ in range(6)], seconds_a, motion))
    b = syn.signature(syn.slideshow([syn.photo(rng) for _ in range(6)], seconds_b, motion))
    verdict = _verdict(a, b, calibration)
    assert not verdict.match, verdict


@pytest.mark.parametrize("seed", range(6))
def test_other_takes_of_one_fixed_camera_scene_do_not_match(calibration, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    bg = syn.scene(rng)  # the same room, the same fixed camera ...
    first = syn.signature(syn.take(bg, syn.walk(rng, 30)))
    second = syn.signature(syn.take(bg, syn.walk(rng, 30)))  # ... someone else walking elsewhere
    verdict = _verdict(first, second, calibration)
    assert not verdict.match, verdict
