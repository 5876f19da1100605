"""The image benchmark's pairs and peers: deterministic, split by original, every family, sane peers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

for _package in ("augly", "imagehash", "pdqhash"):  # the bench extra (make bench-setup)
    pytest.importorskip(_package, reason="the bench extra is not installed (make bench-setup)")

from bench.common import file_sha256, split_of  # noqa: E402
from bench.image_pairs import FAMILIES, build_pairs  # noqa: E402
from bench.image_peers import matchers  # noqa: E402

pytestmark = pytest.mark.realdata
SEED = 20261125


@pytest.fixture(scope="module")
def quick_pairs(real_images: Path, tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("image-cache")
    return build_pairs(real_images.parent, cache, SEED, quick=True), cache


def test_quick_pairs_cover_every_family_in_both_halves(quick_pairs):
    pairs, _ = quick_pairs
    assert 120 <= len(pairs) <= 200
    for split in ("calib", "report"):
        families = {p.family for p in pairs if p.split == split and p.positive}
        assert families == set(FAMILIES)
        kinds = Counter(p.family for p in pairs if p.split == split and not p.positive)
        assert kinds["negative"] > 0 and kinds["hard_negative"] > 0 and kinds["negative_edit"] > 0


def test_split_is_by_original_and_ids_are_unique(quick_pairs):
    pairs, _ = quick_pairs
    assert len({p.pair_id for p in pairs}) == len(pairs)
    for p in pairs:
        assert p.split == split_of(p.original, SEED)
        assert p.source.exists() and p.target.exists()
        if p.positive:
            assert p.source.stem == p.original


def test_negatives_never_pair_an_original_with_itself(quick_pairs):
    pairs, _ = quick_pairs
    for p in pairs:
        if not p.positive and p.family != "dark_negative":
            assert p.original not in p.target.stem.split("-")


def test_pairs_are_deterministic(quick_pairs, real_images, tmp_path):
    pairs, _ = quick_pairs
    again = build_pairs(real_images.parent, tmp_path, SEED, quick=True)
    assert [p.pair_id for p in again] == [p.pair_id for p in pairs]
    for a, b in list(zip(pairs, again, strict=True))[:40]:
        assert file_sha256(a.target) == file_sha256(b.target)


def test_matchers_ours_first_and_they_answer(quick_pairs):
    pairs, _ = quick_pairs
    found = matchers()
    assert found[0].name == "medialayer"
    assert [m.name for m in found[1:]] == ["phash", "pdq", "pdq_dihedral", "orb_ransac"]
    positive = next(p for p in pairs if p.positive and p.family == "jpeg")
    negative = next(p for p in pairs if p.family == "negative")
    for matcher in found:
        assert matcher.available()
        pos, neg = matcher.run(positive), matcher.run(negative)
        assert pos.score is not None and neg.score is not None
        assert pos.score > neg.score, matcher.name
        assert neg.match is False or matcher.name == "medialayer" and neg.match is None
    ours = found[0].run(positive)
    assert 0.0 <= ours.extra.get("similarity_score", 0.0) <= 1.0
