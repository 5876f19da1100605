"""The package declares what its code imports; the lock pins it, in step with the Lambda pins (issue 16,
items 6 and 7).

- every third-party module imported by the installed packages (shared/medialayer, medialayer_local and the
  three engines) comes from a distribution in ``[project] dependencies``, so ``pip install .`` gives a
  working ``medialayer``;
- requirements/lock.txt pins every declared requirement (runtime and extras) at a version that satisfies
  it, and pins the Lambda's packages (shared/ and functions/*/requirements.txt) and the FfmpegLayer's
  imageio-ffmpeg at exactly the Lambda's versions: one set of builds locally and in AWS;
- the benchmark's heavy packages live in the ``bench`` extra, which ``make test`` does not install.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
LOCK = REPO / "requirements" / "lock.txt"
FIRST_PARTY = {"medialayer", "image_match", "audio_match", "video_match", "medialayer_local", "bench"}
#: import name -> distribution, where they differ (the rest: packages_distributions() of this venv).
IMPORT_TO_DIST = {
    "cv2": "opencv-python-headless",
    "PIL": "pillow",
    "yaml": "pyyaml",
    "aws_lambda_powertools": "aws-lambda-powertools",
    "pydantic_settings": "pydantic-settings",
}
BENCH_ONLY = {"augly", "pdqhash", "imagehash", "matplotlib", "pedalboard", "audiomentations"}


def _package_dirs() -> list[Path]:
    dirs = PYPROJECT["tool"]["setuptools"]["package-dir"]
    return [REPO / path for path in dirs.values()]


def _imports(root: Path) -> set[str]:
    names: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def _third_party_imports() -> set[str]:
    found = set().union(*(_imports(d) for d in _package_dirs()))
    return {n for n in found if n not in sys.stdlib_module_names and n not in FIRST_PARTY and n != "__future__"}


def _dist_of(module: str) -> str:
    if module in IMPORT_TO_DIST:
        return canonicalize_name(IMPORT_TO_DIST[module])
    dists = importlib.metadata.packages_distributions().get(module)
    assert dists, f"{module} is imported but no installed distribution provides it"
    return canonicalize_name(dists[0])


def _declared(group: str | None = None) -> list[Requirement]:
    project = PYPROJECT["project"]
    specs = project.get("dependencies", []) if group is None else project["optional-dependencies"][group]
    return [Requirement(s) for s in specs]


def _lock() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==(\S+)", line)
        if m:
            pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;]+)", line)
        if m:
            pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def test_every_import_of_the_package_is_a_declared_dependency():
    declared = {canonicalize_name(r.name) for r in _declared()}
    imported = _third_party_imports()
    assert imported, "found no third-party imports: the scan is broken"
    missing = sorted(f"{m} ({_dist_of(m)})" for m in imported if _dist_of(m) not in declared)
    assert not missing, f"imported by the package but not in [project] dependencies: {missing}"


def test_the_package_does_not_import_bench_or_dev_packages():
    assert not _third_party_imports() & (BENCH_ONLY | {"pytest", "moto", "hypothesis", "selenium"})


def test_lock_pins_every_declared_requirement():
    pins = _lock()
    groups = [None, *PYPROJECT["project"]["optional-dependencies"]]
    for group in groups:
        for req in _declared(group):
            if req.marker and not req.marker.evaluate({"platform_system": "Linux"}):
                continue
            name = canonicalize_name(req.name)
            assert name in pins, f"{req} ({group or 'runtime'}) is not in {LOCK.name}: run `make lock`"
            assert req.specifier.contains(pins[name], prereleases=True), f"{LOCK.name} pins {name}=={pins[name]}"
            for extra in req.extras:  # e.g. moto[s3,...]: nothing to check beyond presence of the base
                assert extra


def test_lock_uses_the_lambda_builds():
    lock = _lock()
    lambda_files = [REPO / "shared" / "requirements.txt", *sorted((REPO / "functions").glob("*/requirements.txt"))]
    lambda_files.append(REPO / "layers" / "ffmpeg" / "requirements.txt")
    differ = {}
    for path in lambda_files:
        for name, version in _pins(path).items():
            if lock.get(name) != version:
                differ[name] = (str(path.relative_to(REPO)), version, lock.get(name))
    assert not differ, f"Lambda pin vs requirements/lock.txt: {differ}"


def test_bench_packages_are_only_in_the_bench_extra():
    dev = {canonicalize_name(r.name) for r in _declared("dev")}
    bench = {canonicalize_name(r.name) for r in _declared("bench")}
    assert BENCH_ONLY <= bench and not dev & BENCH_ONLY
    makefile = (REPO / "Makefile").read_text()
    setup = re.search(r"^\$\(VENV\)/\.dev:.*?(?=^\S)", makefile, re.M | re.S).group(0)
    assert "[dev]" in setup and "bench" not in setup


@pytest.mark.slow
def test_the_built_wheel_declares_the_dependencies(tmp_path):
    """`pip wheel .` (needs PyPI for the build backend) -> METADATA Requires-Dist = [project] dependencies."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(REPO)],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("medialayer_match-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(meta).decode().splitlines()
    requires = {Requirement(line.split(":", 1)[1]).name for line in lines if line.startswith("Requires-Dist:")}
    assert {r.name for r in _declared()} <= requires
