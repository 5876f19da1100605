"""The safe fetcher: download a vetted public URL to a temp file, within size and time bounds.

Flow for one URL (GUIDE §3): :func:`~medialayer.url_policy.vet_url` resolves the host and refuses the URL if
any address is not public; we connect to a vetted address ourselves (TLS still verifies the certificate
against the URL's host name via SNI), so a DNS answer cannot change between check and connect; redirects are
followed by hand, each hop vetted again, at most ``max_redirects``; ``Content-Length`` above the cap is
refused before reading and the streamed byte count is capped too; connect, per-read and total timeouts
apply; the first bytes are sniffed so a file of the wrong medium stops early. Downloads land in a temp file
that is removed on any failure, and :func:`fetch_pair` (both URLs, concurrently) removes both on exit.

Cancellation: the API sets :data:`request_cancel` to an event for the duration of one request and sets the
event when the client goes away; downloads stop at their next checkpoint (before every read, and the
watchdog shuts a socket blocked in a read down within ~0.2 s), and :func:`fetch_pair` does not hand the
files on to the comparison. :func:`sweep_stale_downloads` removes downloads a killed process left behind.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from medialayer.caps import MediaType
from medialayer.errors import (
    FILE_FIELDS,
    FetchFailed,
    FileField,
    FileTooLarge,
    InvalidUrl,
    MediaLayerError,
    UnsupportedMedia,
    concerning,
)
from medialayer.settings import Settings, get_settings
from medialayer.sniff import HEAD_BYTES, require_medium, sniff_bytes
from medialayer.url_policy import Resolver, VettedUrl, system_resolver, vet_url

log = logging.getLogger("medialayer.fetcher")

USER_AGENT = "MediaLayerMatch/0.1 (+https://github.com/medialayer/match)"
CHUNK_BYTES = 256 * 1024
_REDIRECTS = {301, 302, 303, 307, 308}
#: Every download is ``<temp dir>/medialayer-XXXXXXXX.media`` (what :func:`sweep_stale_downloads` looks for).
TEMP_PREFIX, TEMP_SUFFIX = "medialayer-", ".media"

#: The current request's cancellation event (set by the API when its client disconnects), or None.
request_cancel: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "medialayer_request_cancel", default=None
)


def _request_cancelled() -> bool:
    event = request_cancel.get()
    return event is not None and event.is_set()


@dataclass(frozen=True)
class FetchPolicy:
    """Everything that bounds a download. Built from :class:`Settings` by :meth:`from_settings`."""

    allowlist: frozenset[str] = frozenset()
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 10.0
    total_timeout_s: float = 20.0
    max_redirects: int = 3
    temp_dir: str = ""
    resolver: Resolver = field(default=system_resolver)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, resolver: Resolver = system_resolver) -> FetchPolicy:
        s = settings or get_settings()
        return cls(
            allowlist=s.private_host_allowlist,
            connect_timeout_s=s.connect_timeout_s,
            read_timeout_s=s.read_timeout_s,
            total_timeout_s=s.total_timeout_s,
            max_redirects=s.max_redirects,
            temp_dir=s.temp_dir,
            resolver=resolver,
        )


class _Deadline:
    """The total time budget of one download, redirects included.

    Reads are bounded one by one by the read timeout; a server that drips headers or body slowly enough
    to dodge it is cut off by a watchdog that shuts the socket down when the budget is spent.
    """

    def __init__(self, seconds: float, cancel: threading.Event | None) -> None:
        self.end = time.monotonic() + seconds
        self.cancel = cancel
        self.request_cancel = request_cancel.get()
        self._timers: list[threading.Timer | _Watchdog] = []

    def expired(self) -> bool:
        return time.monotonic() >= self.end

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the deadline passes or the request is cancelled (until :meth:`disarm`)."""

        def cut() -> None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

        timer: threading.Timer | _Watchdog
        if self.request_cancel is None:
            timer = threading.Timer(max(0.0, self.end - time.monotonic()), cut)
            timer.daemon = True
        else:
            timer = _Watchdog(self.end, self.request_cancel, cut)
        timer.start()
        self._timers.append(timer)

    def disarm(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def remaining(self) -> float:
        if self.request_cancel is not None and self.request_cancel.is_set():
            raise FetchFailed("the download was cancelled: the client went away")
        if self.cancel is not None and self.cancel.is_set():
            raise FetchFailed("the download was cancelled because the other file failed")
        left = self.end - time.monotonic()
        if left <= 0:
            raise FetchFailed("the download took longer than allowed")
        return left


class _Watchdog(threading.Thread):
    """Like ``threading.Timer(end - now, cut)``, but also cuts as soon as ``cancelled`` is set (polled every
    0.2 s: a read blocked on a silent server would otherwise wait out the read timeout)."""

    POLL_S = 0.2

    def __init__(self, end: float, cancelled: threading.Event, cut: Callable[[], None]) -> None:
        super().__init__(daemon=True, name="fetch-watchdog")
        self.end, self.cancelled, self.cut = end, cancelled, cut
        self.finished = threading.Event()

    def cancel(self) -> None:
        self.finished.set()

    def run(self) -> None:
        while True:
            left = self.end - time.monotonic()
            if left <= 0 or self.cancelled.is_set():
                self.cut()
                return
            if self.finished.wait(min(left, self.POLL_S)):
                return


def _watched(base: type, deadline: _Deadline) -> type:
    """A connection class whose socket the deadline's watchdog cuts once the total budget is spent."""

    class WatchedConnection(base):  # type: ignore[misc, valid-type]
        def connect(self) -> None:
            super().connect()
            if self.sock is not None:
                deadline.watch(self.sock)

    return WatchedConnection


def _pool(target: VettedUrl, address: str, policy: FetchPolicy, deadline: _Deadline) -> urllib3.HTTPConnectionPool:
    timeout = urllib3.Timeout(
        connect=min(policy.connect_timeout_s, deadline.remaining()),
        read=min(policy.read_timeout_s, deadline.remaining()),
    )
    if target.scheme == "https":
        context = ssl.create_default_context()
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            address,
            target.port,
            maxsize=1,
            timeout=timeout,
            retries=False,
            ssl_context=context,
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, maxsize=1, timeout=timeout, retries=False)
    pool.ConnectionCls = _watched(pool.ConnectionCls, deadline)
    return pool


def _open(target: VettedUrl, policy: FetchPolicy, deadline: _Deadline) -> urllib3.BaseHTTPResponse:
    """GET the vetted URL from its first reachable vetted address, without following redirects."""
    last_error: Exception | None = None
    for address in target.addresses:
        pool = _pool(target, address, policy, deadline)
        try:
            return pool.urlopen(
                "GET",
                target.path_and_query,
                headers={"Host": target.host_header, "User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
        except (ConnectTimeoutError, NewConnectionError) as exc:
            last_error = exc
            continue
        except SSLError as exc:
            raise FetchFailed("the server's TLS certificate could not be verified") from exc
        except ReadTimeoutError as exc:
            raise FetchFailed("the server did not answer in time") from exc
        except (ProtocolError, HTTPError) as exc:
            if deadline.expired():
                raise FetchFailed("the download took longer than allowed") from exc
            raise FetchFailed("the server closed the connection") from exc
    if isinstance(last_error, ConnectTimeoutError):
        raise FetchFailed("connecting to the server timed out") from last_error
    raise FetchFailed("could not connect to the server") from last_error


def _declared_length(response: urllib3.BaseHTTPResponse) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _stream_to(
    response: urllib3.BaseHTTPResponse,
    fh: object,
    *,
    max_bytes: int,
    medium: MediaType | None,
    deadline: _Deadline,
) -> int:
    written = 0
    head = b""
    sniffed = medium is None
    try:
        while True:
            deadline.remaining()
            # read1 returns what has arrived, so a slow drip cannot hold us past the total deadline
            chunk = response.read1(CHUNK_BYTES, decode_content=False)
            if not chunk:
                break
            written += len(chunk)
            if written > max_bytes:
                raise FileTooLarge(f"the file is larger than the {max_bytes // (1024 * 1024)} MB limit")
            if not sniffed:
                head += chunk[: HEAD_BYTES - len(head)]
                if len(head) >= HEAD_BYTES:
                    _check_head(head, medium)
                    sniffed = True
            fh.write(chunk)  # type: ignore[attr-defined]
    except ReadTimeoutError as exc:
        raise FetchFailed("the server stopped sending data") from exc
    except (ProtocolError, HTTPError, OSError) as exc:
        if deadline.expired():
            raise FetchFailed("the download took longer than allowed") from exc
        raise FetchFailed("the connection closed before the whole file arrived") from exc
    if not sniffed and head:
        _check_head(head, medium)
    return written


def _check_head(head: bytes, medium: MediaType | None) -> None:
    found = sniff_bytes(head)
    if found is None:
        raise UnsupportedMedia("the file is not a supported image, audio or video format")
    if medium is not None:
        require_medium(found, medium)


def fetch_to_file(
    url: str,
    *,
    max_bytes: int,
    policy: FetchPolicy,
    medium: MediaType | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Download ``url`` to a new temp file and return its path; the caller removes it.

    Raises :class:`InvalidUrl` (refused URL or redirect), :class:`FetchFailed` (network, status, timeout),
    :class:`FileTooLarge`, or :class:`UnsupportedMedia` (first bytes are not the route's medium).
    """
    deadline = _Deadline(policy.total_timeout_s, cancel)
    try:
        return _follow(url, max_bytes=max_bytes, policy=policy, medium=medium, deadline=deadline)
    finally:
        deadline.disarm()


def _follow(url: str, *, max_bytes: int, policy: FetchPolicy, medium: MediaType | None, deadline: _Deadline) -> Path:
    """Follow redirects by hand (each hop vetted again) and download the final answer."""
    current = url
    for hop in range(policy.max_redirects + 1):
        target = vet_url(current, resolver=policy.resolver, allowlist=policy.allowlist)
        response = _open(target, policy, deadline)
        try:
            if response.status in _REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    raise FetchFailed(f"the server answered {response.status} without a Location")
                if hop == policy.max_redirects:
                    raise FetchFailed(f"more than {policy.max_redirects} redirects")
                try:
                    current = urljoin(target.url, location)
                except ValueError as exc:
                    raise InvalidUrl("the server redirected to a malformed URL") from exc
                continue
            if not 200 <= response.status < 300:
                raise FetchFailed(f"the server answered HTTP {response.status}")
            declared = _declared_length(response)
            if declared is not None and declared > max_bytes:
                raise FileTooLarge(f"the file is larger than the {max_bytes // (1024 * 1024)} MB limit")
            return _download(response, max_bytes=max_bytes, policy=policy, medium=medium, deadline=deadline)
        finally:
            # close first: the connection is dropped, not pooled, so a cancelled or refused download hangs up
            # on the origin at once instead of when the pool is garbage-collected
            response.close()
            response.release_conn()
    raise FetchFailed(f"more than {policy.max_redirects} redirects")  # pragma: no cover - loop always returns


def _download(
    response: urllib3.BaseHTTPResponse,
    *,
    max_bytes: int,
    policy: FetchPolicy,
    medium: MediaType | None,
    deadline: _Deadline,
) -> Path:
    temp_dir = policy.temp_dir or None
    if temp_dir:
        os.makedirs(temp_dir, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=temp_dir)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            written = _stream_to(response, fh, max_bytes=max_bytes, medium=medium, deadline=deadline)
        if written == 0:
            raise UnsupportedMedia("the file is empty")
        return path
    except BaseException:
        path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def fetch_pair(
    source_url: str,
    target_url: str,
    *,
    max_bytes: int,
    policy: FetchPolicy,
    medium: MediaType | None = None,
) -> Iterator[tuple[Path, Path]]:
    """Fetch both URLs concurrently; yield their temp paths; always remove both files afterwards.

    Both URLs are vetted before any connection is made, so a refused target never lets the source download
    start. When one download fails the other is cancelled; the source's error wins when both fail. Every
    typed error names its file (``source_url`` / ``target_url``: :func:`medialayer.errors.concerning`).
    """
    for url, side in zip((source_url, target_url), FILE_FIELDS, strict=True):
        with concerning(side):
            vet_url(url, resolver=policy.resolver, allowlist=policy.allowlist)
    cancel = threading.Event()
    paths: list[Path] = []

    def one(url: str, side: FileField) -> Path:
        try:
            with concerning(side):  # every typed error of this download names its file
                path = fetch_to_file(url, max_bytes=max_bytes, policy=policy, medium=medium, cancel=cancel)
        except BaseException:
            cancel.set()
            raise
        paths.append(path)
        return path

    try:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="fetch") as pool:
            # each download runs in a copy of this context, so it sees the request's cancellation event
            futures = [
                pool.submit(contextvars.copy_context().run, one, url, side)
                for url, side in zip((source_url, target_url), FILE_FIELDS, strict=True)
            ]
            errors: list[BaseException] = []
            results: list[Path] = []
            for future in futures:
                try:
                    results.append(future.result())
                except BaseException as exc:
                    errors.append(exc)
        if errors:
            real = [e for e in errors if not _is_cancellation(e)]
            raise (real or errors)[0]
        if _request_cancelled():  # checkpoint: the client left while we downloaded; don't start comparing
            raise FetchFailed("the request was cancelled: the client went away")
        yield results[0], results[1]
    finally:
        for path in paths:
            path.unlink(missing_ok=True)


def _is_cancellation(exc: BaseException) -> bool:
    return isinstance(exc, FetchFailed) and "cancelled" in exc.message


def sweep_stale_downloads(temp_dir: str = "", *, older_than_s: float = 60.0) -> list[Path]:
    """Remove downloads left behind by a process that was killed mid-request; return what was removed.

    Looks at ``TEMP_PREFIX*TEMP_SUFFIX`` files in ``temp_dir`` (default: the system temp dir) and removes
    those last modified more than ``older_than_s`` ago that no live process has open (Linux: ``/proc/*/fd``;
    elsewhere age alone decides). A live request's download is written continuously and removed when the
    request ends, so it is either fresh or open; call this at start-up, not while serving.
    """
    directory = Path(temp_dir or tempfile.gettempdir())
    if not directory.is_dir():
        return []
    cutoff = time.time() - older_than_s
    candidates = []
    for path in directory.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                candidates.append(path)
    if not candidates:
        return []
    held = _open_files()
    removed = []
    for path in candidates:
        if path.resolve() in held:
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    if removed:
        log.warning("removed %d stale download(s) left in %s by an earlier process", len(removed), directory)
    return removed


def _open_files() -> set[Path]:
    """Every file some live process (that we may inspect) has open, from ``/proc/*/fd``; empty elsewhere."""
    held: set[Path] = set()
    proc = Path("/proc")
    if not proc.is_dir():
        return held
    for fd_dir in proc.glob("[0-9]*/fd"):
        try:
            for fd in fd_dir.iterdir():
                with contextlib.suppress(OSError):
                    held.add(Path(os.readlink(fd)))
        except OSError:
            continue
    return held


__all__ = [
    "FetchPolicy",
    "fetch_pair",
    "fetch_to_file",
    "request_cancel",
    "sweep_stale_downloads",
    "InvalidUrl",
    "MediaLayerError",
]
