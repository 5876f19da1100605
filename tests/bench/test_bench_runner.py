"""The runner's isolation: timeouts, crashing and raising matchers, and helper-process memory."""

from __future__ import annotations

import time
from pathlib import Path

from bench.runner import IsolatedMatcher, matcher_runners, run_pairs
from bench.types import Pair

TROUBLE = "fake_bench_medium:troublesome_matchers"


def _pair(tmp_path: Path) -> Pair:
    return Pair("p", "audio", "report", "x", True, tmp_path / "a", tmp_path / "b", "o")


def test_timeout_and_crash_become_errors_and_worker_restarts(tmp_path: Path):
    pair = _pair(tmp_path)
    hanging = IsolatedMatcher(TROUBLE, "hanging", timeout=1.0)
    crashing = IsolatedMatcher(TROUBLE, "crashing", timeout=30.0)
    try:
        v = hanging.run(pair)
        assert v.score is None and v.error is not None and "timeout" in v.error
        v = crashing.run(pair)
        assert v.score is None and v.error is not None and "died" in v.error
        v = crashing.run(pair)  # a fresh worker is started for the next pair
        assert v.error is not None and "died" in v.error
    finally:
        hanging.close(kill=True)
        crashing.close(kill=True)


def test_exceptions_and_child_memory_measured(tmp_path: Path):
    pair = _pair(tmp_path)
    with matcher_runners(TROUBLE, only=["raising", "child_alloc"], timeout=60) as (runners, unavailable):
        verdicts, floors = run_pairs([pair], runners, warm_up=False, progress=None)
    assert unavailable == {} and floors == {}
    raised = verdicts["raising"][0]
    assert raised.score is None and "ValueError: cannot read this file" in (raised.error or "")
    child = verdicts["child_alloc"][0]
    assert child.error is None
    assert child.peak_rss_mb is not None and child.peak_rss_mb > 150  # the helper's 200 MB is counted


def test_timeout_also_ends_the_workers_helper_processes(tmp_path: Path):
    pair = _pair(tmp_path)
    hanging = IsolatedMatcher(TROUBLE, "hanging_child", timeout=2.0)
    try:
        v = hanging.run(pair)
    finally:
        hanging.close(kill=True)
    assert v.error is not None and "timeout" in v.error
    pid = int(pair.source.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and _state(pid) != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists() or _state(pid) == "Z"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
