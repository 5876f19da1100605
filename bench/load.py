"""Bounded load test of the local server on loopback: ``python -m bench.load``.

What it does (everything on 127.0.0.1, bounded in count and time):

1. Generates a small media set (image pairs, music-like audio, a short video) and serves it from a loopback
   media server; that server's host:port is the server under test's only allow-listed private host.
2. Starts the local server (``medialayer_local``'s app, real engines) in a child process with
   ``MEDIALAYER_TEMP_DIR`` and ``MEDIALAYER_STAGING_DIR`` pointing at directories it watches.
   While an engine's fitted ``calibration.json`` is missing, that engine runs with a stand-in calibration
   (the report says so): load, latency, memory and leaks do not depend on the calibration's knots.
3. For each concurrency level (default 2, 8, 32) runs a mixed workload (image 60 %, audio 20 %, video 10 %,
   bad requests 10 %) for ``--level-seconds``: throughput, p50/p95 latency, status counts, peak RSS.
4. Burst: 4 x ``max_concurrent_matches`` simultaneous requests against a slow origin: the excess must get
   503 ``overloaded`` at once (never a hang).
5. Soak: concurrency 8 for ``--soak-seconds`` (default 300), RSS sampled; stable means no upward trend.
6. Checks no 5xx, no client time-outs, no temp files and no staged runs left; writes ``bench/results/load.md``.

    python -m bench.load                                  # full run (~7 min)
    python -m bench.load --level-seconds 10 --soak-seconds 30 --out /tmp/load.md   # quick
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for _sub in ("shared", "functions/image", "functions/audio", "functions/video", "."):
    if str(REPO / _sub) not in sys.path:
        sys.path.insert(0, str(REPO / _sub))

MIX = (("image", 0.6), ("audio", 0.2), ("video", 0.1), ("bad", 0.1))
CLIENT_TIMEOUT_S = 90.0


# --- the server under test (child process) ---------------------------------------------------------


def _calibrated(medium: str) -> bool:
    paths = {
        "image": REPO / "functions/image/image_match/calibration.json",
        "audio": REPO / "functions/audio/audio_match/calibration.json",
        "video": REPO / "functions/video/video_match/calibration.json",
    }
    return paths[medium].is_file()


def _stand_in(medium: str) -> Any:
    from medialayer.calibration import Calibration

    return Calibration(
        medium=medium, version="load-stand-in", raw_floor=0, raw_clear=0.2, raw_match=0.5, raw_high=0.8, raw_top=1
    )


try:
    from video_match.engine import VideoEngine as _VideoEngine
except Exception:  # pragma: no cover - the video package is on the path in every supported run
    _VideoEngine = object  # type: ignore[assignment,misc]


class FallbackVideoEngine(_VideoEngine):  # type: ignore[misc,valid-type]
    """The real video engine; stand-in calibration while the fitted one is missing (module level so the
    local process pool can pickle it). The soundtrack step needs the audio calibration, so it is on only
    when that exists."""

    def __init__(self) -> None:
        super().__init__(use_audio=_calibrated("audio"))

    def calibration(self) -> Any:
        try:
            return super().calibration()
        except Exception:
            return _stand_in("video")


def build_server_app() -> tuple[Any, dict[str, str]]:
    """The local app; engines whose calibration is missing get a stand-in. Returns (app, mode per medium)."""
    from audio_match.app import comparer as audio_comparer
    from image_match.app import comparer as image_comparer
    from medialayer.api import build_app
    from medialayer.pipeline import EngineComparer
    from medialayer.settings import get_settings
    from video_match.app import comparer as video_comparer
    from video_match.fanout import build_comparer

    class Fallback(EngineComparer):
        def calibration(self) -> Any:
            try:
                return self.engine.calibration()
            except Exception:
                return _stand_in(self.media_type)

    def image() -> Any:
        from image_match.engine import ImageEngine

        return Fallback(ImageEngine())

    def audio() -> Any:
        from audio_match.engine import AudioEngine

        return Fallback(AudioEngine())

    modes = {m: "fitted" if _calibrated(m) else "stand-in" for m in ("image", "audio", "video")}
    comparers = {
        "image": image_comparer if _calibrated("image") else image,
        "audio": audio_comparer if _calibrated("audio") else audio,
        "video": video_comparer
        if all(modes[m] == "fitted" for m in ("audio", "video"))
        else (lambda: build_comparer(get_settings(), engine=_importable_engine())),
    }
    return build_app(comparers), modes


def _importable_engine() -> Any:
    """Instantiate from ``bench.load`` (not ``__main__``) so the spawn workers can unpickle it."""
    from bench.load import FallbackVideoEngine as Engine

    return Engine()


def serve(port: int) -> None:
    import uvicorn

    app, modes = build_server_app()
    print(json.dumps({"modes": modes}), flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", timeout_keep_alive=5)


# --- media ---------------------------------------------------------------------------------------


def make_media(work: Path) -> dict[str, bytes]:
    from PIL import Image, ImageFilter

    from medialayer.ffmpeg import ffmpeg_exe
    from tests.security.engines import rich_wav
    from tests.support.media import jpeg_bytes

    files: dict[str, bytes] = {}
    for seed in range(6):
        base = jpeg_bytes(seed, size=(800, 600))
        files[f"/img/{seed}.jpg"] = base
        im = Image.open(io.BytesIO(base)).resize((400, 300)).filter(ImageFilter.GaussianBlur(1))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=35)
        files[f"/img/{seed}-variant.jpg"] = buf.getvalue()
    for seed in range(2):
        files[f"/aud/{seed}.wav"] = rich_wav(12.0, seed=seed)
        files[f"/aud/{seed}-excerpt.wav"] = rich_wav(12.0, seed=seed)[: 44 + 22050 * 2 * 6]
    for name, src in (("a", "testsrc2"), ("b", "mandelbrot")):
        out = work / f"{name}.mp4"
        subprocess.run(
            [
                ffmpeg_exe(),
                "-y",
                "-nostdin",
                "-loglevel",
                "error",
                "-f",
                "lavfi",
                "-i",
                f"{src}=size=160x120:rate=15",
                "-t",
                "8",
                "-pix_fmt",
                "yuv420p",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                str(out),
            ],
            check=True,
            timeout=120,
        )
        files[f"/vid/{name}.mp4"] = out.read_bytes()
    return files


def pairs(rng: random.Random, medium: str, origin: Any) -> tuple[str, str]:
    if medium == "image":
        a, b = rng.randrange(6), rng.randrange(6)
        kind = rng.random()
        if kind < 0.4:
            return origin.url(f"/img/{a}.jpg"), origin.url(f"/img/{a}-variant.jpg")
        if kind < 0.6:
            return origin.url(f"/img/{a}.jpg"), origin.url(f"/img/{a}.jpg")
        return origin.url(f"/img/{a}.jpg"), origin.url(f"/img/{b}-variant.jpg")
    if medium == "audio":
        a, b = rng.randrange(2), rng.randrange(2)
        return origin.url(f"/aud/{a}.wav"), origin.url(f"/aud/{b}-excerpt.wav")
    if medium == "video":
        return origin.url("/vid/a.mp4"), origin.url(rng.choice(["/vid/a.mp4", "/vid/b.mp4"]))
    bad = rng.choice(["private", "missing", "wrong-medium"])
    if bad == "private":
        return "http://169.254.169.254/latest/meta-data/", origin.url("/img/0.jpg")
    if bad == "missing":
        return origin.url("/img/0.jpg"), origin.url("/nope.jpg")
    return origin.url("/img/0.jpg"), origin.url("/aud/0.wav")


# --- client ----------------------------------------------------------------------------------------


@dataclass
class Result:
    medium: str
    status: int
    code: str
    latency_s: float


@dataclass
class Level:
    name: str
    concurrency: int
    seconds: float
    results: list[Result] = field(default_factory=list)
    rss_samples: list[tuple[float, int]] = field(default_factory=list)

    @property
    def peak_rss(self) -> int:
        return max((r for _, r in self.rss_samples), default=0)


def post(base: str, medium: str, source: str, target: str) -> Result:
    route = "image" if medium == "bad" else medium
    body = json.dumps({"source_url": source, "target_url": target}).encode()
    req = urllib.request.Request(
        f"{base}/{route}/match", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=CLIENT_TIMEOUT_S) as resp:
            resp.read()
            return Result(medium, resp.status, "", time.perf_counter() - started)
    except urllib.error.HTTPError as err:
        try:
            code = json.loads(err.read() or b"{}").get("error", {}).get("code", "")
        except ValueError:
            code = "not-json"
        return Result(medium, err.code, code, time.perf_counter() - started)
    except Exception as exc:  # time-out, reset: a hang or a crash of the server
        return Result(medium, 0, type(exc).__name__, time.perf_counter() - started)


class RssSampler:
    def __init__(self, pid: int, period_s: float = 0.5) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.period_s = period_s
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def total(self) -> int:
        import psutil

        total = self.proc.memory_info().rss
        mine = self.proc.cmdline()
        for child in self.proc.children(recursive=True):
            try:
                if child.cmdline() == mine:
                    continue  # forked for subprocess but not yet exec'd: its RSS is the server's shared pages
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return int(total)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic(), self.total()))
            except Exception:
                pass
            self._stop.wait(self.period_s)

    def since(self, t0: float) -> list[tuple[float, int]]:
        return [s for s in self.samples if s[0] >= t0]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def run_level(
    name: str, base: str, origin: Any, concurrency: int, seconds: float, sampler: RssSampler, seed: int
) -> Level:
    level = Level(name, concurrency, seconds)
    end = time.monotonic() + seconds
    t0 = time.monotonic()
    lock = threading.Lock()

    def worker(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        media = [m for m, _ in MIX]
        weights = [w for _, w in MIX]
        while time.monotonic() < end:
            medium = rng.choices(media, weights)[0]
            source, target = pairs(rng, medium, origin)
            result = post(base, medium, source, target)
            with lock:
                level.results.append(result)
            if result.status == 503:
                time.sleep(0.05)  # a polite client backs off a little on "overloaded"

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    level.seconds = time.monotonic() - t0
    level.rss_samples = sampler.since(t0)
    return level


def burst(base: str, origin: Any, capacity: int) -> dict[str, Any]:
    """4 x capacity simultaneous requests whose source stalls 3 s: capacity of them pass, the rest must be
    refused at once with 503 overloaded."""
    from tests.support.mediaserver import Route

    slow = origin.add("/slow/0.jpg", Route(body=origin.routes["/img/0.jpg"].body, delay_before_headers_s=3.0))
    n = 4 * capacity
    barrier = threading.Barrier(n)

    def one(_: int) -> Result:
        barrier.wait()
        return post(base, "image", slow, origin.url("/img/0.jpg"))

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(one, range(n)))
    refused = [r for r in results if r.status == 503]
    passed = [r for r in results if r.status == 200]
    return {
        "sent": n,
        "capacity": capacity,
        "ok": len(passed),
        "overloaded": len(refused),
        "overloaded_codes": sorted({r.code for r in refused}),
        "other": Counter((r.status, r.code) for r in results if r.status not in (200, 503)),
        "max_overloaded_latency_ms": round(max((r.latency_s for r in refused), default=0) * 1000, 1),
        "ok_latency_ms": round(statistics.median([r.latency_s for r in passed]) * 1000, 1) if passed else None,
    }


# --- report -----------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    import psutil

    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def _reap(pids: list[int]) -> int:
    """Terminate (by pid) the server's children that outlived it; returns how many there were."""
    import psutil

    time.sleep(2.0)
    left = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            if proc.status() != psutil.STATUS_ZOMBIE:
                left.append(proc)
        except psutil.Error:
            pass
    for proc in left:
        proc.terminate()
    psutil.wait_procs(left, timeout=10)
    return len(left)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))
    return values[k]


def level_row(level: Level) -> dict[str, Any]:
    res = level.results
    ok = [r for r in res if r.status == 200]
    overloaded = [r for r in res if r.status == 503]
    bad_expected = [r for r in res if r.medium == "bad"]
    server_errors = [r for r in res if r.status >= 500 and r.status != 503]
    hangs = [r for r in res if r.status == 0]
    real = [r for r in res if r.medium != "bad"]
    errors = [r for r in real if r.status not in (200, 503)]
    by_medium = {m: [r.latency_s for r in ok if r.medium == m] for m in ("image", "audio", "video")}
    return {
        "level": level.name,
        "concurrency": level.concurrency,
        "seconds": round(level.seconds, 1),
        "requests": len(res),
        "throughput_rps": round(len(res) / level.seconds, 2),
        "matches_per_s": round(len(ok) / level.seconds, 2),
        "ok": len(ok),
        "overloaded_503": len(overloaded),
        "bad_requests_sent": len(bad_expected),
        "bad_answered_4xx": sum(1 for r in bad_expected if 400 <= r.status < 500),
        "errors_on_good_requests": len(errors),
        "error_rate": round(len(errors) / max(1, len(real)), 4),
        "server_5xx": len(server_errors),
        "client_timeouts_or_resets": len(hangs),
        "p50_ms": round(pct([r.latency_s for r in ok], 0.5) * 1000, 1),
        "p95_ms": round(pct([r.latency_s for r in ok], 0.95) * 1000, 1),
        "p50_ms_by_medium": {m: round(pct(v, 0.5) * 1000, 1) for m, v in by_medium.items() if v},
        "p95_ms_by_medium": {m: round(pct(v, 0.95) * 1000, 1) for m, v in by_medium.items() if v},
        "p95_503_ms": round(pct([r.latency_s for r in overloaded], 0.95) * 1000, 1) if overloaded else None,
        "peak_rss_mb": round(level.peak_rss / 2**20, 1),
        "codes": dict(Counter(f"{r.status} {r.code}".strip() for r in res)),
    }


def soak_summary(samples: list[tuple[float, int]]) -> dict[str, Any]:
    if len(samples) < 4:
        return {"samples": len(samples)}
    t0 = samples[0][0]
    xs = [t - t0 for t, _ in samples]
    ys = [r / 2**20 for _, r in samples]
    half = len(xs) // 2
    # slope over the second half (after warm-up), MB per minute
    hx, hy = xs[half:], ys[half:]
    mx, my = statistics.fmean(hx), statistics.fmean(hy)
    var = sum((x - mx) ** 2 for x in hx) or 1e-9
    slope = sum((x - mx) * (y - my) for x, y in zip(hx, hy, strict=True)) / var * 60
    n = len(ys)
    quarters = [statistics.median(ys[k * n // 4 : (k + 1) * n // 4] or ys) for k in range(4)]
    growth = quarters[3] - quarters[1]
    return {
        "samples": len(samples),
        "rss_start_mb": round(ys[0], 1),
        "rss_median_by_quarter_mb": [round(q, 1) for q in quarters],
        "rss_max_mb": round(max(ys), 1),
        "rss_end_mb": round(ys[-1], 1),
        "growth_q2_to_q4_mb": round(growth, 1),
        "second_half_slope_mb_per_min": round(slope, 2),
        # transient peaks (concurrent decodes, FFmpeg children) are load, not leaks: judge the medians
        "stable": bool(growth < 100 and slope < 5.0),
    }


def write_report(
    path: Path,
    meta: dict[str, Any],
    rows: list[dict[str, Any]],
    burst_result: dict[str, Any],
    soak: dict[str, Any],
    soak_row: dict[str, Any] | None,
    leaks: dict[str, Any],
) -> None:
    lines = [
        "# Load test — local server on loopback",
        "",
        f"Generated by `{('python -m bench.load ' + meta['argv']).strip()}` on {meta['when']} "
        f"({meta['cpus']} CPUs shared with other jobs; load average at start {meta['loadavg']}).",
        "",
        f"Server: `medialayer_local` app in a child process, `max_concurrent_matches={meta['capacity']}`, "
        f"video fan-out `local_workers={meta['workers']}`. Engines: "
        + ", ".join(f"{m} ({mode} calibration)" for m, mode in meta["modes"].items())
        + ". Media served by a loopback media server on the allow-list. Mix per request: "
        + ", ".join(f"{m} {int(w * 100)} %" for m, w in MIX)
        + " (bad = private URL, 404, or an audio file on the image route).",
        "",
        "## Throughput and latency per concurrency level",
        "",
        "| concurrency | seconds | requests | req/s | matches/s | 200 | 503 overloaded | errors on good requests "
        "| other 5xx | time-outs | p50 ms (200) | p95 ms (200) | p95 ms (503) | peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['concurrency']} | {r['seconds']} | {r['requests']} | {r['throughput_rps']} | {r['matches_per_s']} "
            f"| {r['ok']} | {r['overloaded_503']} | {r['errors_on_good_requests']} ({r['error_rate']:.1%}) "
            f"| {r['server_5xx']} | {r['client_timeouts_or_resets']} | {r['p50_ms']} | {r['p95_ms']} "
            f"| {r['p95_503_ms'] if r['p95_503_ms'] is not None else '–'} | {r['peak_rss_mb']} |"
        )
    lines += ["", "Latency of successful matches by medium (p50 / p95 ms):", ""]
    lines += ["| concurrency | image | audio | video |", "|---:|---:|---:|---:|"]
    for r in rows:
        cells = [
            f"{r['p50_ms_by_medium'].get(m, '–')} / {r['p95_ms_by_medium'].get(m, '–')}"
            for m in ("image", "audio", "video")
        ]
        lines.append(f"| {r['concurrency']} | " + " | ".join(cells) + " |")
    lines += ["", "Status codes seen per level:", ""]
    for r in rows:
        lines.append(
            f"- concurrency {r['concurrency']}: " + ", ".join(f"`{k}` × {v}" for k, v in sorted(r["codes"].items()))
        )
    lines += [
        "",
        "## Beyond capacity",
        "",
        f"{burst_result['sent']} simultaneous image requests whose source stalls 3 s, against capacity "
        f"{burst_result['capacity']}: {burst_result['ok']} answered 200 (median "
        f"{burst_result['ok_latency_ms']} ms), {burst_result['overloaded']} refused with 503 "
        f"{burst_result['overloaded_codes']} within at most {burst_result['max_overloaded_latency_ms']} ms"
        + (f"; other: {dict(burst_result['other'])}" if burst_result["other"] else "; nothing else")
        + ". Requests beyond capacity are refused at once with `Retry-After`, never queued or hung.",
        "",
        "## Soak",
        "",
    ]
    if soak_row:
        lines.append(
            f"Concurrency {soak_row['concurrency']} for {soak_row['seconds']} s: {soak_row['requests']} requests, "
            f"{soak_row['ok']} × 200, {soak_row['overloaded_503']} × 503, {soak_row['server_5xx']} other 5xx, "
            f"{soak_row['client_timeouts_or_resets']} time-outs; p50/p95 {soak_row['p50_ms']}/{soak_row['p95_ms']} ms."
        )
        lines.append("")
        lines.append(
            f"RSS (server + its children, sampled every 0.5 s): start {soak.get('rss_start_mb')} MB, median per "
            f"quarter {soak.get('rss_median_by_quarter_mb')} MB, max {soak.get('rss_max_mb')} MB (transient: "
            f"concurrent decodes), end {soak.get('rss_end_mb')} MB; median growth from the 2nd to the 4th quarter "
            f"{soak.get('growth_q2_to_q4_mb')} MB, trend over the second half "
            f"{soak.get('second_half_slope_mb_per_min')} MB/min → "
            f"**{'stable' if soak.get('stable') else 'NOT stable'}** (criterion: growth < 100 MB and trend < 5 MB/min)."
        )
    else:
        lines.append("(skipped: `--soak-seconds 0`)")
    lines += [
        "",
        "## Leaks",
        "",
        f"- files left in `MEDIALAYER_TEMP_DIR`: {leaks['temp_files']}",
        f"- staged runs left in `MEDIALAYER_STAGING_DIR`: {leaks['staged']}",
        f"- server process alive at the end: {leaks['alive']}",
        f"- server child processes (video process pool) still running after the server exited on SIGTERM: "
        f"{leaks.get('orphans_after_sigterm', 0)} (terminated by the harness)",
        "",
        "## Verdict",
        "",
    ]
    problems = meta["problems"]
    lines += [f"- **{p}**" for p in problems] if problems else ["- no 5xx, no time-outs, no leaks; RSS stable."]
    lines += ["", "Raw numbers: `python -m bench.load --json PATH`.", ""]
    path.write_text("\n".join(lines))


# --- main ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[2, 8, 32])
    parser.add_argument("--level-seconds", type=float, default=30.0)
    parser.add_argument("--soak-seconds", type=float, default=300.0)
    parser.add_argument("--soak-concurrency", type=int, default=8)
    parser.add_argument("--max-concurrent-matches", type=int, default=4)
    parser.add_argument("--local-workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "bench/results/load.md")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the raw numbers as JSON to this path")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0

    from tests.support.apiserver import free_port
    from tests.support.mediaserver import MediaServer, Route

    work = Path(tempfile.mkdtemp(prefix="medialayer-load-"))
    temp_dir, stage_dir = work / "tmp", work / "stage"
    temp_dir.mkdir()
    stage_dir.mkdir()
    print(f"generating media in {work} ...", flush=True)
    media = make_media(work)
    problems: list[str] = []
    with MediaServer() as origin:
        for path, body in media.items():
            origin.add(path, Route(body=body))
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MEDIALAYER_")},
            "MEDIALAYER_ALLOW_PRIVATE_HOSTS": origin.host,
            "MEDIALAYER_AUTH_DISABLED": "true",
            "MEDIALAYER_TEMP_DIR": str(temp_dir),
            "MEDIALAYER_STAGING_DIR": str(stage_dir),
            "MEDIALAYER_MAX_CONCURRENT_MATCHES": str(args.max_concurrent_matches),
            "MEDIALAYER_LOCAL_WORKERS": str(args.local_workers),
            "PYTHONPATH": os.pathsep.join(
                str(REPO / s) for s in ("shared", "functions/image", "functions/audio", "functions/video", ".")
            ),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.load", "--serve", str(port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            modes = json.loads(server.stdout.readline())["modes"] if server.stdout else {}
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{base}/healthz", timeout=2).read()
                    break
                except Exception:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("the server did not start") from None
                    time.sleep(0.2)
            sampler = RssSampler(server.pid)
            print(f"server up on {base} (engines: {modes}); warming up ...", flush=True)
            rng = random.Random(0)
            for medium in ("image", "audio", "video"):
                post(base, medium, *pairs(rng, medium, origin))
            rows = []
            for c in args.concurrency:
                print(f"level: concurrency {c} for {args.level_seconds:.0f} s ...", flush=True)
                level = run_level(f"c{c}", base, origin, c, args.level_seconds, sampler, args.seed + c)
                rows.append(level_row(level))
                print(json.dumps({k: v for k, v in rows[-1].items() if k != "codes"}), flush=True)
            print("burst beyond capacity ...", flush=True)
            burst_result = burst(base, origin, args.max_concurrent_matches)
            print(burst_result, flush=True)
            soak_row = None
            soak: dict[str, Any] = {}
            if args.soak_seconds > 0:
                print(f"soak: concurrency {args.soak_concurrency} for {args.soak_seconds:.0f} s ...", flush=True)
                level = run_level("soak", base, origin, args.soak_concurrency, args.soak_seconds, sampler, args.seed)
                soak_row = level_row(level)
                soak = soak_summary(level.rss_samples)
                print(soak, flush=True)
            time.sleep(1.0)
            leaks = {
                "temp_files": len([p for p in temp_dir.rglob("*") if p.is_file()]),
                "staged": len([p for p in (stage_dir / "runs").glob("*")]) if (stage_dir / "runs").exists() else 0,
                "alive": server.poll() is None,
            }
            sampler.stop()
        finally:
            children = _children(server.pid)
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
            orphans = _reap(children)
    leaks["orphans_after_sigterm"] = orphans
    for r in rows + ([soak_row] if soak_row else []):
        if r["server_5xx"]:
            problems.append(f"{r['server_5xx']} server errors (5xx other than 503) at concurrency {r['concurrency']}")
        if r["client_timeouts_or_resets"]:
            problems.append(
                f"{r['client_timeouts_or_resets']} client time-outs/resets at concurrency {r['concurrency']}"
            )
    if burst_result["overloaded"] < burst_result["sent"] - burst_result["capacity"]:
        problems.append(f"beyond capacity: only {burst_result['overloaded']} of {burst_result['sent']} refused")
    if burst_result["max_overloaded_latency_ms"] > 1000:
        problems.append("503s were slow (> 1 s): requests beyond capacity are queued")
    if soak and not soak.get("stable", True):
        problems.append("RSS kept growing during the soak")
    if leaks["temp_files"] or leaks["staged"]:
        problems.append(f"leaks: {leaks}")
    if not leaks["alive"]:
        problems.append("the server died")
    if leaks.get("orphans_after_sigterm"):
        problems.append(
            f"{leaks['orphans_after_sigterm']} pool processes outlived the server after SIGTERM (shutdown does "
            "not close the video fan-out's process pool)"
        )
    meta = {
        "argv": " ".join(argv if argv is not None else sys.argv[1:]),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "loadavg": ", ".join(f"{x:.1f}" for x in os.getloadavg()),
        "capacity": args.max_concurrent_matches,
        "workers": args.local_workers,
        "modes": modes,
        "problems": problems,
        "python": platform.python_version(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_report(args.out, meta, rows, burst_result, soak, soak_row, leaks)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "meta": meta,
                    "levels": rows,
                    "burst": {**burst_result, "other": dict(burst_result["other"])},
                    "soak": soak,
                    "soak_level": soak_row,
                    "leaks": leaks,
                },
                indent=2,
                default=str,
            )
        )
    print(f"wrote {args.out}; problems: {problems or 'none'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
