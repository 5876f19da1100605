"""The bench end to end on a fake medium: pairs -> isolated matcher workers -> report, PNG,
calibration and HTTP mode. Fast (a few seconds), no real engine or data needed."""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import fake_bench_medium
import pytest

from bench.__main__ import main
from bench.calibrate import fit_from_run
from bench.types import Pair
from medialayer.calibration import Calibration

FAKE = ["--pairs-module", "fake_bench_medium:build_pairs", "--peers-module", "fake_bench_medium:matchers"]


def _raw(cache: Path, stem: str) -> dict:
    return json.loads(next((cache / "results").glob(f"{stem}-seed*.json")).read_text())


def test_runner_end_to_end_isolated(fake_data: Path, bench_cache: Path, tmp_path: Path):
    pytest.importorskip("matplotlib", reason="the report plots need the bench extra (make bench-setup)")
    out = tmp_path / "results"
    rc = main(["audio", "--seed", "3", "--data", str(fake_data), "--out", str(out), "--timeout", "60", *FAKE])
    assert rc == 0
    md = (out / "audio.md").read_text()
    png = out / "audio.png"
    assert png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG"
    assert "python -m bench audio --seed 3" in md and "Seed: 3" in md and "nproc" in md
    assert "missingpeer" in md  # reported as unavailable, not silently dropped
    raw = _raw(bench_cache, "audio")
    assert set(raw["verdicts"]) == {"medialayer", "fakepeer"}
    n = len(raw["pairs"])
    ours = raw["verdicts"]["medialayer"]
    assert len(ours) == n and all(v["error"] is None for v in ours)
    # measured in the worker: time and peak RSS of each pair, ffmpeg floor for each file
    assert all(v["seconds"] > 0 for v in ours)
    assert all(v["peak_rss_mb"] is None or v["peak_rss_mb"] > 5 for v in ours)
    assert len(raw["decode_seconds"]) == len({p["source"] for p in raw["pairs"]} | {p["target"] for p in raw["pairs"]})
    # ours finds every excerpt's offset -> IoU 1.000 / offset 0.00 s; the peer cannot -> "—"
    loc = md.split("## Localisation")[1].split("##")[0]
    ours_row = next(r for r in loc.splitlines() if r.startswith("| medialayer"))
    peer_row = next(r for r in loc.splitlines() if r.startswith("| fakepeer"))
    assert "1.000 / 1.000" in ours_row and "0.00 s" in ours_row
    assert peer_row.count("—") >= 4
    det = md.split("## Detection")[1].split("##")[0]
    assert "| medialayer | 1.000 |" in det  # fake ours separates perfectly
    # report half only
    rep = sum(1 for p in raw["pairs"] if p["split"] == "report")
    assert rep == n  # only the report half is run
    assert f"report half** {rep} pairs" in md
    # the dumped run re-renders to the same report without re-running anything
    assert main(["report", "audio", "--seed", "3", "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "audio.md").read_text() == md
    assert main(["report", "audio", "--seed", "4", "--out", str(tmp_path / "again")]) == 2


def test_calibrate_writes_fitted_file(fake_data: Path, bench_cache: Path, tmp_path: Path):
    target = tmp_path / "calibration.json"
    rc = main(["calibrate", "audio", "--seed", "3", "--data", str(fake_data), "--out", str(target), *FAKE])
    assert rc == 0
    cal = Calibration.load(target)
    assert cal.medium == "audio" and "calibration half" in cal.fitted_on and "seed 3" in cal.fitted_on
    # refusing to overwrite the engine's real file from a subset
    assert main(["calibrate", "audio", "--quick", "--data", str(fake_data), "--no-isolate", *FAKE]) == 2


def test_calibration_uses_only_calibration_half(fake_data: Path, tmp_path: Path):
    pairs = fake_bench_medium.build_pairs(fake_data, tmp_path / "c", 3, False)
    ours = fake_bench_medium.FakeOurs()
    verdicts = [ours.run(p) for p in pairs]
    base = fit_from_run("audio", pairs, verdicts, seed=3, quick=False)
    # poisoning report-half scores must not move the knots
    poisoned = [
        type(v)(score=99.0, match=True) if p.split == "report" and not p.positive else v
        for p, v in zip(pairs, verdicts, strict=True)
    ]
    again = fit_from_run("audio", pairs, poisoned, seed=3, quick=False)
    assert (again.raw_clear, again.raw_match, again.raw_top) == (base.raw_clear, base.raw_match, base.raw_top)


class _FakeApi(BaseHTTPRequestHandler):
    """Minimal stand-in for the real server: fetches both URLs, runs the fake engine, answers the envelope."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        tmp = Path(self.server.tmp)  # type: ignore[attr-defined]
        paths = []
        for key in ("source_url", "target_url"):
            assert body[key].startswith("http://127.0.0.1:")
            p = tmp / f"{key}-{threading.get_ident()}.wav"
            p.write_bytes(urllib.request.urlopen(body[key], timeout=10).read())
            paths.append(p)
        pair = Pair("x", "audio", "report", "x", True, paths[0], paths[1], "x")
        v = fake_bench_medium.FakeOurs().run(pair)
        env = {
            "match": v.match,
            "confidence": "high",
            "similarity_score": v.extra["similarity_score"],
            "processing_time_ms": 1,
            "media_type": "audio",
            "matched_segments": [{**s.__dict__, "score": 1.0} for s in (v.segments or [])],
        }
        data = json.dumps(env).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture()
def fake_api(tmp_path: Path):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _FakeApi)
    httpd.tmp = tmp_path  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_http_mode_through_a_server(fake_data: Path, bench_cache: Path, tmp_path: Path, fake_api: str):
    pytest.importorskip("matplotlib", reason="the report plots need the bench extra (make bench-setup)")
    out = tmp_path / "results"
    argv = ["audio", "--quick", "--http", fake_api, "--data", str(fake_data), "--out", str(out), "--no-floor"]
    assert main([*argv, "--matchers", "medialayer", *FAKE]) == 0
    md = (out / "audio-quick.md").read_text()
    assert "HTTP, POST" in md
    ours = _raw(bench_cache, "audio-quick")["verdicts"]["medialayer"]
    assert all(v["error"] is None and v["score"] is not None for v in ours)
    assert any(v["segments"] for v in ours)


def test_static_server_serves_only_registered_files(tmp_path: Path):
    from bench.http_mode import StaticFileServer

    f = tmp_path / "a.wav"
    f.write_bytes(b"RIFF-data")
    (tmp_path / "secret.txt").write_text("no")
    with StaticFileServer() as srv:
        url = srv.url_for(f)
        assert urllib.request.urlopen(url, timeout=5).read() == b"RIFF-data"
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/secret.txt", timeout=5)
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{srv.port}{tmp_path}/secret.txt", timeout=5)
