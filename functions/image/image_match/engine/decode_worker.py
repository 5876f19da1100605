"""Decode in worker processes under a CPU-time and an address-space limit per job.

A decoder's cost is set by what the file says, not by its size: a 470 KB progressive JPEG can ask for
thousands of scans, a 34-byte WebP for a 196 MB canvas. :mod:`image_match.engine.decode` refuses the
known patterns exactly before decoding (scan count, frame count, a memory estimate); this module is the
backstop for everything else.

Workers are forked from this process on demand (the decoders are already imported: a fork costs ~2 ms
where spawning a fresh interpreter costs ~0.5 s) and kept for later jobs: a fresh fork pays ~10 ms of
copy-on-write faults on its first decode, a warm worker only the round trip over its socket. Each job

* gets a CPU budget: ``ITIMER_PROF`` (process CPU, microsecond resolution) ends the worker with SIGPROF,
  ``RLIMIT_CPU`` (whole seconds, cumulative, so raised per job) with SIGXCPU should the timer be lost;
* gets an address-space budget: ``RLIMIT_AS`` = the worker's size at the start of the job + a small
  allowance for opening the file, raised once to what the decode was estimated to need after the header
  was read. The worker asks the parent for that amount (``{"need": n}``) and the parent reserves it from
  :data:`POOL`, one budget shared by all concurrent decodes of the process, before answering ``go``:
  concurrent hostile files cannot add up beyond the pool, and small decodes never wait for each other;
* writes its luminance plane into the worker's shared anonymous mapping (created before the fork: no copy
  through the socket, no temporary file; its pages are released after every job) and answers with a
  small JSON message (never a pickle: the worker parsed hostile input).

A worker closes every inherited descriptor but its socket (it cannot touch the server's connections),
disables core dumps and freezes the inherited objects out of the cyclic GC. A job that kills its worker
(a limit, a decoder crash) becomes a :class:`WorkerFailed` with a ``kind`` (``cpu``, ``memory``,
``timeout``, ``crash``, ``busy``); the parent kills and reaps such a worker (no zombies) and forks a fresh
one for the next job. Workers that grew after a job retire; idle ones exit when this process does.

Forking a multi-threaded process is safe here because a worker only runs Pillow and numpy on its own
data and never takes a lock another thread could hold (no logging, no OpenCV: the resize runs in the
parent). A C library holding a process-global mutex in another thread at the moment of a fork could
still deadlock the worker; the wall-clock deadline bounds that to a clean error.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import gc
import json
import math
import mmap
import os
import resource
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from medialayer.errors import MediaLayerError

#: Address space a job may grow by before it has asked for its decode budget (open + header parse).
OPEN_ALLOWANCE = 64 * 1024 * 1024
#: Address space a job gets on top of its estimate: Python's own allocations and thread stacks of
#: multi-threaded decoders (reserved, mostly untouched; all threads share one malloc arena).
AS_SLACK = 64 * 1024 * 1024
#: What a job is charged in the pool on top of its estimate (Python's own allocations; the rest of
#: ``AS_SLACK`` is address space that decoders reserve but do not touch).
RSS_SLACK = 16 * 1024 * 1024
#: Memory every job is charged up front: a job whose estimate fits needs no round trip to the parent.
PREPAID = 32 * 1024 * 1024
#: Size of each worker's shared output buffer (virtual: pages exist only while a job uses them).
OUT_BYTES = 50_000_000
#: Idle workers kept for later jobs (a pair decodes two files at once).
MAX_IDLE_WORKERS = 4
#: A worker whose resident memory grew by more than this over a job retires after it.
RETIRE_GROWTH = 64 * 1024 * 1024
#: Longest JSON message either side may send.
MAX_MESSAGE = 64 * 1024
_M_ARENA_MAX = -8  # glibc mallopt(): at most this many malloc arenas (each reserves 64 MB of address space)

#: ``reserve(n_bytes, shared_bytes)``: the job will hold ``n_bytes`` at its peak, ``shared_bytes`` of them in
#: the shared output buffer (mapped before the fork, so outside the address-space allowance).
Reserve = Callable[[int, int], None]
Job = Callable[[dict[str, Any], Reserve, mmap.mmap], dict[str, Any]]

ISOLATION_AVAILABLE = hasattr(os, "fork") and hasattr(resource, "RLIMIT_AS") and os.path.isdir("/proc/self")

_JOBS: dict[str, Job] = {}


def register(name: str, job: Job) -> None:
    """Make ``job`` runnable in workers under ``name`` (register at import time, before any fork)."""
    _JOBS[name] = job


class WorkerFailed(Exception):
    """The job's worker died or overran; ``kind`` says how (``cpu``, ``memory``, ``timeout``, ``crash``,
    ``busy``)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


class MemoryPool:
    """A process-wide budget in bytes: concurrent decodes reserve their estimate from it before loading."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._used = 0
        self._cond = threading.Condition()

    def acquire(self, n: int, timeout: float) -> bool:
        n = min(n, self.total)
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._used + n > self.total:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            self._used += n
            return True

    def release(self, n: int) -> None:
        n = min(n, self.total)
        with self._cond:
            self._used = max(0, self._used - n)
            self._cond.notify_all()

    @property
    def used(self) -> int:
        return self._used


#: All decodes of this process together: at most this much memory above idle (estimates + ``RSS_SLACK``;
#: with the untouched part of ``AS_SLACK``, two concurrent decodes stay under 600 MB whatever the files).
POOL = MemoryPool(480 * 1024 * 1024)

try:
    _LIBC: Any = ctypes.CDLL(ctypes.util.find_library("c") or None)
    _MALLOPT: Any = getattr(_LIBC, "mallopt", None)
    _MALLOC_TRIM: Any = getattr(_LIBC, "malloc_trim", None)
except OSError:  # pragma: no cover - no libc to load
    _MALLOPT = _MALLOC_TRIM = None


@contextmanager
def run_isolated(
    job: str,
    args: dict[str, Any],
    *,
    cpu_s: float,
    stall_s: float,
    wall_s: float,
    open_bytes: int = 0,
    pool: MemoryPool | None = None,
    pool_wait_s: float = 20.0,
) -> Iterator[tuple[dict[str, Any], mmap.mmap]]:
    """Run the registered ``job(args, reserve, out)`` in a worker; yield its JSON result and ``out``.

    The worker is killed after ``stall_s`` without using CPU (stuck: a CPU-starved worker on a busy host
    keeps going, its CPU limit bounds it) or ``wall_s`` in all.
    The job must call ``reserve(n_bytes, shared_bytes)`` before it allocates anything large. A
    :class:`MediaLayerError` raised by the job is re-raised here with its class and message; every other
    failure is a :class:`WorkerFailed`. ``out`` is valid inside the ``with`` block only (drop views of it
    before leaving).
    """
    pool = pool or POOL
    if not pool.acquire(PREPAID + RSS_SLACK, pool_wait_s):
        raise WorkerFailed("busy", "decode memory pool exhausted")
    reserved = PREPAID + RSS_SLACK
    asked = False
    healthy = False
    worker: _Worker | None = None
    try:
        worker = _WORKERS.take()
        worker.send({"job": job, "args": args, "cpu_s": cpu_s, "open_bytes": open_bytes, "prepaid": PREPAID})
        deadline = time.monotonic() + wall_s
        while True:
            msg = worker.receive(deadline, stall_s)
            if "need" in msg:
                if asked:
                    raise WorkerFailed("crash", "asked twice")
                asked = True
                extra = max(0, int(msg["need"]) - PREPAID)
                if not pool.acquire(extra, pool_wait_s):
                    raise WorkerFailed("busy", "decode memory pool exhausted")
                reserved += extra
                worker.send({"go": True})
                continue
            worker.retire = bool(msg.get("retire"))
            if "error" in msg:
                healthy = True
                raise _rebuild_error(msg)
            if not isinstance(msg.get("ok"), dict):
                raise WorkerFailed("crash", "malformed message")
            healthy = True
            break
        yield msg["ok"], worker.out
    finally:
        if worker is not None:
            worker.clear_output()
            if healthy and not worker.retire:
                _WORKERS.give_back(worker)
            else:
                worker.stop(kill=not healthy)
        pool.release(reserved)


def workers_alive() -> list[int]:
    """Pids of this process's idle workers (for tests and diagnostics)."""
    return _WORKERS.pids()


def shutdown() -> None:
    """Stop and reap every idle worker (also runs at exit)."""
    _WORKERS.shutdown()


# --- parent side ---------------------------------------------------------------------------------------


class _Worker:
    def __init__(self) -> None:
        self.out = mmap.mmap(-1, OUT_BYTES)  # MAP_SHARED | MAP_ANONYMOUS: the worker's writes are ours
        self.sock, theirs = socket.socketpair()
        self.retire = False
        self._buf = bytearray()
        try:
            self.pid = os.fork()
        except OSError as exc:
            self.sock.close()
            theirs.close()
            self.out.close()
            raise WorkerFailed("busy", "fork failed") from exc
        if self.pid == 0:  # the worker: never returns
            _serve(theirs, self.out)
        theirs.close()

    def send(self, msg: dict[str, Any]) -> None:
        try:
            self.sock.sendall(_encode(msg))
        except OSError as exc:
            raise self._death() from exc

    def receive(self, deadline: float, stall_s: float) -> dict[str, Any]:
        cpu, progress_at = _cpu_ticks(self.pid), time.monotonic()
        while b"\n" not in self._buf:
            now = time.monotonic()
            if now >= deadline:
                raise WorkerFailed("timeout", "no answer before the deadline")
            self.sock.settimeout(min(deadline - now, 0.25))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                ticks = _cpu_ticks(self.pid)
                if ticks != cpu:
                    cpu, progress_at = ticks, time.monotonic()
                elif time.monotonic() - progress_at >= stall_s:
                    raise WorkerFailed("timeout", "the worker stopped making progress") from None
                continue
            except OSError:
                chunk = b""
            if not chunk:
                raise self._death()
            self._buf += chunk
            if len(self._buf) > MAX_MESSAGE:
                raise WorkerFailed("crash", "oversized message")
        end = self._buf.index(b"\n")
        line, self._buf = bytes(self._buf[:end]), self._buf[end + 1 :]
        return _decode(line)

    def clear_output(self) -> None:
        """Give the output buffer's pages back (shared memory stays resident until removed)."""
        try:
            self.out.madvise(mmap.MADV_REMOVE)
        except (OSError, ValueError, AttributeError):  # pragma: no cover - not Linux, or closed
            pass

    def _death(self) -> WorkerFailed:
        """How a worker that closed its socket without an answer ended (reaps it)."""
        self.retire = True
        status = _waitpid(self.pid, block=True)
        self.pid = -1
        if status is None:
            return WorkerFailed("crash", "no exit status")
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig in (signal.SIGPROF, signal.SIGXCPU):
                return WorkerFailed("cpu", signal.Signals(sig).name)
            if sig == signal.SIGKILL:  # the kernel's OOM killer (our own kills never get here)
                return WorkerFailed("memory", "killed")
            return WorkerFailed("crash", f"signal {sig}")
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
        return WorkerFailed("memory" if code == _EXIT_NO_MEMORY else "crash", f"exit {code}")

    def stop(self, *, kill: bool) -> None:
        """End the worker and reap it: closing its socket asks it to exit; ``kill`` does not wait."""
        self.sock.close()
        if self.pid > 0:
            if kill:
                _kill(self.pid)
            else:
                for delay in (0.0005, 0.002, 0.01, 0.05, 0.2):
                    if _waitpid(self.pid, block=False) is not None:
                        self.pid = -1
                        break
                    time.sleep(delay)
                else:
                    _kill(self.pid)
            if self.pid > 0:
                _waitpid(self.pid, block=True)
            self.pid = -1
        self.out.close()


class _Workers:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._owner = os.getpid()

    def take(self) -> _Worker:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return _Worker()

    def give_back(self, worker: _Worker) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE_WORKERS and os.getpid() == self._owner:
                self._idle.append(worker)
                return
        worker.stop(kill=False)

    def pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in self._idle]

    def shutdown(self) -> None:
        if os.getpid() != self._owner:
            return
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop(kill=False)

    def forget(self) -> None:
        """In a forked child: these workers belong to the parent; drop our copies of their channels."""
        for worker in self._idle:
            try:
                worker.sock.close()
            except OSError:
                pass
        self._idle = []
        self._lock = threading.Lock()
        self._owner = os.getpid()


_WORKERS = _Workers()
atexit.register(_WORKERS.shutdown)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_WORKERS.forget)


def _cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (-1 if unknown)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return -1


def _waitpid(pid: int, *, block: bool) -> int | None:
    try:
        got, status = os.waitpid(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:  # SIGCHLD ignored by the host: the kernel reaped it
        return 0
    return status if got else None


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _rebuild_error(msg: dict[str, Any]) -> Exception:
    from medialayer import errors

    name, text = str(msg.get("error")), str(msg.get("message", ""))[:500]
    if name == "WorkerFailed":
        return WorkerFailed(str(msg.get("kind", "crash")), text)
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, MediaLayerError) and cls.status < 500:
        return cls(text)
    return WorkerFailed("crash", name)


def _encode(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode() + b"\n"


def _decode(line: bytes) -> dict[str, Any]:
    try:
        msg = json.loads(line)
    except ValueError as exc:
        raise WorkerFailed("crash", "malformed message") from exc
    if not isinstance(msg, dict):
        raise WorkerFailed("crash", "malformed message")
    return msg


# --- worker side ---------------------------------------------------------------------------------------

_EXIT_NO_MEMORY = 3


def _serve(sock: socket.socket, out: mmap.mmap) -> None:
    """The worker's loop: one job per message until the parent closes the socket."""
    code = 1
    try:
        gc.freeze()  # inherited objects: never collected (no finalizer of the parent's runs here), no COW
        _close_inherited(sock.fileno())
        for sig in (signal.SIGPROF, signal.SIGXCPU, signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if _MALLOPT is not None:  # threads of a decoder share the main arena
            _MALLOPT(_M_ARENA_MAX, 1)
        reader = _LineReader(sock)
        idle = _resident()
        while True:
            request = reader.read()
            if request is None:
                break
            msg = _run_job(sock, reader, request, out)
            if _MALLOC_TRIM is not None:
                _MALLOC_TRIM(0)
            if _resident() > idle + RETIRE_GROWTH:
                msg["retire"] = True
            sock.sendall(_encode(msg))
            if msg.get("retire"):
                break
        code = 0
    except MemoryError:
        code = _EXIT_NO_MEMORY
    except BaseException:  # a worker must never return into the parent's code
        code = 1
    finally:
        os._exit(code)


def _run_job(sock: socket.socket, reader: _LineReader, request: dict[str, Any], out: mmap.mmap) -> dict[str, Any]:
    cpu_s = float(request.get("cpu_s", 1.0))
    base = _address_space()
    used = resource.getrusage(resource.RUSAGE_SELF)
    seconds = math.ceil(used.ru_utime + used.ru_stime + cpu_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, resource.getrlimit(resource.RLIMIT_CPU)[1]))
    _set_as(base + OPEN_ALLOWANCE + int(request.get("open_bytes", 0)))

    prepaid = int(request.get("prepaid", 0))

    def reserve(n: int, shared: int = 0) -> None:
        if n > prepaid:  # beyond what the parent charged up front: ask for the rest
            sock.sendall(_encode({"need": int(n)}))
            answer = reader.read()
            if not answer or not answer.get("go"):
                raise WorkerFailed("busy", "no budget")
        _set_as(base + max(0, int(n) - int(shared)) + AS_SLACK)

    signal.setitimer(signal.ITIMER_PROF, cpu_s)
    try:
        job = _JOBS[str(request["job"])]
        return {"ok": job(dict(request["args"]), reserve, out)}
    except MediaLayerError as exc:
        return {"error": type(exc).__name__, "message": exc.message}
    except WorkerFailed as exc:
        return {"error": "WorkerFailed", "kind": exc.kind, "message": str(exc), "retire": True}
    except MemoryError:
        return {"error": "WorkerFailed", "kind": "memory", "message": "out of memory", "retire": True}
    except Exception:  # a job's own bug: report it, then start afresh
        return {"error": "WorkerFailed", "kind": "crash", "message": "job failed", "retire": True}
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        _set_as(resource.RLIM_INFINITY)


class _LineReader:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = b""

    def read(self) -> dict[str, Any] | None:
        while b"\n" not in self._buf:
            chunk = self._sock.recv(65536)
            if not chunk or len(self._buf) > MAX_MESSAGE:
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return _decode(line)


def _close_inherited(keep: int) -> None:
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # pragma: no cover - /proc is checked in ISOLATION_AVAILABLE
        fds = list(range(3, 4096))
    for fd in fds:
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _address_space() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[0]) * mmap.PAGESIZE


def _resident() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * mmap.PAGESIZE


def _set_as(limit: int) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY and (limit == resource.RLIM_INFINITY or limit > hard):
        limit = hard
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
