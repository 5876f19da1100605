"""The video comparer the pipeline calls: probe, stage, fan out, align, clean up.

    comparer = build_comparer(get_settings())
    comparison = comparer.compare_files(source_path, target_path, caps)

Both files are probed first (so an over-long or stream-less file fails before anything is uploaded),
then staged under a fresh run prefix, chunked (:func:`~video_match.stages.plan_job`) and handed to the
runner — Step Functions in AWS, a process pool locally. The run prefix is deleted in ``finally`` on
every path; the bucket's lifecycle rule is only the backstop (e.g. for a Lambda killed mid-run).
"""

from __future__ import annotations

import logging
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from medialayer.aws_errors import is_transient_aws_error
from medialayer.calibration import Calibration
from medialayer.caps import MediaCaps, MediaType
from medialayer.engine import Comparison
from medialayer.errors import (
    FILE_FIELDS,
    DurationTooLong,
    InternalError,
    MediaLayerError,
    Overloaded,
    UnsupportedMedia,
    concerning,
)
from medialayer.staging import StagingStore, build_store
from video_match.runners import FanOutRunner, build_runner
from video_match.stages import (
    DURATION_SLACK_S,
    SIDES,
    VideoStageEngine,
    comparison_from_dict,
    info_key,
    media_key,
    plan_job,
)

if TYPE_CHECKING:
    from medialayer.settings import Settings

log = logging.getLogger("video_match.fanout")


class FanOutEngine(VideoStageEngine, Protocol):
    """The engine as the comparer needs it: the stage API plus ``probe``."""

    def probe(self, path: Path, caps: MediaCaps) -> Any: ...

    def calibration(self) -> Calibration: ...


def check_info(info: Any, caps: MediaCaps) -> None:
    """Refuse a file before staging: over the duration cap, or with neither video nor audio."""
    duration = float(getattr(info, "duration_s", 0.0) or 0.0)
    if caps.max_duration_s is not None and duration > caps.max_duration_s + DURATION_SLACK_S:
        raise DurationTooLong(f"the video is longer than {caps.max_duration_s:g} s")
    if not getattr(info, "has_video", False) and not getattr(info, "has_audio", False):
        raise UnsupportedMedia("the file has neither a video nor an audio stream")


class FanOutComparer:
    """Compares two local video files through the fan-out: a
    :class:`~medialayer.pipeline.FileComparer` (``compare_files`` is the pipeline's hook)."""

    media_type: MediaType = "video"

    def __init__(self, engine: FanOutEngine, store: StagingStore, runner: FanOutRunner) -> None:
        self.engine = engine
        self.store = store
        self.runner = runner

    def calibration(self) -> Calibration:
        """The video engine's fitted score mapping."""
        return self.engine.calibration()

    def close(self) -> None:
        """Release the runner's workers (the local process pool); called at server shutdown."""
        close = getattr(self.runner, "close", None)
        if callable(close):
            close()

    def compare_files(self, source: Path, target: Path, caps: MediaCaps) -> Comparison:
        """Compare two fetched, sniffed files; raises our typed errors (a file's own naming its side)."""
        infos = []
        for path, side in zip((source, target), FILE_FIELDS, strict=True):
            with concerning(side):
                info = self.engine.probe(path, caps)
                check_info(info, caps)
            infos.append(info)
        run_prefix = self.store.new_run_prefix()
        try:
            self._stage(run_prefix, (source, target), infos)
            job = plan_job(infos[0], infos[1], run_prefix=run_prefix, caps=caps)
            log.info("video fan-out %s: %d tasks", run_prefix, len(job.tasks))
            return comparison_from_dict(self.runner.run(job))
        finally:
            self._clean_up(run_prefix)

    def _stage(self, run_prefix: str, paths: tuple[Path, Path], infos: list[Any]) -> None:
        """Upload both files (concurrently; each upload streams from disk) and their probe results.

        A store failure becomes a typed error without internals (no bucket, key or AWS message):
        :class:`Overloaded` (503 + ``Retry-After``) when it is transient — throttling (``SlowDown``),
        a 5xx, no connection to the endpoint — and :class:`InternalError` otherwise (``AccessDenied``,
        ``NoSuchBucket``: a misconfiguration). Both uploads have ended when this returns or raises, so
        the caller's clean-up sees everything that was written.
        """

        def stage_one(index: int) -> None:
            side = SIDES[index]
            self.store.put_file(paths[index], media_key(run_prefix, side))
            self.store.put_object(info_key(run_prefix, side), pickle.dumps(infos[index]))

        try:
            with ThreadPoolExecutor(max_workers=2) as pool:  # leaving the block waits for both uploads
                futures = [pool.submit(stage_one, i) for i in range(2)]
            for future in futures:
                future.result()
        except MediaLayerError:
            raise
        except Exception as exc:
            if is_transient_aws_error(exc):
                log.warning("staging run %s failed (transient): %r", run_prefix, exc)
                raise Overloaded("the video service is busy; retry shortly") from None
            log.exception("staging run %s failed", run_prefix)
            raise InternalError("the video could not be compared") from None

    def _clean_up(self, run_prefix: str) -> None:
        try:
            self.store.delete_prefix(run_prefix)
        except Exception:  # the result stands; the lifecycle rule collects what is left
            log.exception("could not delete staged run %s", run_prefix)


def build_comparer(settings: Settings, engine: FanOutEngine | None = None) -> FanOutComparer:
    """S3 + Step Functions when both ``staging_bucket`` and ``state_machine_arn`` are set; otherwise a
    local staging directory and process pool."""
    if engine is None:
        from video_match.engine import VideoEngine

        engine = VideoEngine()
    aws = bool(settings.staging_bucket and settings.state_machine_arn)
    if not aws and (settings.staging_bucket or settings.state_machine_arn):
        log.warning(
            "MEDIALAYER_STAGING_BUCKET and MEDIALAYER_STATE_MACHINE_ARN must be set together; "
            "running the video fan-out locally"
        )
        settings = settings.model_copy(update={"staging_bucket": "", "state_machine_arn": ""})
    store = build_store(settings)
    return FanOutComparer(engine, store, build_runner(settings, store, engine))
