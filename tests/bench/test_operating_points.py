"""The operating-point table from fake run dumps (no engine, no data)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.operating_points import BEGIN, END, load_scores, main, update_docs


def _dump(folder: Path, medium: str, rows: list[tuple[str, bool, float]]) -> None:
    pairs = [{"split": s, "positive": p} for s, p, _ in rows]
    verdicts = [{"extra": {"similarity_score": x}} for _, _, x in rows]
    (folder / f"{medium}-seed1.json").write_text(json.dumps({"pairs": pairs, "verdicts": {"medialayer": verdicts}}))


def test_report_half_only_and_null_negatives_added(tmp_path: Path) -> None:
    _dump(tmp_path, "audio", [("report", True, 0.9), ("report", False, 0.1), ("calib", False, 0.99)])
    null = {"records": [{"half": "report", "similarity_score": 0.55}, {"half": "calib", "similarity_score": 0.9}]}
    (tmp_path / "negatives-audio-seed1.json").write_text(json.dumps(null))
    s = load_scores("audio", 1, tmp_path)
    assert s is not None and s.positives == [0.9] and sorted(s.negatives) == [0.1, 0.55]
    assert (s.n_bench_negatives, s.n_null_negatives) == (1, 1)


def test_table_counts_false_matches_per_threshold(tmp_path: Path) -> None:
    _dump(
        tmp_path,
        "image",
        [("report", True, 0.95), ("report", True, 0.45)] + [("report", False, 0.05)] * 9 + [("report", False, 0.65)],
    )
    out = tmp_path / "op.md"
    assert main(["--seed", "1", "--results", str(tmp_path), "--out", str(out)]) == 0
    text = out.read_text()
    assert "| image | 0.5 | 10.00 % (1 / 10) |" in text and "| image | 0.7 | 0.00 % (0 / 10) |" in text
    assert "| image | 0.4 |" in text and text.count("| image |") == 7


def test_docs_markers(tmp_path: Path) -> None:
    doc = tmp_path / "api.md"
    doc.write_text(f"intro\n{BEGIN}\nold\n{END}\nafter\n")
    assert update_docs(doc, "new table")
    assert doc.read_text() == f"intro\n{BEGIN}\nnew table\n{END}\nafter\n"
    doc.write_text("no markers")
    assert not update_docs(doc, "x")


def test_nothing_to_report(tmp_path: Path) -> None:
    assert main(["--results", str(tmp_path), "--out", str(tmp_path / "x.md")]) == 2


def test_calibration_takes_null_negatives_only_from_the_same_engine(tmp_path, monkeypatch) -> None:
    import pytest

    import bench.calibrate as calibrate
    import bench.negatives.run as null_run

    dump = {"engine_tag": "eng-7-abc", "halves": {"calib": {}}, "records": [{"half": "calib", "raw": 0.25}]}
    (tmp_path / "negatives-audio-seed1.json").write_text(json.dumps(dump))
    monkeypatch.setattr(null_run, "cache_root", lambda: tmp_path.parent)
    monkeypatch.setattr(null_run, "raw_path", lambda m, q, s, results=None: tmp_path / f"negatives-{m}-seed{s}.json")
    monkeypatch.setattr(calibrate, "engine_version", lambda m: "eng-7")
    assert calibrate.null_negatives("audio", 1) == [0.25]
    monkeypatch.setattr(calibrate, "engine_version", lambda m: "eng-8")
    with pytest.raises(SystemExit, match="rerun"):
        calibrate.null_negatives("audio", 1)
