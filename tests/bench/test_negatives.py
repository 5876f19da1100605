"""The null bench (bench/negatives/): corpora, pairing rules, the runner's counting, the report.

Corpora are built from a tiny generated data folder (no real media needed); the runner is exercised on a
fake engine whose raw score is chosen per pair, so the counted false matches and their Clopper-Pearson
bound are known in advance. One real-data smoke (skips without ../shared/data) runs the real engines on a
handful of the quick corpus.
"""

from __future__ import annotations

import json
import math
import shutil
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from bench.common import DEFAULT_SEED, cache_root, data_dir, file_sha256, split_of
from bench.metrics import rate_upper_bound
from bench.negatives import report
from bench.negatives.pairs import CorpusError, form_pairs, validate
from bench.negatives.run import load_null_scores, merge_with_previous, raw_path, run_null, to_doc, write_doc
from bench.negatives.types import UNRELATED, Clip, clip_split, may_pair, shared_group
from medialayer.calibration import Calibration
from medialayer.engine import Comparison

SEED = 7
SR = 22050


# ------------------------------------------------------------------------------------------ fake data


def make_fake_data(root: Path) -> Path:
    """A few short WAVs (speech-named and music-named) and small PNGs of three data sets."""
    audio, images = root / "audio", root / "images"
    audio.mkdir(parents=True)
    images.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = {
        "ljspeech_linda_johnson_01": 31.0,
        "silero_test_speech": 22.0,
        "howler_foolboymedia_a": 26.0,
        "howler_foolboymedia_b": 25.0,
        "librosa_brahms_x": 13.0,
    }
    for name, secs in names.items():
        t = np.arange(int(secs * SR)) / SR
        x = 0.2 * np.sin(2 * np.pi * rng.uniform(200, 800) * t) * (1 + np.sin(2 * np.pi * 0.7 * t))
        sf.write(audio / f"{name}.wav", (x + 0.01 * rng.standard_normal(t.size)).astype(np.float32), SR)
    for prefix in ("urban100", "sun80", "kodak"):
        for k in range(1, 5):
            arr = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
            Image.fromarray(arr).save(images / f"{prefix}_{k:03d}.png")
    return root


@pytest.fixture(scope="module")
def fake_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_fake_data(tmp_path_factory.mktemp("negdata"))


def _manifest(clips: list[Clip]) -> list[tuple]:
    return [(c.clip_id, c.source_id, c.group, c.kind, c.pair_within_source, file_sha256(c.path)) for c in clips]


# ---------------------------------------------------------------------------------------------- corpora


@pytest.mark.parametrize("medium", ["image", "audio"])
def test_corpus_is_deterministic_and_split_by_source(
    medium: str, fake_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from importlib import import_module

    module = import_module(f"bench.negatives.{medium}_corpus")
    if medium == "audio":  # two synthesis groups are enough here (time)
        monkeypatch.setattr(module, "SYNTH_GROUPS", module.SYNTH_GROUPS[:2])
    build = module.build_corpus
    a = build(fake_data, tmp_path / "a", SEED, True)
    b = build(fake_data, tmp_path / "b", SEED, True)
    assert _manifest(a) == _manifest(b)  # same seed, empty caches: same clips, same bytes
    validate(a, SEED)
    halves: dict[str, set[str]] = {}
    for c in a:
        assert c.path.is_file() and c.path.stat().st_size > 0
        assert clip_split(c, SEED) == split_of(c.original or c.source_id, SEED)
        halves.setdefault(c.source_id, set()).add(clip_split(c, SEED))
        halves.setdefault(c.top_original, set()).add(clip_split(c, SEED))
    assert all(len(v) == 1 for v in halves.values())
    kinds = Counter(c.kind for c in a)
    if medium == "audio":
        speech = [c for c in a if c.kind == "same_speaker"]
        assert speech and all(c.pair_within_source for c in speech)
        assert {c.source_id for c in speech} == {"ljspeech_linda_johnson_01", "silero_test_speech"}
        music = [c for c in a if c.source_id.startswith("howler")]
        assert music and not any(c.pair_within_source for c in music)  # loops repeat: never paired
        assert kinds["same_instrumentation"] and kinds["tones"] and kinds["silence"]
        for c in a:
            info = sf.info(str(c.path))
            assert info.samplerate == SR and info.channels == 1 and 5.0 <= info.duration <= 30.0
        if shutil.which("espeak-ng"):
            tts = [c for c in a if c.group == "tts:espeak-ng"]
            by_text = Counter(c.top_original for c in tts)
            assert tts and set(by_text.values()) == {3}  # each text read by three voices, one half
    else:
        photos = Counter(c.kind for c in a if c.clip_id.startswith("photo/"))
        assert photos == {"same_category": 8, "same_photo_set": 4}
        assert kinds["uniform"] and kinds["text"]
        for c in a:
            if c.clip_id.startswith("half/"):
                assert c.pair_within_source and c.extra_groups[0][1] == "disjoint_halves"


# ---------------------------------------------------------------------------------------------- pairing


def _clip(cid: str, source: str, group: str = "g", kind: str = "k", within: bool = False, **kw) -> Clip:
    return Clip(Path(f"/x/{cid}"), cid, source, group, kind, within, **kw)


def _same_half_sources(n: int, half: str = "calib") -> list[str]:
    out, k = [], 0
    while len(out) < n:
        if split_of(f"src{k}", SEED) == half:
            out.append(f"src{k}")
        k += 1
    return out


def test_pairs_never_cross_halves_nor_repeat_a_source():
    s = _same_half_sources(3, "calib")
    r = _same_half_sources(1, "report")
    clips = [
        _clip("a1", s[0], within=True),
        _clip("a2", s[0], within=True),  # same source, both within: paired
        _clip("a3", s[0]),  # same source, not within: never paired with a1/a2
        _clip("b1", s[1], group="other"),
        _clip("c1", s[2]),
        _clip("r1", r[0]),
    ]
    validate(clips, SEED)
    pairs = form_pairs(clips, SEED, "calib", cross_ratio=None)
    ids = {(clips[p.a].clip_id, clips[p.b].clip_id) for p in pairs}
    assert ("a1", "a2") in ids
    assert not ids & {("a1", "a3"), ("a2", "a3")}
    assert all("r1" not in pair for pair in ids)  # the report-half clip pairs only in its half
    assert all(clip_split(clips[p.a], SEED) == clip_split(clips[p.b], SEED) == "calib" for p in pairs)
    kinds = {(clips[p.a].clip_id, clips[p.b].clip_id): p.kind for p in pairs}
    assert kinds[("a1", "b1")] == UNRELATED and kinds[("a1", "c1")] == "k"
    assert form_pairs(clips, SEED, "report") == []


def test_validate_refuses_one_source_in_both_halves():
    s, r = _same_half_sources(1, "calib")[0], _same_half_sources(1, "report")[0]
    with pytest.raises(CorpusError):  # same source, originals in different halves
        validate([_clip("x", "shared", original=s), _clip("y", "shared", original=r)], SEED)
    with pytest.raises(CorpusError):
        validate([_clip("x", s), _clip("x", r)], SEED)


def test_pair_kind_is_the_most_specific_shared_group():
    def tts(text: str, voice: str) -> Clip:
        groups = ((f"text:{text}", "tts_same_text"), (f"voice:{voice}", "tts_same_voice"))
        return _clip(
            f"{text}/{voice}", f"{text}:{voice}", "tts:espeak-ng", "tts_voices", original=text, extra_groups=groups
        )

    assert shared_group(tts("t1", "en"), tts("t1", "fr")) == ("text:t1", "tts_same_text")
    assert shared_group(tts("t1", "en"), tts("t2", "en")) == ("voice:en", "tts_same_voice")
    assert shared_group(tts("t1", "en"), tts("t2", "fr")) == ("tts:espeak-ng", "tts_voices")
    assert shared_group(tts("t1", "en"), _clip("z", "z", group="tones")) is None
    assert may_pair(tts("t1", "en"), tts("t1", "fr"))  # other voice: other source, same half


def test_unrelated_pairs_are_capped_by_a_stable_sample():
    srcs = _same_half_sources(40)
    clips = [_clip(f"c{k}", s, group=f"g{k % 4}", kind=f"kind{k % 4}") for k, s in enumerate(srcs)]
    every = form_pairs(clips, SEED, "calib", cross_ratio=None)
    hard = [p for p in every if p.same_group]
    capped = form_pairs(clips, SEED, "calib", cross_ratio=0.5)
    assert len(capped) == len(hard) + int(0.5 * len(hard))
    assert capped == form_pairs(clips, SEED, "calib", cross_ratio=0.5)
    # adding a clip keeps the earlier sample's choices among the old pairs (hash of the two ids)
    chosen = {(clips[p.a].clip_id, clips[p.b].clip_id) for p in capped if not p.same_group}
    more = form_pairs(clips + [_clip("extra", "src-extra-0")], SEED, "calib", cross_ratio=None)
    assert chosen <= {(clips[p.a].clip_id, clips[p.b].clip_id) for p in more if not p.same_group}


# ----------------------------------------------------------------------------------------------- runner


class FakeEngine:
    """Signature = the file's text; raw score = 0.9 when both texts start with "M" (a "match"), else a
    CRC-derived value in [0, 0.4). ``fingerprint`` refuses files that start with "X"."""

    media_type = "image"
    version = "fake-1"
    calls = 0

    def fingerprint(self, path: Path, caps: object = None) -> str:
        FakeEngine.calls += 1
        text = Path(path).read_text()
        if text.startswith("X"):
            raise ValueError("refused")
        return text

    def compare(self, a: str, b: str) -> Comparison:
        if a.startswith("M") and b.startswith("M"):
            return Comparison(raw_score=0.9)
        return Comparison(raw_score=(zlib.crc32((a + b).encode()) % 400) / 1000)

    def calibration(self) -> Calibration:
        return Calibration(
            medium="image", version="fake-cal", raw_floor=0.0, raw_clear=0.3, raw_match=0.5, raw_high=0.8, raw_top=1.0
        )


def fake_corpus(n: int, n_match: int, n_refused: int = 0):
    def build(data_dir: Path, cache_dir: Path, seed: int, quick: bool) -> list[Clip]:
        cache_dir.mkdir(parents=True, exist_ok=True)
        clips = []
        for k, src in enumerate(_same_half_sources(n, "calib")):
            text = ("X" if k < n_refused else "M" if k < n_refused + n_match else "o") + f"-{k}"
            path = cache_dir / f"clip{k}.txt"
            path.write_text(text)
            clips.append(Clip(path, f"clip{k}", src, "g", "same_thing"))
        return clips

    return build


def test_runner_counts_false_matches_and_bounds_them(tmp_path: Path):
    FakeEngine.calls = 0
    run = run_null(
        "image",
        tmp_path,
        seed=SEED,
        halves=("calib",),
        workers=1,
        cache_dir=tmp_path / "cache",
        corpus=fake_corpus(30, 4, 2),
        engine=FakeEngine,
        peers=None,
    )
    n_pairs = 30 * 29 // 2
    assert len(run.records) == n_pairs and all(r["half"] == "calib" for r in run.records)
    errors = [r for r in run.records if r.get("error")]
    assert len(errors) == 2 * 28 + 1  # every pair with a refused clip
    matches = [r for r in run.records if r["match"]]
    assert len(matches) == 4 * 3 // 2  # the "M" clips pairwise: raw 0.9 -> score 0.9, high
    assert all(r["confidence"] == "high" and r["similarity_score"] > 0.8 for r in matches)
    n, m, undecided = report.decisions(run.records, "medialayer")
    assert (n, m, undecided) == (n_pairs - len(errors), 6, len(errors))

    doc = to_doc(run, command="test", started="now")
    md = report.render(doc)
    bound = rate_upper_bound(6, n)
    assert f"6 / {n} = {100 * 6 / n:.3f} % (≤ {100 * bound:.3f} %)" in md
    assert "`clip2`" in md and "same_thing" in md  # the worst pairs are the "M" ones
    assert rate_upper_bound(0, 2995) == pytest.approx(0.001, rel=0.01)  # 0 of ~3,000: 0.1 %

    # signatures are cached: a rerun fingerprints nothing (refusals are cached too)
    FakeEngine.calls = 0
    again = run_null(
        "image", tmp_path, seed=SEED, halves=("calib",), workers=1, cache_dir=tmp_path / "cache",
        corpus=fake_corpus(30, 4, 2), engine=FakeEngine, peers=None,
    )  # fmt: skip
    assert FakeEngine.calls == 0
    assert [r["raw"] for r in again.records] == [r["raw"] for r in run.records]


def test_worker_pool_gives_the_same_records(tmp_path: Path):
    kwargs = dict(seed=SEED, halves=("calib",), corpus=fake_corpus(12, 3), peers=None)
    inproc = run_null("image", tmp_path, workers=1, cache_dir=tmp_path / "c1", engine=FakeEngine, **kwargs)
    pooled = run_null(
        "image", tmp_path, workers=2, cache_dir=tmp_path / "c2", engine="test_negatives:FakeEngine", **kwargs
    )
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]  # noqa: E731
    assert strip(pooled.records) == strip(inproc.records)


def test_dump_merges_halves_and_feeds_calibration(tmp_path: Path):
    run = run_null(
        "image", tmp_path, seed=SEED, halves=("calib",), workers=1, cache_dir=tmp_path / "cache",
        corpus=fake_corpus(10, 2), engine=FakeEngine, peers=None,
    )  # fmt: skip
    path = raw_path("image", False, SEED, tmp_path / "results")
    write_doc(to_doc(run, command="calib run", started="t0"), path)
    scores = load_null_scores("image", "calib", SEED, results=tmp_path / "results")
    assert isinstance(scores, np.ndarray) and scores.size == 45 and math.isclose(scores.max(), 0.9)
    with pytest.raises(KeyError):
        load_null_scores("image", "report", SEED, results=tmp_path / "results")
    # a report-half run of the same engine keeps the calibration half in the dump
    fake_report = dict(to_doc(run, command="report run", started="t1"))
    fake_report["halves"] = {"report": fake_report["halves"]["calib"]}
    fake_report["records"] = [dict(r, half="report") for r in fake_report["records"][:5]]
    merged = merge_with_previous(fake_report, path)
    assert set(merged["halves"]) == {"calib", "report"}
    assert Counter(r["half"] for r in merged["records"]) == {"calib": 45, "report": 5}
    json.dumps(merged)


# --------------------------------------------------------------------------------------------- real data


@pytest.mark.realdata
@pytest.mark.parametrize("medium", ["image", "audio"])
def test_realdata_smoke(medium: str, tmp_path: Path):
    """The real quick corpus (cached in bench/.cache/negatives), one report-half clip per kind, the real
    engine and peers in-process."""
    from importlib import import_module

    folder = data_dir()
    if folder is None:
        pytest.skip("no ../shared/data")
    if medium == "audio" and shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed (apt-get install espeak-ng)")
    build = import_module(f"bench.negatives.{medium}_corpus").build_corpus

    def handful(data: Path, cache: Path, seed: int, quick: bool) -> list[Clip]:
        clips = [
            c for c in build(data, cache_root() / "negatives" / medium, seed, True) if clip_split(c, seed) == "report"
        ]
        seen: Counter[str] = Counter()
        keep = []
        for c in clips:
            if seen[c.kind] < 1 and len(keep) < 7:
                seen[c.kind] += 1
                keep.append(c)
        return keep

    run = run_null(medium, folder, seed=DEFAULT_SEED, quick=True, halves=("report",), workers=1,
                   cache_dir=tmp_path, corpus=handful, cross_ratio=None)  # fmt: skip
    assert run.records and not run.fingerprint_errors
    assert all(r["raw"] is not None and math.isfinite(r["raw"]) for r in run.records)
    md = report.render(to_doc(run, command="smoke", started="now"))
    assert "| medialayer |" in md and "### Per kind" in md
