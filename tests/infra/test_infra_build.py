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
import sys
from pathlib import Path

import pytest

BUILD = os.environ.get("MEDIALAYER_SAM_BUILD_DIR", "")
pytestmark = pytest.mark.skipif(not BUILD, reason="set MEDIALAYER_SAM_BUILD_DIR to check a sam build")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import size_table  # noqa: E402

LAMBDA_UNZIPPED_LIMIT = size_table.LAMBDA_UNZIPPED_LIMIT
LAYERS = size_table.LAYERS
MODULES = {
    "ImageMatchFunction": "image_match.handler",
    "AudioMatchFunction": "audio_match.handler",
    "VideoMatchFunction": "video_match.handler",
    "VideoChunkWorkerFunction": "video_match.stages",
    "VideoAlignFunction": "video_match.stages",
}


@pytest.mark.parametrize("function", sorted(LAYERS))
def test_fits_the_unzipped_limit_with_headroom(function):
    total = size_table.totals(Path(BUILD))[function]
    assert total <= LAMBDA_UNZIPPED_LIMIT - size_table.HEADROOM, (
        f"{function}: {total / 1e6:.1f} MB, headroom {(LAMBDA_UNZIPPED_LIMIT - total) / 1e6:.1f} MB < 40 MB"
    )


def test_the_documented_size_table_is_this_builds():
    assert size_table.documented() == size_table.table(Path(BUILD)), (
        "docs/deploy.md's size table is stale: tools/size_table.py BUILD_DIR --write"
    )


def test_ffmpeg_binary_runs(tmp_path):
    """The layer's launcher unpacks the binary (to TMPDIR) and runs it: the same 7.0.2 build as locally."""
    ffmpeg = Path(BUILD) / "FfmpegLayer" / "bin" / "ffmpeg"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    out = subprocess.run([str(ffmpeg), "-hide_banner", "-version"], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0 and out.stdout.startswith("ffmpeg version 7.0.2"), out.stderr
    (unpacked,) = tmp_path.glob("medialayer-ffmpeg-*")
    try:
        import imageio_ffmpeg
    except ImportError:
        return
    assert unpacked.read_bytes() == Path(imageio_ffmpeg.get_ffmpeg_exe()).read_bytes(), "local ffmpeg differs"


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


IMAGE_SMOKE = """
import io, sys
import numpy as np, cv2, pillow_heif
from PIL import Image
rng = np.random.default_rng(7)
img = cv2.resize((rng.random((480, 640)) * 255).astype(np.uint8), (320, 240), interpolation=cv2.INTER_AREA)
orb = cv2.ORB_create(500)
kp, des = orb.detectAndCompute(img, None)
matches = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(des, des, k=2)
src = cv2.KeyPoint_convert(kp).reshape(-1, 1, 2)
h, mask = cv2.findHomography(src, src + 3.0, cv2.USAC_MAGSAC, 5.0)
assert len(kp) > 100 and len(matches) == len(kp) and h is not None and abs(h[0, 2] - 3.0) < 0.1
cv2.dct(np.float32(img[:32, :32]))
pillow_heif.register_heif_opener()
for path in sys.argv[1:]:
    Image.open(path).convert("RGB").load()
print("ok")
"""


def test_image_engine_libraries_work_from_the_stubbed_artifacts(python312, runtime_boto3, tmp_path):
    """ORB, matching, MAGSAC, resize, DCT and HEIC/AVIF decoding under 3.12 with the stubbed libraries."""
    from PIL import Image

    pillow_heif = pytest.importorskip("pillow_heif")
    rng = __import__("numpy").random.default_rng(1)
    picture = Image.fromarray((rng.random((64, 96, 3)) * 255).astype("uint8"))
    files = []
    heif = pillow_heif.from_pillow(picture)
    heif.save(tmp_path / "x.heic", quality=90)
    files.append(tmp_path / "x.heic")
    try:
        picture.save(tmp_path / "x.avif")
        files.append(tmp_path / "x.avif")
    except (KeyError, OSError):
        pass
    paths = [str(Path(BUILD) / "ImageMatchFunction"), str(Path(BUILD) / "SharedLayer" / "python")]
    code = f"import sys; sys.path[:0] = {paths!r}\n" + IMAGE_SMOKE
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    env.update({k: v for k, v in os.environ.items() if k.startswith("PYENV")})
    out = subprocess.run(
        [python312, "-S", "-c", code, *map(str, files)], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
