"""``EngineComparer``: both files fingerprinted (in two threads only when two CPUs are usable), then
compared."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

import medialayer.pipeline as pipeline_mod
from medialayer.caps import DEFAULT_CAPS, MediaCaps
from medialayer.engine import Comparison
from medialayer.pipeline import EngineComparer, usable_cpus


class ThreadRecordingEngine:
    """Fingerprints are the file names; records the thread each fingerprint ran on."""

    media_type = "audio"

    def __init__(self) -> None:
        self.threads: list[str] = []

    def fingerprint(self, path: Path, caps: MediaCaps | None = None) -> str:
        self.threads.append(threading.current_thread().name)
        return Path(path).name

    def compare(self, a: Any, b: Any) -> Comparison:
        return Comparison(raw_score=float(a == b), segments=[], details={"pair": [a, b]})

    def calibration(self) -> Any:
        raise NotImplementedError


@pytest.mark.parametrize(("cpus", "threaded"), [(1, False), (2, True), (8, True)])
def test_fingerprints_run_in_threads_only_with_two_cpus(
    monkeypatch: pytest.MonkeyPatch, cpus: int, threaded: bool
) -> None:
    monkeypatch.setattr(pipeline_mod, "usable_cpus", lambda: cpus)
    engine = ThreadRecordingEngine()
    result = EngineComparer(engine).compare_files(Path("a.ogg"), Path("b.mp3"), DEFAULT_CAPS["audio"])
    assert result.details["pair"] == ["a.ogg", "b.mp3"]  # source first, whatever ran first
    assert all(name.startswith("fingerprint") for name in engine.threads) is threaded
    assert len(engine.threads) == 2


def test_usable_cpus_counts_the_affinity_mask() -> None:
    assert 1 <= usable_cpus() <= (os.cpu_count() or 1)
