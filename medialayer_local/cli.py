"""``medialayer match SOURCE TARGET [--type image|audio|video] [--details] [--pretty]``

SOURCE and TARGET are http(s) URLs (fetched by the same safe fetcher as the API) or local files (which skip
the fetcher but not the caps or the sniffing). Prints the API's JSON envelope, or a readable summary with
``--pretty``. Exit status: 0 match, 1 no match, 2 error (the error envelope is printed on stdout).

``medialayer serve-dir DIR [--port 8080] [--files-port PORT+1]``: the local API (as ``make run``: auth off
unless ``MEDIALAYER_AUTH_DISABLED`` says otherwise) plus DIR served read-only on ``127.0.0.1:<files port>``,
that origin alone added to the allow-list (:mod:`medialayer_local.servedir`). Runs until interrupted.
Also ``python -m medialayer_local serve-dir DIR``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from medialayer.caps import DEFAULT_CAPS, MediaType
from medialayer.envelope import ErrorResponse, MatchResponse
from medialayer.errors import InvalidRequest, MediaLayerError, UnsupportedMedia
from medialayer.fetcher import FetchPolicy, fetch_to_file
from medialayer.pipeline import FileComparer, compare_paths, to_response
from medialayer.sniff import sniff

EXIT_MATCH, EXIT_NO_MATCH, EXIT_ERROR = 0, 1, 2


def comparer_for(medium: MediaType) -> FileComparer:
    """The same comparer the API's route for ``medium`` uses."""
    if medium == "image":
        from image_match.app import comparer
    elif medium == "audio":
        from audio_match.app import comparer
    else:
        from video_match.app import comparer
    return comparer()


def _is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def guess_medium(path: Path) -> MediaType:
    """The medium of a local file from its bytes; containers that may hold video count as video when they
    have a video stream."""
    found = sniff(path)
    if found.media == frozenset({"image"}):
        return "image"
    if "video" not in found.media:
        return "audio"
    from medialayer.ffmpeg import VIDEO_DEMUXERS, probe

    try:
        return "video" if probe(path, demuxers=VIDEO_DEMUXERS).video_streams else "audio"
    except UnsupportedMedia:
        return "audio"


@contextlib.contextmanager
def _local_copy(value: str, medium: MediaType | None, policy: FetchPolicy) -> Iterator[Path]:
    if not _is_url(value):
        path = Path(value)
        if not path.is_file():
            raise InvalidRequest(f"no such file: {value}")
        yield path
        return
    caps = DEFAULT_CAPS[medium or "video"]
    path = fetch_to_file(value, max_bytes=caps.max_bytes, policy=policy, medium=medium)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def progress(enabled: bool, stream: TextIO, label: str) -> Iterator[None]:
    """An elapsed-time ticker on stderr while long audio/video work runs."""
    if not enabled:
        yield
        return
    done = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        frames = "|/-\\"
        i = 0
        while not done.wait(0.2):
            stream.write(f"\r{frames[i % 4]} {label} {time.monotonic() - started:5.1f}s")
            stream.flush()
            i += 1

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        stream.write(f"\r✓ {label} {time.monotonic() - started:5.1f}s\n")
        stream.flush()


def run_match(source: str, target: str, medium: MediaType | None, details: bool, show_progress: bool) -> MatchResponse:
    started = time.perf_counter()
    policy = FetchPolicy.from_settings()
    with _local_copy(source, medium, policy) as src, _local_copy(target, medium, policy) as tgt:
        medium = medium or guess_medium(src)
        with progress(show_progress and medium != "image", sys.stderr, f"matching {medium}"):
            outcome = compare_paths(comparer_for(medium), src, tgt, caps=DEFAULT_CAPS[medium], details=details)
    return to_response(outcome, started, details=details)


def summary(resp: MatchResponse) -> str:
    verdict = "MATCH" if resp.match else "no match"
    lines = [
        f"{verdict}  ({resp.media_type}, similarity {resp.similarity_score:.3f}, confidence {resp.confidence}, "
        f"{resp.processing_time_ms} ms)"
    ]
    for seg in resp.matched_segments:
        lines.append(
            f"  source {seg.source_start:8.2f}-{seg.source_end:8.2f}s  <->  "
            f"target {seg.target_start:8.2f}-{seg.target_end:8.2f}s  score {seg.score:.2f}"
        )
    return "\n".join(lines)


def run_serve_dir(directory: Path, *, port: int, files_port: int | None) -> int:
    """``medialayer serve-dir``: blocks until interrupted; 2 when the folder or a port cannot be used."""
    from medialayer_local.servedir import FolderServer
    from medialayer_local.server import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not directory.expanduser().is_dir():
        print(f"error: not a directory: {directory}", file=sys.stderr)
        return EXIT_ERROR
    files_port = port + 1 if files_port is None else files_port
    try:
        files = FolderServer(directory, port=files_port)
    except OSError as exc:  # the port is taken (the API's own port is reported by uvicorn)
        print(f"error: cannot serve {directory} on 127.0.0.1:{files_port}: {exc.strerror or exc}", file=sys.stderr)
        print("pass --files-port PORT (0: any free port)", file=sys.stderr)
        return EXIT_ERROR
    try:
        serve(host=os.environ.get("HOST", "127.0.0.1"), port=port, files=files)
    finally:
        files.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medialayer", description="Compare two media files or URLs.")
    sub = parser.add_subparsers(dest="command", required=True)
    match = sub.add_parser("match", help="compare SOURCE and TARGET")
    match.add_argument("source")
    match.add_argument("target")
    match.add_argument("--type", choices=["image", "audio", "video"], dest="medium")
    match.add_argument("--details", action="store_true", help="include the engine's evidence")
    match.add_argument("--pretty", action="store_true", help="a readable summary instead of JSON")
    serve_dir = sub.add_parser(
        "serve-dir",
        help="run the local API and serve DIR read-only on loopback, allow-listed for it",
        description="Run the local API on 127.0.0.1:PORT and serve DIR read-only on 127.0.0.1:FILES_PORT; "
        "only that folder's address is added to the allow-list. Paste its file URLs into the playground.",
    )
    serve_dir.add_argument("directory", type=Path)
    serve_dir.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")), help="API port (8080)")
    serve_dir.add_argument("--files-port", type=int, help="folder port (default: API port + 1; 0: any free one)")
    args = parser.parse_args(argv)
    if args.command == "serve-dir":
        return run_serve_dir(args.directory, port=args.port, files_port=args.files_port)
    try:
        resp = run_match(args.source, args.target, args.medium, args.details, show_progress=sys.stderr.isatty())
    except MediaLayerError as exc:
        body = ErrorResponse.model_validate({"error": {"code": exc.code, "message": exc.message}})
        print(f"error: {exc.code}: {exc.message}" if args.pretty else body.model_dump_json())
        return EXIT_ERROR
    except Exception as exc:
        print(json.dumps({"error": {"code": "internal_error", "message": type(exc).__name__}}))
        return EXIT_ERROR
    print(summary(resp) if args.pretty else resp.model_dump_json(exclude_none=True))
    return EXIT_MATCH if resp.match else EXIT_NO_MATCH


if __name__ == "__main__":
    sys.exit(main())
