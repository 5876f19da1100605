"""``python -m fuzz [--engine hypothesis|atheris] [--seconds N] [targets...]`` — bounded fuzz runs.

Every finding (crash, 5xx, broken invariant, slow input) is printed and its input saved to
``fuzz/findings/<target>-<sha1>.bin``; the exit status is 1 if anything was found.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

from fuzz import targets

FINDINGS = Path(__file__).resolve().parent / "findings"


def save(name: str, data: bytes) -> Path:
    FINDINGS.mkdir(exist_ok=True)
    path = FINDINGS / f"{name}-{hashlib.sha1(data).hexdigest()[:12]}.bin"
    path.write_bytes(data)
    return path


def run_hypothesis(name: str, seconds: float, chunk: int = 100) -> tuple[int, int]:
    """Run ``name`` for about ``seconds``; returns (examples, findings)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    strategy = __import__("fuzz.strategies", fromlist=["for_target"]).for_target(name, targets.seeds()[name])
    target = targets.TARGETS[name]
    deadline = time.monotonic() + seconds
    examples = findings = 0
    round_no = 0
    count = [0]
    while time.monotonic() < deadline:
        round_no += 1
        before = count[0]

        @hseed(round_no)
        @settings(
            max_examples=chunk,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate, Phase.shrink],
            report_multiple_bugs=False,
        )
        @given(strategy)
        def one(data: bytes) -> None:
            count[0] += 1
            try:
                targets.run_bounded(target, data)
            except BaseException:
                one.last = data  # type: ignore[attr-defined]
                raise

        try:
            one()
        except Exception as exc:
            findings += 1
            data = getattr(one, "last", b"")
            print(f"[{name}] FINDING: {type(exc).__name__}: {str(exc)[:300]}", flush=True)
            traceback.print_exception(exc, limit=-4)
            print(f"[{name}]   input saved to {save(name, data)}", flush=True)
        examples += count[0] - before
    return examples, findings


def run_atheris(name: str, seconds: float) -> int:
    """Coverage-guided run in a child process (libFuzzer exits the process on the first crash)."""
    corpus = Path(os.environ.get("TMPDIR", "/tmp")) / f"medialayer-fuzz-corpus-{name}"
    corpus.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(targets.seeds()[name]):
        (corpus / f"seed-{i}").write_bytes(data)
    FINDINGS.mkdir(exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "fuzz.atheris_main",
        name,
        str(corpus),
        f"-max_total_time={int(seconds)}",
        "-timeout=30",
        "-rss_limit_mb=3072",
        f"-artifact_prefix={FINDINGS}/{name}-",
        "-print_final_stats=1",
    ]
    proc = subprocess.run(cmd, check=False, cwd=Path(__file__).resolve().parents[1])
    return 0 if proc.returncode == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    parser.add_argument("targets", nargs="*", default=list(targets.TARGETS), choices=list(targets.TARGETS))
    parser.add_argument("--seconds", type=float, default=60.0, help="per target (default 60)")
    parser.add_argument("--engine", choices=["hypothesis", "atheris"], default="hypothesis")
    args = parser.parse_args(argv)
    total = 0
    for name in args.targets:
        started = time.monotonic()
        if args.engine == "atheris":
            found = run_atheris(name, args.seconds)
            print(f"[{name}] atheris: {'FINDINGS' if found else 'clean'} in {time.monotonic() - started:.0f} s")
        else:
            examples, found = run_hypothesis(name, args.seconds)
            rate = examples / max(1e-9, time.monotonic() - started)
            print(
                f"[{name}] hypothesis: {examples} inputs in {time.monotonic() - started:.0f} s "
                f"({rate:.0f}/s), {found} finding(s)",
                flush=True,
            )
        total += found
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
