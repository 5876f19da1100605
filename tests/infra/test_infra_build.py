"""Checks on a `sam build` output (opt-in: set MEDIALAYER_SAM_BUILD_DIR to the build directory).

    PYENV_VERSION=3.11.7:3.12.1 .venv/bin/sam build --build-dir /tmp/sambuild
    MEDIALAYER_SAM_BUILD_DIR=/tmp/sambuild .venv/bin/python -m pytest tests/infra -q

- every function plus the layers it uses fits Lambda's 250 MB (262,144,000 bytes) unzipped limit;
- every handler module imports under CPython 3.12 from the built artifacts alone (plus boto3, which the
  Lambda runtime provides), i.e. the packaging is complete and the wheels are the Linux/3.12 ones.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

BUILD = os.environ.get("MEDIALAYER_SAM_BUILD_DIR", "")
pytestmark = pytest.mark.skipif(not BUILD, reason="set MEDIALAYER_SAM_BUILD_DIR to check a sam build")

LAMBDA_UNZIPPED_LIMIT = 262_144_000
LAYERS = {
    "ImageMatchFunction": ("SharedLayer",),
    "AudioMatchFunction": ("SharedLayer", "FfmpegLayer"),
    "VideoMatchFunction": ("SharedLayer", "FfmpegLayer"),
    "VideoChunkWorkerFunction": ("SharedLayer", "FfmpegLayer"),
    "VideoAlignFunction": ("SharedLayer",),
}
MODULES = {
    "ImageMatchFunction": "image_match.handler",
    "AudioMatchFunction": "audio_match.handler",
    "VideoMatchFunction": "video_match.handler",
    "VideoChunkWorkerFunction": "video_match.stages",
    "VideoAlignFunction": "video_match.stages",
}


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.mark.parametrize("function", sorted(LAYERS))
def test_fits_the_unzipped_limit(function):
    build = Path(BUILD)
    total = _size(build / function) + sum(_size(build / layer) for layer in LAYERS[function])
    assert total <= LAMBDA_UNZIPPED_LIMIT, f"{function}: {total / 1e6:.1f} MB > {LAMBDA_UNZIPPED_LIMIT / 1e6:.1f} MB"


def test_ffmpeg_binary_runs():
    ffmpeg = Path(BUILD) / "FfmpegLayer" / "bin" / "ffmpeg"
    out = subprocess.run([str(ffmpeg), "-hide_banner", "-version"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.startswith("ffmpeg version")


@pytest.fixture(scope="module")
def python312() -> str:
    python = shutil.which("python3.12")
    if not python or subprocess.run([python, "-V"], capture_output=True).returncode != 0:
        pytest.skip("python3.12 not on PATH (pyenv: PYENV_VERSION=3.11.7:3.12.1)")
    return python


@pytest.fixture(scope="module")
def runtime_boto3(python312, tmp_path_factory) -> Path:
    """boto3 as the Lambda runtime provides it (the layer deliberately ships none)."""
    target = tmp_path_factory.mktemp("runtime")
    subprocess.run(
        [python312, "-m", "pip", "install", "--quiet", "--target", str(target), "boto3"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


@pytest.mark.parametrize("function", sorted(MODULES))
def test_handler_imports_from_artifacts_under_python312(function, python312, runtime_boto3, tmp_path):
    python, boto = python312, runtime_boto3
    paths = [str(Path(BUILD) / function), str(Path(BUILD) / "SharedLayer" / "python"), str(boto)]
    code = (
        f"import sys; sys.path[:0] = {paths!r}; import importlib; "
        f"m = importlib.import_module({MODULES[function]!r}); "
        "assert any(n.endswith('handler') for n in dir(m))"
    )
    env = {
        "PATH": os.environ["PATH"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "HOME": str(tmp_path),
        "PYTHONDONTWRITEBYTECODE": "1",  # never add caches to the artifacts
    }
    env.update({k: v for k, v in os.environ.items() if k.startswith("PYENV")})
    out = subprocess.run([python, "-S", "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
