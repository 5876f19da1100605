"""Who schedules the video fan-out: a local process pool or the Step Functions state machine.

Both take the same :class:`~video_match.stages.FanOutJob`, run its tasks in parallel through
:func:`~video_match.stages.run_task`, then :func:`~video_match.stages.run_align`, and return the
comparison as JSON-able data — or raise our typed :class:`~medialayer.errors.MediaLayerError`.
No stage logic lives here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import signal
import threading
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Protocol

from medialayer.errors import InternalError, MediaLayerError, Overloaded
from medialayer.staging import StagingStore
from video_match.stages import (
    ChunkTask,
    FanOutJob,
    VideoStageEngine,
    error_from_stage,
    run_align,
    run_task,
)

if TYPE_CHECKING:
    from medialayer.settings import Settings

log = logging.getLogger("video_match.runners")

#: Express state payload limit (the execution input is one state's input).
MAX_INPUT_BYTES = 256 * 1024
#: The API Gateway integration times out at 30 s; never wait on Step Functions longer than this.
SYNC_READ_TIMEOUT_S = 29.0
#: Local runs have no gateway in front, but must still end.
LOCAL_TIMEOUT_S = 240.0

_THROTTLING = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "Lambda.TooManyRequestsException",
        "States.Throttled",
        "ExecutionLimitExceeded",
    }
)
_TOO_SLOW = "the video comparison did not finish in time"
_FAILED = "the video could not be compared"


class FanOutRunner(Protocol):
    """Runs one fan-out job to its comparison."""

    def run(self, job: FanOutJob) -> dict[str, Any]:
        """Run every task of ``job`` in parallel, then align; return the comparison as JSON-able data.

        Raises :class:`~medialayer.errors.MediaLayerError` (a worker's typed error, ``overloaded`` when
        throttled, ``internal_error`` otherwise). When it returns or raises, no task is still writing.
        """
        ...


# --- local -----------------------------------------------------------------------------------------

_worker_store: StagingStore | None = None
_worker_engine: VideoStageEngine | None = None


def _init_worker(store: StagingStore, engine: VideoStageEngine) -> None:
    """Process-pool initializer: each worker process receives the store and engine once."""
    global _worker_store, _worker_engine
    _worker_store, _worker_engine = store, engine


def _task_in_worker(task: dict[str, Any]) -> str:
    assert _worker_store is not None and _worker_engine is not None
    return run_task(ChunkTask.from_dict(task), _worker_store, _worker_engine)


def _align_in_worker(run_prefix: str, manifest: dict[str, Any]) -> dict[str, Any]:
    assert _worker_store is not None and _worker_engine is not None
    return run_align(run_prefix, manifest, _worker_store, _worker_engine)


class LocalPoolRunner:
    """The fan-out in a local :class:`ProcessPoolExecutor` (``spawn``: safe under a threaded server).

    The pool is created on first use and kept for later runs; :meth:`close` shuts it down. A run that
    times out or loses a worker process terminates the pool (so nothing keeps writing into a run that
    is being cleaned up) and the next run starts a fresh one.
    """

    def __init__(
        self,
        store: StagingStore,
        engine: VideoStageEngine,
        workers: int = 2,
        *,
        timeout_s: float = LOCAL_TIMEOUT_S,
    ) -> None:
        self.store = store
        self.engine = engine
        self.workers = workers
        self.timeout_s = timeout_s
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _get_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(self.store, self.engine),
                )
            return self._pool

    def _kill_pool(self, pool: ProcessPoolExecutor) -> None:
        """Stop a pool whose workers may still be busy: kill the processes we started, then drop it."""
        with self._lock:
            if self._pool is pool:
                self._pool = None
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            if process.is_alive() and process.pid:
                with contextlib.suppress(ProcessLookupError):  # it may exit between the check and the kill
                    os.kill(process.pid, signal.SIGKILL)
        pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        """Shut the pool down (waits for running tasks)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def run(self, job: FanOutJob) -> dict[str, Any]:
        pool = self._get_pool()
        try:
            futures = [pool.submit(_task_in_worker, task.to_dict()) for task in job.tasks]
            self._wait_all(pool, futures)
            align = pool.submit(_align_in_worker, job.run_prefix, job.manifest)
            self._wait_all(pool, [align])
            return align.result()
        except BrokenProcessPool as exc:
            self._kill_pool(pool)
            raise InternalError(_FAILED) from exc

    def _wait_all(self, pool: ProcessPoolExecutor, futures: list[Future[Any]]) -> None:
        """Wait for every future; on the first failure cancel the rest, let running ones finish, raise."""
        done, pending = wait(futures, timeout=self.timeout_s, return_when=FIRST_EXCEPTION)
        failed = next((f for f in futures if f in done and f.exception() is not None), None)
        if failed is None and pending:
            self._kill_pool(pool)
            raise InternalError(_TOO_SLOW)
        if failed is None:
            return
        for future in pending:
            future.cancel()
        _, still_running = wait(pending, timeout=self.timeout_s)
        if still_running:
            self._kill_pool(pool)
        exc = failed.exception()
        if isinstance(exc, MediaLayerError):
            raise exc
        if isinstance(exc, BrokenProcessPool):
            raise exc
        log.error("fan-out task crashed: %r", exc)
        raise InternalError(_FAILED) from exc


# --- AWS Step Functions ----------------------------------------------------------------------------


def error_from_outcome(status: str, error: str | None, cause: str | None) -> MediaLayerError:
    """The typed error for a FAILED / TIMED_OUT / ABORTED execution."""
    if status == "TIMED_OUT" or error == "States.Timeout":
        return InternalError(_TOO_SLOW)
    ours = error_from_stage(error, cause)
    if ours is not None:
        return ours
    if error in _THROTTLING:
        return Overloaded("the service is busy; retry shortly")
    return InternalError(_FAILED)


def result_from_execution(response: dict[str, Any]) -> dict[str, Any]:
    """The comparison from a ``StartSyncExecution`` response, or the typed error it stands for."""
    status = str(response.get("status", ""))
    if status == "SUCCEEDED":
        try:
            output = json.loads(response.get("output") or "")
        except ValueError as exc:
            raise InternalError(_FAILED) from exc
        if not isinstance(output, dict):
            raise InternalError(_FAILED)
        return output
    error, cause = response.get("error"), response.get("cause")
    log.warning("video fan-out %s: error=%s cause=%.500s", status or "unknown", error, cause or "")
    raise error_from_outcome(status, error, cause)


class StepFunctionsRunner:
    """The fan-out as one synchronous Express execution (``StartSyncExecution``).

    ``client`` is a boto3 ``stepfunctions`` client (see :func:`sfn_client`: read timeout just under the
    gateway's 30 s, no client retries — a retried sync start would redo the whole job).
    """

    def __init__(self, client: Any, state_machine_arn: str) -> None:
        if not state_machine_arn:
            raise ValueError("StepFunctionsRunner needs a state machine ARN")
        self.client = client
        self.state_machine_arn = state_machine_arn

    def run(self, job: FanOutJob) -> dict[str, Any]:
        payload = json.dumps(job.to_input(), separators=(",", ":"))
        if len(payload.encode()) > MAX_INPUT_BYTES:
            raise InternalError(_FAILED)
        try:
            response = self.client.start_sync_execution(stateMachineArn=self.state_machine_arn, input=payload)
        except Exception as exc:
            raise _client_error(exc) from exc
        return result_from_execution(response)


def _client_error(exc: Exception) -> MediaLayerError:
    """Map a botocore failure of the start call itself."""
    response = getattr(exc, "response", None)
    code = str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
    if code in _THROTTLING:
        return Overloaded("the service is busy; retry shortly")
    if type(exc).__name__ in ("ReadTimeoutError", "ConnectTimeoutError"):
        return InternalError(_TOO_SLOW)
    log.error("StartSyncExecution failed: %r", exc)
    return InternalError(_FAILED)


def sfn_client() -> Any:
    """A boto3 Step Functions client bounded for synchronous use behind API Gateway."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "stepfunctions",
        config=Config(connect_timeout=3, read_timeout=SYNC_READ_TIMEOUT_S, retries={"total_max_attempts": 1}),
    )


def build_runner(settings: Settings, store: StagingStore, engine: VideoStageEngine) -> FanOutRunner:
    """Step Functions when ``state_machine_arn`` is set, else the local pool over ``store``."""
    if settings.state_machine_arn:
        return StepFunctionsRunner(sfn_client(), settings.state_machine_arn)
    return LocalPoolRunner(store, engine, settings.local_workers)
