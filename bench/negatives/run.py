"""The null bench runner: fingerprint every clip once, compare every negative pair, count false matches.

``python -m bench negatives <medium> [--half calib|report|both] [--quick] [--seed N]``

1. **Corpus** — ``bench/negatives/<medium>_corpus.py: build_corpus(data_dir, cache_dir, seed, quick)``
   (imported lazily; any module with that signature works), checked by
   :func:`bench.negatives.pairs.validate`; pairs per half by :func:`bench.negatives.pairs.form_pairs`.
2. **Signatures** — ours (``<medium>_match.engine``'s engine, ``engine.fingerprint(path,
   DEFAULT_CAPS[medium])``) and each pairwise-cheap peer (:mod:`bench.negatives.peers`) fingerprint each
   clip once, in a pool of ``workers`` spawned processes (2: this machine's cores), pickled to
   ``bench/.cache/negatives/sigs/<medium>/<engine version>-<source digest>/<file sha256>.pkl``. The
   digest covers the engine package's and ``shared/medialayer``'s Python sources, so an engine edit that
   forgets to bump its version still invalidates the cache. Image signatures are stored with their ORB
   feature pool extracted (``with_features()``, which ``compare`` would otherwise redo for every pair).
3. **Comparisons** — chunks of pairs go to the same pool; each worker keeps an LRU of loaded
   signatures. Ours: ``engine.compare(sig_a, sig_b)`` mapped to the public verdict by
   :func:`public_verdict` — the API's own :func:`medialayer.verdict.decide` (calibration + segment
   policy), the one adapter to change if the verdict's home moves. Peers: their ``compare`` at their
   published thresholds.
4. **Records** — per pair: half, clips, kind, group, raw, similarity_score, match, confidence, per-peer
   score and match; dumped to ``bench/.cache/results/negatives-<medium>[-quick]-seed<N>.json`` (halves
   not run this time are kept from an earlier dump of the same engine, seed and corpus options) and
   summarised in ``bench/results/negatives-<medium>[-quick].md`` (:mod:`bench.negatives.report`).
   :func:`load_null_scores` gives calibration the raw scores of a half.

An engine that fails on a clip (refused media) makes that clip's pairs errors: no score, no match,
counted apart in the report.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import hashlib
import importlib
import json
import multiprocessing as mp
import os
import pickle
import sys
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import DEFAULT_SEED, cache_root, ensure_import_paths, file_sha256, repo_root
from bench.negatives.pairs import DEFAULT_CROSS_RATIO, form_pairs, validate
from bench.negatives.types import Clip, NullPair, clip_split
from bench.types import Split

MEDIA = ("image", "audio", "video")
HALVES: tuple[Split, Split] = ("calib", "report")
ENGINES = {
    "image": "image_match.engine:ImageEngine",
    "audio": "audio_match.engine:AudioEngine",
    "video": "video_match.engine:VideoEngine",
}
PEERS_SPEC = "bench.negatives.peers:peers"
OURS = "medialayer"
CHUNK = 64
SIG_LRU = 400


def _load_spec(spec: str | Callable[..., Any]) -> Callable[..., Any]:
    if callable(spec):
        return spec
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def corpus_spec(medium: str) -> str:
    return f"bench.negatives.{medium}_corpus:build_corpus"


# ---------------------------------------------------------------------------------------- the verdict


def public_verdict(medium: str, comparison: Any, calibration: Any) -> tuple[float, bool, str, str]:
    """(similarity_score, match, confidence, note) exactly as the API gives them for ``comparison``."""
    from medialayer.verdict import decide

    v = decide(comparison, calibration, with_segments=medium != "image")
    return float(v.similarity_score), bool(v.match), str(v.confidence), str(v.note)


def engine_tag(engine: Any, medium: str) -> str:
    """``<engine version>-<digest of the engine's and medialayer's sources>`` (the signature cache key)."""
    version = str(getattr(engine, "version", "") or type(engine).__name__)
    h = hashlib.sha256()
    roots = [repo_root() / "functions" / medium / f"{medium}_match", repo_root() / "shared" / "medialayer"]
    module = sys.modules.get(type(engine).__module__)
    if module is not None and getattr(module, "__file__", None) and not str(module.__file__).startswith(str(roots[0])):
        roots.append(Path(module.__file__))  # an engine from elsewhere (tests): its own file
    for root in roots:
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root] if root.is_file() else []
        for f in files:
            h.update(str(f.relative_to(root) if root.is_dir() else f.name).encode())
            h.update(f.read_bytes())
    return f"{version}-{h.hexdigest()[:10]}"


# ------------------------------------------------------------------------------------------- workers


@dataclass
class _WorkerState:
    medium: str
    engine: Any
    peers: list[Any]
    calibration: Any | None
    sig_dirs: dict[str, Path]
    cache: OrderedDict[tuple[str, str], Any] = field(default_factory=OrderedDict)


_STATE: _WorkerState | None = None


def _init_worker(medium: str, engine_spec: Any, peer_names: Sequence[str], peers_spec: Any, sig_dirs: dict) -> None:
    """Build the engine and peers once per worker process (also called in-process)."""
    global _STATE
    ensure_import_paths()
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass
    engine = _load_spec(engine_spec)()
    peers = [p for p in _load_spec(peers_spec)(medium) if p.name in peer_names] if peers_spec else []
    try:
        calibration = engine.calibration()
    except Exception:  # not calibrated yet, or fitted on another engine version: raw scores only
        calibration = None
    _STATE = _WorkerState(medium, engine, peers, calibration, {k: Path(v) for k, v in sig_dirs.items()})


def _fingerprint_task(path: str, sha: str) -> dict[str, str | None]:
    """Signatures of one clip (ours + each peer's), pickled into the cache; ``{name: error or None}``."""
    from medialayer.caps import DEFAULT_CAPS

    st = _STATE
    assert st is not None
    makers: dict[str, Callable[[], Any]] = {OURS: lambda: _our_signature(st, Path(path), DEFAULT_CAPS[st.medium])}
    for peer in st.peers:
        makers.setdefault(peer.sig_name, lambda peer=peer: peer.signature(Path(path)))
    out: dict[str, str | None] = {}
    for name, make in makers.items():
        target = st.sig_dirs[name] / f"{sha}.pkl"
        if target.exists():
            out[name] = _read_error(target)
            continue
        try:
            value: Any = ("ok", make())
            out[name] = None
        except Exception as exc:  # refused media etc.: recorded, the clip's pairs become errors
            value = ("error", f"{type(exc).__name__}: {exc}"[:300])
            out[name] = value[1]
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, target)
    return out


def _our_signature(st: _WorkerState, path: Path, caps: Any) -> Any:
    sig = st.engine.fingerprint(path, caps)
    if hasattr(sig, "with_features"):  # image: extract the ORB pool once, not in every compare
        sig = sig.with_features()
    return sig


def _read_error(target: Path) -> str | None:
    status, value = pickle.loads(target.read_bytes())
    return None if status == "ok" else str(value)


def _signature(name: str, sha: str) -> tuple[str, Any]:
    st = _STATE
    assert st is not None
    key = (name, sha)
    if key in st.cache:
        st.cache.move_to_end(key)
        return st.cache[key]
    value = pickle.loads((st.sig_dirs[name] / f"{sha}.pkl").read_bytes())
    st.cache[key] = value
    if len(st.cache) > SIG_LRU:
        st.cache.popitem(last=False)
    return value


def _compare_task(items: Sequence[tuple[int, str, str]]) -> list[dict[str, Any]]:
    """Compare a chunk of pairs ``(pair index, sha_a, sha_b)``: ours, then each peer."""
    st = _STATE
    assert st is not None
    out = []
    for index, sha_a, sha_b in items:
        rec: dict[str, Any] = {"i": index}
        (sa, a), (sb, b) = _signature(OURS, sha_a), _signature(OURS, sha_b)
        t0 = time.perf_counter()
        if sa != "ok" or sb != "ok":
            rec.update(raw=None, similarity_score=None, match=None, confidence=None, error=a if sa != "ok" else b)
        else:
            try:
                comparison = st.engine.compare(a, b)
                rec["raw"] = float(comparison.raw_score)
                if st.calibration is not None:
                    score, match, conf, note = public_verdict(st.medium, comparison, st.calibration)
                    rec.update(similarity_score=score, match=match, confidence=conf)
                    if note:
                        rec["note"] = note
                else:
                    rec.update(similarity_score=None, match=None, confidence=None)
            except Exception as exc:
                rec.update(raw=None, similarity_score=None, match=None, confidence=None)
                rec["error"] = f"{type(exc).__name__}: {exc}"[:300] + " | " + traceback.format_exc(limit=2)[-300:]
        rec["seconds"] = round(time.perf_counter() - t0, 5)
        peers: dict[str, Any] = {}
        for peer in st.peers:
            (pa, ha), (pb, hb) = _signature(peer.sig_name, sha_a), _signature(peer.sig_name, sha_b)
            if pa != "ok" or pb != "ok":
                peers[peer.name] = {"score": None, "match": None}
                continue
            score, match = peer.compare(ha, hb)
            peers[peer.name] = {"score": float(score), "match": bool(match)}
        rec["peers"] = peers
        out.append(rec)
    return out


# -------------------------------------------------------------------------------------------- runner


@dataclass
class NullRun:
    """One invocation's clips, pairs and records (a record per pair, in pair order)."""

    medium: str
    seed: int
    quick: bool
    clips: list[Clip]
    pairs: list[NullPair]
    records: list[dict[str, Any]]
    peer_rules: dict[str, str]
    unavailable: list[str]
    engine_tag: str
    calibration_version: str | None
    timing: dict[str, float]
    halves: tuple[Split, ...]
    cross_ratio: float | None
    fingerprint_errors: dict[str, str] = field(default_factory=dict)


class _InProcess:
    """The pool's interface, run in this process (``workers <= 1``; tests and debugging)."""

    def __init__(self, initargs: tuple) -> None:
        _init_worker(*initargs)

    def map(self, fn: Callable[..., Any], *iterables: Any) -> Any:
        return map(fn, *iterables)

    def __enter__(self) -> _InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _pool(workers: int, initargs: tuple) -> Any:
    if workers <= 1:
        return _InProcess(initargs)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread per worker
        os.environ.setdefault(var, "1")
    return cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_init_worker, initargs=initargs
    )


def _log(msg: str) -> None:
    print(f"[negatives {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run_null(
    medium: str,
    data_dir: Path,
    *,
    seed: int = DEFAULT_SEED,
    quick: bool = False,
    halves: Sequence[Split] = HALVES,
    cross_ratio: float | None = DEFAULT_CROSS_RATIO,
    workers: int = 2,
    cache_dir: Path | None = None,
    corpus: str | Callable[..., list[Clip]] | None = None,
    engine: str | Callable[[], Any] | None = None,
    peers: str | Callable[[str], list[Any]] | None = PEERS_SPEC,
) -> NullRun:
    """Build the corpus, fingerprint, compare every pair of the chosen halves (module doc)."""
    ensure_import_paths()
    cache = Path(cache_dir) if cache_dir is not None else cache_root() / "negatives"
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    clips = list(_load_spec(corpus or corpus_spec(medium))(Path(data_dir), cache / medium, seed, quick))
    validate(clips, seed)
    timing["corpus_s"] = time.perf_counter() - t0
    pairs = [p for half in halves for p in form_pairs(clips, seed, half, cross_ratio)]
    _log(f"{medium}: {len(clips)} clips, {len(pairs)} pairs in {', '.join(halves)} ({timing['corpus_s']:.0f} s corpus)")

    engine_spec = engine or ENGINES[medium]
    our_engine = _load_spec(engine_spec)()
    tag = engine_tag(our_engine, medium)
    try:
        calibration_version: str | None = str(our_engine.calibration().version)
    except Exception:
        calibration_version = None
    available, unavailable, rules, sig_names = [], [], {}, {}
    if peers:
        for p in _load_spec(peers)(medium):
            (available if p.available() else unavailable).append(p.name)
            rules[p.name] = p.rule
            sig_names[p.name] = p.sig_name
    sig_root = cache / "sigs" / medium
    sig_dirs = {OURS: sig_root / tag} | {s: sig_root / f"peer-{s}" for n, s in sig_names.items() if n in available}
    for d in sig_dirs.values():
        d.mkdir(parents=True, exist_ok=True)

    used = sorted({i for p in pairs for i in (p.a, p.b)})
    t1 = time.perf_counter()
    shas = {i: file_sha256(clips[i].path) for i in used}
    initargs = (medium, engine_spec, available, peers, {k: str(v) for k, v in sig_dirs.items()})
    fp_errors: dict[str, str] = {}
    records: list[dict[str, Any]] = []
    with _pool(workers, initargs) as pool:
        todo = [i for i in used if not all((d / f"{shas[i]}.pkl").exists() for d in sig_dirs.values())]
        _log(f"fingerprinting {len(todo)} of {len(used)} clips ({len(used) - len(todo)} cached) with {workers} workers")
        results = pool.map(_fingerprint_task, [str(clips[i].path) for i in todo], [shas[i] for i in todo])
        for i, errs in zip(todo, results, strict=True):
            for name, err in errs.items():
                if err:
                    fp_errors[f"{clips[i].clip_id} ({name})"] = err
        timing["fingerprint_s"] = time.perf_counter() - t1
        _log(f"fingerprints done in {timing['fingerprint_s']:.0f} s ({len(fp_errors)} errors)")

        t2 = time.perf_counter()
        items = [(k, shas[p.a], shas[p.b]) for k, p in enumerate(pairs)]
        chunks = [items[k : k + CHUNK] for k in range(0, len(items), CHUNK)]
        done, next_log = 0, 0.1
        for chunk_out in pool.map(_compare_task, chunks):
            records.extend(chunk_out)
            done += len(chunk_out)
            if done >= next_log * len(items):
                rate = done / max(time.perf_counter() - t2, 1e-9)
                _log(f"compared {done}/{len(items)} ({rate:.1f} pairs/s, ~{(len(items) - done) / rate:.0f} s left)")
                next_log += 0.1
        timing["compare_s"] = time.perf_counter() - t2
    for rec, p in zip(records, pairs, strict=True):
        assert rec.pop("i") is not None
        rec.update(
            half=p.half,
            a=clips[p.a].clip_id,
            b=clips[p.b].clip_id,
            kind=p.kind,
            group=p.group,
            same_group=p.same_group,
        )
    timing["total_s"] = time.perf_counter() - t0
    return NullRun(
        medium=medium,
        seed=seed,
        quick=quick,
        clips=clips,
        pairs=pairs,
        records=records,
        peer_rules={n: rules[n] for n in available},
        unavailable=unavailable,
        engine_tag=tag,
        calibration_version=calibration_version,
        timing=timing,
        halves=tuple(halves),
        cross_ratio=cross_ratio,
        fingerprint_errors=fp_errors,
    )


# ------------------------------------------------------------------------------------------ the dump


def raw_path(medium: str, quick: bool, seed: int, results: Path | None = None) -> Path:
    """``bench/.cache/results/negatives-<medium>[-quick]-seed<N>.json``."""
    folder = results or cache_root() / "results"
    return folder / f"negatives-{medium}{'-quick' if quick else ''}-seed{seed}.json"


def to_doc(run: NullRun, *, command: str, started: str) -> dict[str, Any]:
    """The JSON form of a run (one entry per half run, with its own command and date)."""
    clips = [
        {
            "clip_id": c.clip_id,
            "path": str(c.path),
            "source_id": c.source_id,
            "original": c.top_original,
            "group": c.group,
            "kind": c.kind,
            "pair_within_source": c.pair_within_source,
            "extra_groups": [list(g) for g in c.extra_groups],
            "half": clip_split(c, run.seed),
        }
        for c in run.clips
    ]
    run_info = {"command": command, "started": started, "timing": run.timing, "nproc": os.cpu_count()}
    return {
        "medium": run.medium,
        "seed": run.seed,
        "quick": run.quick,
        "engine_tag": run.engine_tag,
        "calibration_version": run.calibration_version,
        "cross_ratio": run.cross_ratio,
        "peer_rules": run.peer_rules,
        "unavailable": run.unavailable,
        "halves": {h: run_info for h in run.halves},
        "fingerprint_errors": run.fingerprint_errors,
        "clips": clips,
        "records": run.records,
    }


def merge_with_previous(doc: dict[str, Any], path: Path) -> dict[str, Any]:
    """Keep the halves an earlier dump has and this run did not score — when it scored the same engine
    with the same calibration, seed, corpus options and peers (else they are dropped)."""
    if not path.exists():
        return doc
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return doc
    same = all(old.get(k) == doc.get(k) for k in ("engine_tag", "calibration_version", "seed", "quick", "cross_ratio"))
    if not same or set(old.get("peer_rules", {})) != set(doc["peer_rules"]):
        return doc
    keep = [h for h in old.get("halves", {}) if h not in doc["halves"]]
    if not keep:
        return doc
    merged = dict(doc)
    merged["halves"] = {**{h: old["halves"][h] for h in keep}, **doc["halves"]}
    merged["records"] = [r for r in old["records"] if r["half"] in keep] + doc["records"]
    ids = {c["clip_id"] for c in doc["clips"]}
    merged["clips"] = doc["clips"] + [c for c in old["clips"] if c["clip_id"] not in ids]
    return merged


def write_doc(doc: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)


def load_null_scores(
    medium: str, half: Split, seed: int = DEFAULT_SEED, *, quick: bool = False, results: Path | None = None
) -> np.ndarray:
    """Ours' raw scores of the null bench's negative pairs of ``half`` (errored pairs left out).

    For calibration (the ``calib`` half). Raises ``FileNotFoundError`` when the medium's null bench has
    not been run for this seed, and ``KeyError`` when the dump has no such half.
    """
    path = raw_path(medium, quick, seed, results)
    doc = json.loads(path.read_text())
    if half not in doc.get("halves", {}):
        raise KeyError(f"{path} has no {half!r} half: run `python -m bench negatives {medium} --half {half}`")
    return np.array([r["raw"] for r in doc["records"] if r["half"] == half and r["raw"] is not None], dtype=float)


# ----------------------------------------------------------------------------------------------- CLI


def add_arguments(p: Any) -> None:
    """The ``negatives`` subcommand's options (``bench/__main__.py`` adds the subparser)."""
    p.add_argument("medium", choices=MEDIA)
    p.add_argument("--half", choices=("calib", "report", "both"), default="both")
    p.add_argument("--quick", action="store_true", help="a few clips per family (< 2 min)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--data", type=Path, default=None, help="media folder (default ../shared/data)")
    p.add_argument(
        "--cross-ratio",
        type=float,
        default=DEFAULT_CROSS_RATIO,
        help="unrelated pairs kept per hard pair (negative: keep all)",
    )
    p.add_argument("--workers", type=int, default=2, help="worker processes (1: in this process)")
    p.add_argument("--no-peers", action="store_true", help="ours only")
    p.add_argument("--out", type=Path, default=repo_root() / "bench" / "results", help="results folder")
    p.add_argument("--report-only", action="store_true", help="re-render the report from the last dump, no run")


def _write_report(doc: dict[str, Any], out: Path, medium: str, quick: bool) -> Path:
    from bench.negatives import report

    md = report.render(doc)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"negatives-{medium}{'-quick' if quick else ''}.md"
    target.write_text(md)
    print(md)
    return target


def main_args(args: Any, argv: Sequence[str]) -> int:
    """Run ``python -m bench negatives ...`` from parsed ``args``."""
    import shlex

    from bench.common import data_dir

    path = raw_path(args.medium, args.quick, args.seed)
    if args.report_only:
        if not path.exists():
            print(f"no dump at {path}: run `python -m bench negatives {args.medium}` first", file=sys.stderr)
            return 2
        print(f"wrote {_write_report(json.loads(path.read_text()), Path(args.out), args.medium, args.quick)}")
        return 0
    folder = args.data or data_dir()
    if folder is None or not Path(folder).is_dir():
        print("no media folder: put it at ../shared/data or set MEDIALAYER_TEST_DATA", file=sys.stderr)
        return 2
    halves: tuple[Split, ...] = HALVES if args.half == "both" else (args.half,)
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    run = run_null(
        args.medium,
        Path(folder),
        seed=args.seed,
        quick=args.quick,
        halves=halves,
        cross_ratio=None if args.cross_ratio < 0 else args.cross_ratio,
        workers=args.workers,
        peers=None if args.no_peers else PEERS_SPEC,
    )
    command = "python -m bench " + " ".join(shlex.quote(a) for a in argv)
    doc = merge_with_previous(to_doc(run, command=command, started=started), path)
    write_doc(doc, path)
    target = _write_report(doc, Path(args.out), args.medium, args.quick)
    print(f"wrote {target} and {path}", file=sys.stderr)
    return 0
