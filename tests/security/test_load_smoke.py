"""The CI part of the load test (the full run is ``python -m bench.load``; see docs/security.md):
requests beyond ``max_concurrent_matches`` get 503 at once, and a short mixed burst on loopback leaves
no 5xx and no temp files. The full command runs under ``-m slow``."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from medialayer.api import build_app
from medialayer.settings import Settings
from tests.security.support import EchoComparer, leftovers, policy, real_comparer
from tests.support.apiserver import post_json, running
from tests.support.media import jpeg_bytes, wav_bytes
from tests.support.mediaserver import MediaServer, Route

REPO = Path(__file__).resolve().parents[2]


def test_beyond_capacity_is_503_at_once_never_a_hang(temp_dir: Path) -> None:
    capacity, sent = 2, 10
    with MediaServer() as origin:
        slow = origin.add("/slow.jpg", Route(body=jpeg_bytes(1), delay_before_headers_s=2.0))
        pol = policy(allowlist=[origin.host], temp_dir=str(temp_dir), read_timeout_s=5, total_timeout_s=10)
        settings = Settings(auth_disabled=True, max_concurrent_matches=capacity)
        with running(build_app({"image": EchoComparer}, settings=settings, policy=pol)) as base:
            barrier = threading.Barrier(sent)

            def one(_: int) -> tuple[int, str, float]:
                barrier.wait()
                started = time.monotonic()
                status, body = post_json(f"{base}/image/match", {"source_url": slow, "target_url": slow}, timeout=30)
                return status, (body.get("error") or {}).get("code", ""), time.monotonic() - started

            with ThreadPoolExecutor(max_workers=sent) as pool:
                results = list(pool.map(one, range(sent)))
    ok = [r for r in results if r[0] == 200]
    refused = [r for r in results if r[0] == 503]
    assert len(ok) == capacity and len(refused) == sent - capacity, results
    assert {r[1] for r in refused} == {"overloaded"}
    assert max(r[2] for r in refused) < 1.0, "requests beyond capacity waited instead of being refused"
    assert leftovers(temp_dir) == []


def test_short_mixed_burst_has_no_5xx_and_leaves_nothing(temp_dir: Path) -> None:
    """Concurrency 8 for a few seconds against the real image engine: good pairs, bad URLs, 404s and the
    wrong medium, mixed. Every answer is 200, a 4xx or 503 overloaded; no temp file survives."""
    with MediaServer() as origin:
        for seed in range(3):
            origin.add(f"/{seed}.jpg", Route(body=jpeg_bytes(seed)))
        origin.add("/tone.wav", Route(body=wav_bytes(1.0)))
        pol = policy(allowlist=[origin.host], temp_dir=str(temp_dir))
        settings = Settings(auth_disabled=True, max_concurrent_matches=4)
        requests = [
            (origin.url("/0.jpg"), origin.url("/0.jpg")),
            (origin.url("/1.jpg"), origin.url("/2.jpg")),
            ("http://169.254.169.254/latest/meta-data/", origin.url("/0.jpg")),
            (origin.url("/0.jpg"), origin.url("/missing.jpg")),
            (origin.url("/0.jpg"), origin.url("/tone.wav")),
        ]
        with running(build_app({"image": real_comparer("image")}, settings=settings, policy=pol)) as base:
            end = time.monotonic() + 4.0
            codes: list[int] = []
            lock = threading.Lock()

            def worker(k: int) -> None:
                i = k
                while time.monotonic() < end:
                    source, target = requests[i % len(requests)]
                    status, _ = post_json(f"{base}/image/match", {"source_url": source, "target_url": target})
                    with lock:
                        codes.append(status)
                    i += 1

            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(worker, range(8)))
    assert codes and all(c == 200 or 400 <= c < 500 or c == 503 for c in codes), sorted(set(codes))
    assert 200 in codes
    assert leftovers(temp_dir) == []


@pytest.mark.slow
def test_full_load_command(tmp_path: Path) -> None:
    """``python -m bench.load`` with a short soak: exits 0 only with no 5xx, no time-outs, no leaks, a
    stable RSS and every request beyond capacity refused at once."""
    out = tmp_path / "load.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.load", "--level-seconds", "10", "--soak-seconds", "60", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert out.is_file(), proc.stderr[-2000:]
    assert proc.returncode == 0, out.read_text()
