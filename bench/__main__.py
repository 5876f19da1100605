"""Command line of the benchmark (see bench/README.md).

python -m bench image|audio|video [--quick] [--seed N] [--http URL] [...]
python -m bench calibrate image|audio|video [--quick] [--seed N] [--out PATH | --dry-run]
python -m bench negatives image|audio|video [--half calib|report|both] [--quick] [--seed N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.common import DEFAULT_SEED, cache_root, data_dir, ensure_import_paths, repo_root

ensure_import_paths()

from bench.runner import OURS, RunResult, build_medium_pairs, matcher_runners, run_pairs, write_raw  # noqa: E402
from bench.types import Matcher  # noqa: E402

MEDIA = ("image", "audio", "video")
FLOOR_MEDIA = ("audio", "video")


def _common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="small subset (builders' quick mode), < 2 min")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"pair seed (default {DEFAULT_SEED})")
    p.add_argument("--data", type=Path, default=None, help="media folder (default ../shared/data)")
    p.add_argument("--per-family", type=int, default=0, help="keep only the first N pairs per split+family")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per pair per matcher")
    p.add_argument("--no-isolate", action="store_true", help="run matchers in this process (debugging)")
    p.add_argument("--pairs-module", default=None, help=argparse.SUPPRESS)
    p.add_argument("--peers-module", default=None, help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    """``python -m bench`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for medium in MEDIA:
        p = sub.add_parser(medium, help=f"benchmark the {medium} matchers")
        _common_args(p)
        p.add_argument("--http", metavar="URL", default=None, help="measure ours through a running server")
        p.add_argument("--serve-port", type=int, default=0, help="port of the loopback file server (--http)")
        p.add_argument("--matchers", default=None, help="comma-separated matcher names to run (default all)")
        p.add_argument("--out", type=Path, default=repo_root() / "bench" / "results", help="results folder")
        p.add_argument("--no-floor", action="store_true", help="skip the ffmpeg decode-only measurement")
        p.set_defaults(medium=medium)
    r = sub.add_parser("report", help="re-render a previous run's report from bench/.cache/results")
    r.add_argument("medium", choices=MEDIA)
    r.add_argument("--quick", action="store_true")
    r.add_argument("--seed", type=int, default=DEFAULT_SEED)
    r.add_argument("--out", type=Path, default=repo_root() / "bench" / "results", help="results folder")
    c = sub.add_parser("calibrate", help="fit ours' calibration on the calibration half")
    c.add_argument("medium", choices=MEDIA)
    _common_args(c)
    c.add_argument("--out", type=Path, default=None, help="write here instead of the engine's file")
    c.add_argument("--dry-run", action="store_true", help="print the fitted calibration, write nothing")
    c.add_argument(
        "--with-null",
        action="store_true",
        help="add the null bench's calibration-half hard negatives (run `bench negatives <medium> --half calib` first)",
    )
    from bench.negatives.run import add_arguments as add_negatives_arguments

    add_negatives_arguments(sub.add_parser("negatives", help="the null bench: hard negatives only"))
    return parser


def _specs(args: argparse.Namespace) -> tuple[str, str]:
    pairs = args.pairs_module or f"bench.{args.medium}_pairs:build_pairs"
    peers = args.peers_module or f"bench.{args.medium}_peers:matchers"
    return pairs, peers


def _load_pairs(args: argparse.Namespace, pairs_spec: str) -> list:
    from bench.runner import select_subset

    folder = args.data or data_dir()
    if folder is None or not Path(folder).is_dir():
        raise SystemExit("no media folder: put it at ../shared/data or set MEDIALAYER_TEST_DATA")
    print(
        f"building {args.medium} pairs (seed {args.seed}{', quick' if args.quick else ''}) ...",
        file=sys.stderr,
    )
    pairs = build_medium_pairs(pairs_spec, Path(folder), cache_root() / args.medium, args.seed, args.quick)
    if args.per_family:
        pairs = select_subset(pairs, args.per_family)
    return pairs


def raw_path(medium: str, quick: bool, seed: int) -> Path:
    """Where a run's pairs and verdicts are dumped (``bench/.cache/results/``)."""
    return cache_root() / "results" / f"{medium}{'-quick' if quick else ''}-seed{seed}.json"


def write_outputs(result: RunResult, out: Path, stem: str) -> None:
    """Summarise a run's report half and write ``<out>/<stem>.md`` and ``<out>/<stem>.png``."""
    from bench import plots, report

    summaries = report.summarize_run(result, with_floor=bool(result.decode_seconds))
    if result.memory_method != "per pair":  # HTTP: the bench process's memory says nothing about ours
        for s in summaries:
            if s.name == OURS:
                s.peak_rss_median_mb = s.peak_rss_max_mb = None
    out.mkdir(parents=True, exist_ok=True)
    png = plots.write_png(result, summaries, out / f"{stem}.png")
    md = report.render_markdown(result, summaries, ffmpeg_version=result.ffmpeg_version, png_name=png.name)
    (out / f"{stem}.md").write_text(md)
    print(md)
    print(f"wrote {out / f'{stem}.md'} and {png}", file=sys.stderr)


def run_report(args: argparse.Namespace) -> int:
    """Re-render a previous run's report from its dump in ``bench/.cache/results/`` (no re-run)."""
    from bench.runner import read_raw

    path = raw_path(args.medium, args.quick, args.seed)
    if not path.exists():
        print(f"no dumped run at {path}: run `python -m bench {args.medium}` first", file=sys.stderr)
        return 2
    result = read_raw(path)
    write_outputs(result, args.out, args.medium + ("-quick" if args.quick else ""))
    return 0


def run_bench(args: argparse.Namespace, argv: Sequence[str]) -> RunResult:
    """Build pairs, run every matcher, write ``<out>/<medium>[-quick].md`` and ``.png``."""
    from bench.decode_floor import ffmpeg_decode_seconds, ffmpeg_version

    pairs_spec, peers_spec = _specs(args)
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    all_pairs = _load_pairs(args, pairs_spec)
    pairs = [p for p in all_pairs if p.split == "report"]  # the calibration half is never scored here
    only = [m.strip() for m in args.matchers.split(",")] if args.matchers else None
    with_floor = args.medium in FLOOR_MEDIA and not args.no_floor
    command = "python -m bench " + " ".join(shlex.quote(a) for a in argv)
    mode = f"in-process matcher `{OURS}` from `{peers_spec}` (own worker process)"
    replace: dict[str, Matcher] = {}
    server = None
    if args.http:
        from bench.http_mode import HttpMatcher, StaticFileServer

        server = StaticFileServer(port=args.serve_port).__enter__()
        print(
            f"serving pair files on 127.0.0.1:{server.port}; the server under test needs "
            f"MEDIALAYER_ALLOW_PRIVATE_HOSTS=127.0.0.1:{server.port} MEDIALAYER_AUTH_DISABLED=true",
            file=sys.stderr,
        )
        replace[OURS] = HttpMatcher(args.http, args.medium, server, timeout=args.timeout)
        mode = f"HTTP, POST {args.http}/{args.medium}/match (latency includes HTTP and loopback fetch)"
    try:
        with matcher_runners(
            peers_spec, isolate=not args.no_isolate, timeout=args.timeout, only=only, replace=replace
        ) as (runners, unavailable):
            print(f"{len(pairs)} pairs x {[r.name for r in runners]}", file=sys.stderr)
            verdicts, floors = run_pairs(pairs, runners, decode_floor=ffmpeg_decode_seconds if with_floor else None)
    finally:
        if server is not None:
            server.__exit__(None, None, None)
    result = RunResult(
        medium=args.medium,
        seed=args.seed,
        quick=args.quick,
        command=command,
        started=started,
        pairs=pairs,
        n_calib_pairs=len(all_pairs) - len(pairs),
        verdicts=verdicts,
        decode_seconds=floors,
        unavailable=unavailable,
        mode=mode,
    )
    if args.http:
        result.memory_method = "not measured over HTTP (ours runs in the server)"
    if with_floor:
        result.ffmpeg_version = ffmpeg_version()
    stem = args.medium + ("-quick" if args.quick else "")
    write_raw(raw_path(args.medium, args.quick, args.seed), result)
    write_outputs(result, args.out, stem)
    return result


def run_calibrate(args: argparse.Namespace) -> int:
    """Fit ours' calibration on the calibration half and write it (see :mod:`bench.calibrate`)."""
    from bench.calibrate import calibration_path, run_calibration

    if (args.quick or args.per_family) and args.out is None and not args.dry_run:
        print(
            "refusing to overwrite the engine's calibration from a subset; use --out or --dry-run",
            file=sys.stderr,
        )
        return 2
    pairs_spec, peers_spec = _specs(args)
    pairs = _load_pairs(args, pairs_spec)
    cal = run_calibration(
        args.medium,
        pairs,
        peers_spec,
        seed=args.seed,
        quick=args.quick,
        isolate=not args.no_isolate,
        timeout=args.timeout,
        with_null=args.with_null,
    )
    text = cal.model_dump_json(indent=2)
    print(text)
    if args.dry_run:
        return 0
    target = args.out or calibration_path(args.medium)
    target.parent.mkdir(parents=True, exist_ok=True)
    cal.save(target)
    print(f"wrote {target}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.command == "calibrate":
        return run_calibrate(args)
    if args.command == "report":
        return run_report(args)
    if args.command == "negatives":
        from bench.negatives.run import main_args

        return main_args(args, argv)
    run_bench(args, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
