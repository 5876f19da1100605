"""Run every matcher on every pair and record what each said, how long it took and how much memory.

How it measures (the same for ours and every peer):

* **Isolation**: each matcher runs in its own worker process (``multiprocessing`` *spawn*), built fresh
  from the medium's ``matchers()`` factory, so one matcher's imports, caches and leaks never weigh on
  another's timings or memory, and a crash or hang costs one pair (recorded as an error), not the run.
* **Order**: pairs are visited one by one and, for each pair, every matcher in turn, so background load
  on the shared machine spreads evenly over matchers instead of hitting one of them.
* **Warm-up**: each worker first runs the first pair once, untimed, so lazy imports and model loading
  are not billed to pair one.
* **Latency**: wall-clock seconds of ``Matcher.run(pair)`` inside the worker (``time.perf_counter``):
  both files' decoding and fingerprinting plus the comparison — what an API call costs minus network.
* **Peak memory**: the worker's peak resident set (``VmHWM`` from ``/proc/self/status``), reset before
  each pair by writing ``5`` to ``/proc/self/clear_refs``, so it is the peak *during that pair*,
  including the interpreter and libraries already loaded (what a Lambda would need). Helper processes
  (an ffmpeg or fpcalc subprocess) are added by sampling worker + descendants' RSS every 10 ms during
  the pair; the larger of the two is reported. ``None`` where ``/proc`` is unavailable.
* **Decode floor**: ``ffmpeg -i f -f null -`` for each distinct file, measured just before the first
  pair that uses it (see :mod:`bench.decode_floor`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.common import file_sha256
from bench.types import Alignment, Matcher, Pair, Verdict

OURS = "medialayer"
MB = 1024.0 * 1024.0


# --------------------------------------------------------------------------------------------- memory


def _read_peak_rss_mb() -> float | None:
    """This process's peak RSS in MB (``VmHWM``), or ``None`` without ``/proc``."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / MB
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux >= 4.0). ``False`` if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss_bytes(pid: int) -> int:
    """Current resident set of process ``pid`` in bytes (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _descendants(pid: int) -> list[int]:
    """All live descendant process ids of ``pid`` (via ``/proc/<pid>/task/<tid>/children``)."""
    out: list[int] = []
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    kids = [int(k) for k in fh.read().split()]
            except (OSError, ValueError):
                continue
            out.extend(kids)
            stack.extend(kids)
    return out


class _ChildPeakSampler:
    """Samples (own RSS + all descendants' RSS) every ``interval`` s in a thread; keeps the maximum.

    Catches the memory of helper processes (ffmpeg, fpcalc, ...) that ``VmHWM`` cannot see; a child
    living less than one interval may be missed.
    """

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            kids = _descendants(me)
            if kids:
                total = _rss_bytes(me) + sum(_rss_bytes(k) for k in kids)
                self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> _ChildPeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measured_run(matcher: Matcher, pair: Pair) -> Verdict:
    """Run ``matcher`` on ``pair`` with the timing and memory method described in the module doc.

    Exceptions become a verdict with ``error`` set and no score (ranked as "not found").
    """
    can_reset = _reset_peak_rss()
    with _ChildPeakSampler() as sampler:
        t0 = time.perf_counter()
        try:
            verdict = matcher.run(pair)
        except Exception as exc:  # a matcher failing on a file is a result, not a crash of the bench
            verdict = Verdict(score=None, match=None, error=f"{type(exc).__name__}: {exc}"[:500])
        verdict.seconds = time.perf_counter() - t0
    own = _read_peak_rss_mb() if can_reset else None
    verdict.peak_rss_mb = None if own is None else max(own, sampler.peak / MB)
    return verdict


# --------------------------------------------------------------------------------------------- factories


def load_factory(spec: str) -> Callable[[], list[Matcher]]:
    """``"package.module:function"`` -> the function (the medium's ``matchers`` factory)."""
    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr or "matchers")


def _worker_main(factory_spec: str, name: str, conn: Connection) -> None:
    """Worker process: build matcher ``name`` from the factory, then answer pairs until ``None``."""
    try:
        matcher = next(m for m in load_factory(factory_spec)() if m.name == name)
        conn.send(("ready", None))
    except Exception:
        conn.send(("error", traceback.format_exc()[-1500:]))
        return
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        conn.send(("verdict", measured_run(matcher, msg)))


class IsolatedMatcher:
    """Runs one matcher in a spawned worker process; restarts it after a timeout or a crash."""

    def __init__(self, factory_spec: str, name: str, timeout: float) -> None:
        self.factory_spec = factory_spec
        self.name = name
        self.timeout = timeout
        self._proc: Any = None
        self._conn: Connection | None = None

    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, args=(self.factory_spec, self.name, child), daemon=True)
        proc.start()
        child.close()
        if not parent.poll(max(self.timeout, 120.0)):
            proc.kill()
            raise RuntimeError(f"worker for {self.name} did not start")
        try:
            kind, info = parent.recv()
        except EOFError:
            kind, info = "error", f"worker exited with code {proc.exitcode} before it was ready"
        if kind != "ready":
            proc.join(5)
            raise RuntimeError(f"worker for {self.name} failed to start:\n{info}")
        self._proc, self._conn = proc, parent

    def run(self, pair: Pair) -> Verdict:
        """Send ``pair`` to the worker and wait up to ``timeout`` seconds for its verdict."""
        if self._conn is None:
            self._start()
        assert self._conn is not None
        try:
            self._conn.send(pair)
            if self._conn.poll(self.timeout):
                kind, verdict = self._conn.recv()
                if kind == "verdict":
                    return verdict
            error = f"timeout after {self.timeout:.0f} s"
        except (EOFError, OSError, BrokenPipeError) as exc:
            error = f"worker died: {type(exc).__name__}"
        self.close(kill=True)
        return Verdict(score=None, match=None, seconds=self.timeout, error=error)

    def close(self, kill: bool = False) -> None:
        """Stop the worker (politely unless ``kill``)."""
        if self._proc is None:
            return
        with contextlib.suppress(OSError, BrokenPipeError):
            if not kill and self._conn is not None:
                self._conn.send(None)
        if kill:  # also end the worker's helper processes (a hung ffmpeg), by pid, children first
            for pid in reversed(_descendants(self._proc.pid)):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        self._proc.join(0 if kill else 10)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5)
        self._proc, self._conn = None, None


class InProcessMatcher:
    """Runs a matcher in this process (``--no-isolate`` and HTTP mode): same timing, shared memory."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self.name = matcher.name

    def run(self, pair: Pair) -> Verdict:
        return measured_run(self.matcher, pair)

    def close(self, kill: bool = False) -> None:
        close = getattr(self.matcher, "close", None)
        if callable(close):
            close()


# --------------------------------------------------------------------------------------------- the run


@dataclass
class RunResult:
    """Everything one benchmark run produced. ``pairs`` are the pairs run (the bench runs the report half
    only; reports filter to it anyway); ``n_calib_pairs`` counts the calibration-half pairs left out."""

    medium: str
    seed: int
    quick: bool
    command: str
    started: str
    pairs: list[Pair]
    verdicts: dict[str, list[Verdict]]
    decode_seconds: dict[str, float] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    n_calib_pairs: int = 0
    ffmpeg_version: str | None = None
    mode: str = "in-process"
    memory_method: str = "per pair"

    def pair_floor(self, pair: Pair) -> float | None:
        """ffmpeg decode-only seconds of both files of ``pair`` (``None`` if not measured)."""
        a = self.decode_seconds.get(str(pair.source))
        b = self.decode_seconds.get(str(pair.target))
        return None if a is None or b is None else a + b


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_pairs(
    pairs: Sequence[Pair],
    runners: Sequence[IsolatedMatcher | InProcessMatcher],
    *,
    decode_floor: Callable[[Path], float] | None = None,
    warm_up: bool = True,
    progress: Callable[[str], None] | None = _progress,
) -> tuple[dict[str, list[Verdict]], dict[str, float]]:
    """Run every runner on every pair (pair-major order). Returns verdicts by matcher name, in pair
    order, and the decode-floor seconds by file path (empty if ``decode_floor`` is ``None``)."""
    verdicts: dict[str, list[Verdict]] = {r.name: [] for r in runners}
    floors: dict[str, float] = {}
    if warm_up and pairs:
        for r in runners:
            r.run(pairs[0])
    t_start = time.perf_counter()
    for i, pair in enumerate(pairs):
        if decode_floor is not None:
            for path in (pair.source, pair.target):
                if str(path) not in floors:
                    try:
                        floors[str(path)] = decode_floor(path)
                    except RuntimeError as exc:
                        _progress(f"decode floor failed for {path}: {exc}")
        for r in runners:
            verdicts[r.name].append(r.run(pair))
        if progress and (i + 1 == len(pairs) or (i + 1) % 25 == 0):
            progress(f"  {i + 1}/{len(pairs)} pairs, {time.perf_counter() - t_start:.0f} s")
    return verdicts, floors


@contextlib.contextmanager
def matcher_runners(
    factory_spec: str,
    *,
    isolate: bool = True,
    timeout: float = 300.0,
    only: Sequence[str] | None = None,
    replace: dict[str, Matcher] | None = None,
) -> Iterator[tuple[list[IsolatedMatcher | InProcessMatcher], dict[str, str]]]:
    """Build the runners for a medium's matchers; yields ``(runners, unavailable)`` and closes them.

    ``only`` restricts to those names; ``replace`` swaps a matcher (by name) for an in-process one —
    HTTP mode uses it to put the running server in place of ours. ``unavailable`` maps each matcher that
    said it is not available (peer not installed, ...) to a reason, for the report.
    """
    runners: list[IsolatedMatcher | InProcessMatcher] = []
    unavailable: dict[str, str] = {}
    replace = replace or {}
    try:
        for m in load_factory(factory_spec)():
            if only and m.name not in only:
                continue
            if m.name in replace:
                runners.append(InProcessMatcher(replace[m.name]))
                continue
            try:
                ok = m.available()
            except Exception as exc:
                ok, reason = False, f"{type(exc).__name__}: {exc}"
            else:
                reason = "not available (package or tool missing)"
            if not ok:
                unavailable[m.name] = reason
                continue
            runners.append(IsolatedMatcher(factory_spec, m.name, timeout) if isolate else InProcessMatcher(m))
        yield runners, unavailable
    finally:
        for r in runners:
            r.close()


# --------------------------------------------------------------------------------------------- pairs


def build_medium_pairs(pairs_spec: str, data_dir: Path, cache_dir: Path, seed: int, quick: bool) -> list[Pair]:
    """Call the medium's ``build_pairs`` (``"module:function"``) and check the pairs are well formed."""
    build = load_factory(pairs_spec if ":" in pairs_spec else pairs_spec + ":build_pairs")
    pairs = list(build(data_dir, cache_dir, seed, quick))
    ids = [p.pair_id for p in pairs]
    if len(set(ids)) != len(ids):
        raise ValueError("build_pairs returned duplicate pair ids")
    mixed = {}
    for p in pairs:
        if mixed.setdefault(p.original, p.split) != p.split:
            raise ValueError(f"original {p.original!r} appears in both halves: split must be by original")
    return pairs


def pairs_manifest(pairs: Sequence[Pair], with_hashes: bool = True) -> list[dict[str, Any]]:
    """A JSON-able description of the pairs (ids, halves, families, files and their SHA-256)."""
    out = []
    for p in pairs:
        row: dict[str, Any] = {
            "pair_id": p.pair_id,
            "split": p.split,
            "family": p.family,
            "positive": p.positive,
            "original": p.original,
            "source": str(p.source),
            "target": str(p.target),
            "truth": dataclasses.asdict(p.truth) if p.truth else None,
        }
        if with_hashes:
            row["source_sha256"] = file_sha256(p.source)
            row["target_sha256"] = file_sha256(p.target)
        out.append(row)
    return out


def select_subset(pairs: Sequence[Pair], per_family: int) -> list[Pair]:
    """The first ``per_family`` pairs of each (split, family), in the builder's (deterministic) order."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for p in pairs:
        key = (p.split, p.family)
        if seen.get(key, 0) < per_family:
            seen[key] = seen.get(key, 0) + 1
            out.append(p)
    return out


def verdict_to_json(v: Verdict) -> dict[str, Any]:
    """A verdict as plain JSON data (segments as lists of dicts)."""
    d = dataclasses.asdict(v)
    if v.segments is not None:
        d["segments"] = [dataclasses.asdict(s) for s in v.segments]
    return d


def write_raw(path: Path, result: RunResult) -> None:
    """Dump every pair and verdict of a run as JSON (kept in ``bench/.cache``, for re-analysis)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "medium": result.medium,
        "seed": result.seed,
        "quick": result.quick,
        "command": result.command,
        "started": result.started,
        "mode": result.mode,
        "memory_method": result.memory_method,
        "n_calib_pairs": result.n_calib_pairs,
        "ffmpeg_version": result.ffmpeg_version,
        "unavailable": result.unavailable,
        "decode_seconds": result.decode_seconds,
        "pairs": pairs_manifest(result.pairs, with_hashes=False),
        "verdicts": {k: [verdict_to_json(v) for v in vs] for k, vs in result.verdicts.items()},
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=str))
    tmp.replace(path)


def alignment_from_dict(d: dict[str, Any]) -> Alignment:
    """Inverse of ``dataclasses.asdict`` for :class:`Alignment`."""
    return Alignment(**{k: float(v) for k, v in d.items() if k in Alignment.__dataclass_fields__})


def verdict_from_json(d: dict[str, Any]) -> Verdict:
    """Inverse of :func:`verdict_to_json`."""
    segs = d.get("segments")
    return Verdict(
        score=d.get("score"),
        match=d.get("match"),
        segments=None if segs is None else [alignment_from_dict(x) for x in segs],
        seconds=float(d.get("seconds") or 0.0),
        peak_rss_mb=d.get("peak_rss_mb"),
        error=d.get("error"),
        extra=dict(d.get("extra") or {}),
    )


def read_raw(path: Path) -> RunResult:
    """Load a run dumped by :func:`write_raw` (to re-render its report without re-running)."""
    doc = json.loads(Path(path).read_text())
    pairs = [
        Pair(
            pair_id=r["pair_id"],
            medium=doc["medium"],
            split=r["split"],
            family=r["family"],
            positive=bool(r["positive"]),
            source=Path(r["source"]),
            target=Path(r["target"]),
            original=r["original"],
            truth=alignment_from_dict(r["truth"]) if r.get("truth") else None,
        )
        for r in doc["pairs"]
    ]
    return RunResult(
        medium=doc["medium"],
        seed=int(doc["seed"]),
        quick=bool(doc["quick"]),
        command=doc["command"],
        started=doc["started"],
        pairs=pairs,
        verdicts={k: [verdict_from_json(v) for v in vs] for k, vs in doc["verdicts"].items()},
        decode_seconds={k: float(v) for k, v in doc.get("decode_seconds", {}).items()},
        unavailable=dict(doc.get("unavailable", {})),
        n_calib_pairs=int(doc.get("n_calib_pairs", 0)),
        ffmpeg_version=doc.get("ffmpeg_version"),
        mode=doc.get("mode", ""),
        memory_method=doc.get("memory_method", "per pair"),
    )
