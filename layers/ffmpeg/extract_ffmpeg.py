"""Copy the static ffmpeg binary out of an imageio-ffmpeg wheel: ``extract_ffmpeg.py WHEEL DEST``.

Used by the FfmpegLayer build (Makefile). Fails unless the wheel holds exactly one Linux x86_64 binary.
"""

from __future__ import annotations

import shutil
import stat
import sys
import zipfile
from pathlib import Path


def extract(wheel: Path, dest: Path) -> Path:
    """Write the wheel's ``imageio_ffmpeg/binaries/ffmpeg-linux-x86_64-*`` to ``dest`` (mode 0755)."""
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.startswith("imageio_ffmpeg/binaries/ffmpeg-linux-x86_64")]
        if len(names) != 1:
            raise SystemExit(f"expected one linux x86_64 ffmpeg binary in {wheel.name}, found {names}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(names[0]) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out)
    dest.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    print(extract(Path(sys.argv[1]), Path(sys.argv[2])))
