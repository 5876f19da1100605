"""docs/settings.md is generated from the settings models (issue 16, item 9) and names every MEDIALAYER_*
variable the code reads; README links to it instead of pointing back at settings.py."""

from __future__ import annotations

import re
from pathlib import Path

from medialayer.settings import Settings
from medialayer_local.settings import LocalSettings
from medialayer_local.settings_doc import DOC, main, render

REPO = Path(__file__).resolve().parents[2]
#: Where MEDIALAYER_* variables are read or set (the docs themselves excluded).
SOURCES = ("shared", "functions", "medialayer_local", "bench", "tests", "layers", "examples", "statemachine")
SKIP = {".venv", ".aws-sam", ".cache", "__pycache__", "node_modules"}
NAME = re.compile(r"\bMEDIALAYER_[A-Z0-9_]*[A-Z0-9]\b")


def _code_files() -> list[Path]:
    files = [REPO / "template.yaml", REPO / "Makefile"]
    for top in SOURCES:
        for path in (REPO / top).rglob("*"):
            if path.is_file() and not SKIP & set(path.parts) and path.suffix in {".py", ".yaml", ".sh", ".json", ""}:
                files.append(path)
    return files


def test_the_page_is_current() -> None:
    assert DOC.read_text() == render(), "docs/settings.md is stale: python -m medialayer_local.settings_doc --write"
    assert main(["--check"]) == 0


def test_every_field_is_a_row_with_its_type_default_and_meaning() -> None:
    page = DOC.read_text()
    for name, field in LocalSettings.model_fields.items():
        row = next(line for line in page.splitlines() if line.startswith(f"| `MEDIALAYER_{name.upper()}` |"))
        assert field.description and " ".join(field.description.split()) in row.replace("\\|", "|")
    demo_cap = next(line for line in page.splitlines() if "`MEDIALAYER_DEMO_CAP_FACTOR`" in line)
    assert "| float (> 0, <= 1) | `0.5` |" in demo_cap
    local_only = next(line for line in page.splitlines() if "`MEDIALAYER_DEMO_LIMITS`" in line)
    assert "local only; `false`" in local_only and "demo_limits" not in Settings.model_fields


def test_every_variable_the_code_reads_is_documented() -> None:
    documented = set(NAME.findall(DOC.read_text()))
    used: dict[str, Path] = {}
    for path in _code_files():
        for name in NAME.findall(path.read_text(errors="replace")):
            used.setdefault(name, path)
    missing = {name: str(path.relative_to(REPO)) for name, path in used.items() if name not in documented}
    assert not missing, f"MEDIALAYER_* variables missing from docs/settings.md: {missing}"


def test_readme_and_settings_point_at_the_page() -> None:
    readme = (REPO / "README.md").read_text()
    assert "(docs/settings.md)" in readme
    assert "docs/settings.md" in (REPO / "shared" / "medialayer" / "settings.py").read_text()
