"""Helpers shared by the security suites, the fuzz targets and the load test.

* :class:`ConnectRecorder` — every outgoing ``connect()`` and every ``getaddrinfo`` call, recorded; connects
  to the "public" addresses a fake resolver hands out are intercepted (refused locally, never dialled).
* :func:`fake_resolver` — a ``FetchPolicy(resolver=...)`` from a table, optionally answering differently
  on each call (DNS rebinding).
* :class:`CalibratedComparer` — a real engine behind the pipeline with a stand-in calibration when the
  engine's fitted ``calibration.json`` has not landed yet (the security suites test errors, not scores).
* :func:`security_app` — the real API (``build_app``) with auth off, a temp dir to watch, an explicit
  allow-list and an injected resolver.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medialayer.calibration import Calibration
from medialayer.caps import MediaCaps, MediaType
from medialayer.engine import Comparison
from medialayer.errors import FetchFailed
from medialayer.fetcher import FetchPolicy
from medialayer.pipeline import EngineComparer

#: Addresses the fake resolvers hand out for "public" names (documentation-like, globally routable).
PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1::1"


def stand_in_calibration(medium: str) -> Calibration:
    return Calibration(
        medium=medium, version="security-test", raw_floor=0, raw_clear=0.2, raw_match=0.5, raw_high=0.8, raw_top=1
    )


def fake_resolver(
    table: dict[str, Sequence[str] | Callable[[int], Sequence[str]]],
    calls: list[str] | None = None,
) -> Callable[[str, int], list[str]]:
    """A resolver for ``FetchPolicy``. A table value may be a function of the call number (rebinding)."""
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def resolve(host: str, port: int) -> list[str]:
        with lock:
            n = counts.get(host, 0)
            counts[host] = n + 1
            if calls is not None:
                calls.append(host)
        answer = table.get(host)
        if answer is None:
            raise FetchFailed("the URL's host name could not be resolved")
        return list(answer(n) if callable(answer) else answer)

    return resolve


@dataclass
class ConnectRecorder:
    """Records every socket connect and every system DNS look-up made while active.

    Connects to non-loopback addresses are *intercepted*: recorded, then refused with
    ``ConnectionRefusedError`` before any packet leaves (the suite's loopback guard stays underneath as
    a second net). ``getaddrinfo`` of a non-numeric name is recorded and answered with ``rebind_to`` (an
    attacker's second DNS answer), so a fetcher that re-resolved instead of using the vetted address
    would be caught connecting there.
    """

    rebind_to: str = "127.0.0.1"
    connects: list[tuple[str, int]] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)

    def off_loopback(self) -> list[tuple[str, int]]:
        return [c for c in self.connects if not _is_loopback(c[0])]

    def to_port(self, port: int) -> list[tuple[str, int]]:
        return [c for c in self.connects if c[1] == port]

    @contextmanager
    def active(self) -> Iterator[ConnectRecorder]:
        real_connect = socket.socket.connect  # the suite's guarded connect
        real_gai = socket.getaddrinfo
        recorder = self

        def connect(sock: socket.socket, address: Any) -> Any:
            if isinstance(address, tuple) and address:
                host = str(address[0]).split("%", 1)[0]
                recorder.connects.append((host, int(address[1])))
                if not _is_loopback(host):
                    raise ConnectionRefusedError(111, f"intercepted by the test: {host}")
            return real_connect(sock, address)

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else str(host)
            try:
                ipaddress.ip_address(name.split("%", 1)[0])
            except ValueError:
                recorder.lookups.append(name)
                return real_gai(recorder.rebind_to, port, *args, **kwargs)
            return real_gai(host, port, *args, **kwargs)

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
        try:
            yield self
        finally:
            socket.socket.connect = real_connect  # type: ignore[method-assign]
            socket.getaddrinfo = real_gai  # type: ignore[assignment]


def _is_loopback(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


class CalibratedComparer(EngineComparer):
    """The real engine; a stand-in calibration only while the fitted file is missing."""

    def calibration(self) -> Calibration:
        try:
            return self.engine.calibration()
        except Exception:
            return stand_in_calibration(self.media_type)


def real_comparer(medium: MediaType) -> Callable[[], Any]:
    """A factory for ``build_app``: the real image/audio engine, or the local video fan-out."""

    def factory() -> Any:
        if medium == "image":
            from image_match.engine import ImageEngine

            return CalibratedComparer(ImageEngine())
        if medium == "audio":
            from audio_match.engine import AudioEngine

            return CalibratedComparer(AudioEngine())
        raise ValueError(medium)

    return factory


class EchoComparer:
    """A stand-in comparer (the fetch layer is under test): 1.0 for identical bytes, else 0.0."""

    def __init__(self, medium: MediaType = "image") -> None:
        self.media_type = medium

    def compare_files(self, source: Path, target: Path, caps: MediaCaps) -> Comparison:
        same = Path(source).read_bytes() == Path(target).read_bytes()
        return Comparison(raw_score=1.0 if same else 0.0)

    def calibration(self) -> Calibration:
        return stand_in_calibration(self.media_type)


def leftovers(directory: Path) -> list[Path]:
    return sorted(p for p in Path(directory).rglob("*") if p.is_file()) if Path(directory).exists() else []


def policy(
    allowlist: Sequence[str] = (),
    resolver: Callable[[str, int], list[str]] | None = None,
    temp_dir: str = "",
    **kw: Any,
) -> FetchPolicy:
    base: dict[str, Any] = dict(
        allowlist=frozenset(allowlist),
        temp_dir=temp_dir,
        connect_timeout_s=2.0,
        read_timeout_s=1.0,
        total_timeout_s=4.0,
    )
    base.update(kw)
    if resolver is not None:
        base["resolver"] = resolver
    return FetchPolicy(**base)


class PeakRss:
    """Samples the RSS of a process and its children (ffmpeg) every few ms; ``peak_delta`` in bytes.

    ``with PeakRss() as m: ...; m.peak_delta`` — the highest (self + children) RSS seen above the level
    at entry. A sampler cannot see a spike shorter than its period; the rlimits in ``medialayer.ffmpeg``
    and Pillow's header checks are the hard bounds, this is the measurement.
    """

    def __init__(self, pid: int | None = None, period_s: float = 0.005) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.period_s = period_s
        self.baseline = 0
        self.peak = 0
        self.at_peak = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def total(self) -> int:
        import psutil

        own = self.proc.memory_info().rss
        mine = self.proc.cmdline()
        kids: list[str] = []
        total = own
        for child in self.proc.children(recursive=True):
            try:
                if child.cmdline() == mine:
                    # forked for subprocess (preexec_fn) but not yet exec'd: its RSS is our shared pages
                    continue
                rss = child.memory_info().rss
                total += rss
                kids.append(f"{child.name()}:{rss // 2**20}MB")
            except psutil.Error:
                pass
        if total > self.peak:
            self.at_peak = f"self {own // 2**20} MB, children {kids}"
        return int(total)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.total())
            except Exception:
                pass
            self._stop.wait(self.period_s)

    @property
    def peak_delta(self) -> int:
        return max(0, self.peak - self.baseline)

    def __enter__(self) -> PeakRss:
        self.baseline = self.total()
        self.peak = self.baseline
        self.at_base = self.at_peak
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.peak = max(self.peak, self.total())
