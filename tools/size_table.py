"""The Lambda size budget of a `sam build`, as docs/deploy.md's table: ``size_table.py BUILD_DIR [--write]``.

Prints the table (MB = 10^6 bytes) of every function's own artifacts, the layers it uses and the total
against Lambda's 262,144,000-byte unzipped limit; ``--write`` replaces the table between the
``size-table`` markers in docs/deploy.md. tests/infra/test_infra_build.py uses the same numbers for its
limit/headroom checks and fails when the committed table differs from the build's.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "deploy.md"
BEGIN, END = "<!-- size-table:begin (tools/size_table.py) -->", "<!-- size-table:end -->"
LAMBDA_UNZIPPED_LIMIT = 262_144_000
HEADROOM = 40_000_000  # issue 16: one dependency bump must not break deployment
LAYERS = {
    "ImageMatchFunction": ("SharedLayer",),
    "AudioMatchFunction": ("SharedLayer", "FfmpegLayer"),
    "VideoMatchFunction": ("SharedLayer", "FfmpegLayer"),
    "VideoChunkWorkerFunction": ("SharedLayer", "FfmpegLayer"),
    "VideoAlignFunction": ("SharedLayer",),
}


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def totals(build: Path) -> dict[str, int]:
    return {f: size(build / f) + sum(size(build / layer) for layer in LAYERS[f]) for f in LAYERS}


def table(build: Path) -> str:
    layer_mb = {layer: size(build / layer) / 1e6 for layer in ("SharedLayer", "FfmpegLayer")}
    lines = [
        f"| function | own code + wheels | + SharedLayer {layer_mb['SharedLayer']:.1f} "
        f"| + FfmpegLayer {layer_mb['FfmpegLayer']:.1f} | total | headroom |",
        "|---|---|---|---|---|---|",
    ]
    for function, total in totals(build).items():
        uses = LAYERS[function]
        lines.append(
            f"| {function} | {size(build / function) / 1e6:.1f} | {'yes' if 'SharedLayer' in uses else 'no'} "
            f"| {'yes' if 'FfmpegLayer' in uses else 'no'} | **{total / 1e6:.1f}** "
            f"| {(LAMBDA_UNZIPPED_LIMIT - total) / 1e6:.1f} |"
        )
    return "\n".join(lines) + "\n"


def documented() -> str:
    text = DOC.read_text()
    return text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip("\n") + "\n"


def write(build: Path) -> None:
    text = DOC.read_text()
    head, tail = text[: text.index(BEGIN) + len(BEGIN)], text[text.index(END) :]
    DOC.write_text(f"{head}\n{table(build)}{tail}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or sys.argv[2:] not in ([], ["--write"]):
        raise SystemExit(__doc__)
    if sys.argv[2:] == ["--write"]:
        write(Path(sys.argv[1]))
    print(table(Path(sys.argv[1])), end="")
