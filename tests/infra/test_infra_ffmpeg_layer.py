"""FfmpegLayer build pieces: hash-pinned wheel, binary extraction."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "ffmpeg"


def _extractor():
    spec = importlib.util.spec_from_file_location("extract_ffmpeg", LAYER / "extract_ffmpeg.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_requirements_are_hash_pinned():
    text = (LAYER / "requirements.txt").read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(lines) == 1
    assert re.fullmatch(r"imageio-ffmpeg==\d+\.\d+\.\d+ --hash=sha256:[0-9a-f]{64}", lines[0])


def test_extracts_the_linux_binary(tmp_path):
    wheel = _wheel(
        tmp_path / "w.whl",
        {
            "imageio_ffmpeg/__init__.py": b"",
            "imageio_ffmpeg/binaries/README.md": b"x",
            "imageio_ffmpeg/binaries/ffmpeg-linux-x86_64-v7.0.2": b"\x7fELF fake",
        },
    )
    dest = _extractor().extract(wheel, tmp_path / "out" / "bin" / "ffmpeg")
    assert dest.read_bytes() == b"\x7fELF fake" and dest.stat().st_mode & 0o777 == 0o755


@pytest.mark.parametrize(
    "members",
    [
        {"imageio_ffmpeg/__init__.py": b""},
        {
            "imageio_ffmpeg/binaries/ffmpeg-linux-x86_64-v6": b"a",
            "imageio_ffmpeg/binaries/ffmpeg-linux-x86_64-v7": b"b",
        },
        {"imageio_ffmpeg/binaries/ffmpeg-win64-v7.exe": b"MZ"},
    ],
)
def test_refuses_a_wheel_without_exactly_one_linux_binary(tmp_path, members):
    with pytest.raises(SystemExit):
        _extractor().extract(_wheel(tmp_path / "w.whl", members), tmp_path / "ffmpeg")


def test_local_ffmpeg_is_the_layers_build():
    """One ffmpeg (issue 16, item 7): the venv's imageio-ffmpeg is the layer's pinned wheel (7.0.2 binary)."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    import importlib.metadata

    pin = re.search(r"imageio-ffmpeg==(\S+)", (LAYER / "requirements.txt").read_text()).group(1)
    assert importlib.metadata.version("imageio-ffmpeg") == pin, "re-sync the venv: make setup"
    assert Path(imageio_ffmpeg.get_ffmpeg_exe()).name == "ffmpeg-linux-x86_64-v7.0.2"


def test_packed_binary_unpacks_once_and_runs(tmp_path):
    fake = tmp_path / "fake-ffmpeg"
    fake.write_text('#!/bin/sh\necho "fake ffmpeg $*"\n')
    launcher = _extractor().pack(fake, tmp_path / "layer" / "bin")
    assert sorted(p.name for p in launcher.parent.iterdir()) == ["ffmpeg", "ffmpeg.gz"]
    env = {"PATH": os.environ["PATH"], "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    for _ in range(2):
        out = subprocess.run([str(launcher), "-version", "a b"], capture_output=True, text=True, env=env, timeout=30)
        assert out.returncode == 0 and out.stdout == "fake ffmpeg -version a b\n", out.stderr
    (unpacked,) = (tmp_path / "tmp").iterdir()
    assert unpacked.read_bytes() == fake.read_bytes()
