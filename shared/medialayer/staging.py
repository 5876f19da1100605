"""Where the video fan-out keeps media and intermediate signatures between its steps.

One small interface, two implementations: :class:`S3Store` in AWS (the API Lambda uploads the fetched
files, chunk workers download them and write their signatures, the align Lambda reads those) and
:class:`LocalDirStore` on one machine (a directory shared by the local process pool). Everything above
this module is written once against :class:`StagingStore`.

Keys are relative POSIX paths made of ``[A-Za-z0-9._-]`` components (for example
``runs/<hex>/source/media``). Each request works under its own *run prefix* from
:meth:`StagingStore.new_run_prefix` and deletes it when done; an S3 lifecycle rule on ``runs/`` is only
the backstop for runs that died before their clean-up.

Media never passes through memory whole: S3 uploads use ``upload_file`` (multipart, streamed from the
temp file) and downloads ``download_file`` (streamed to disk).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from medialayer.settings import Settings

log = logging.getLogger("medialayer.staging")

#: Every run prefix starts with this; the S3 bucket's lifecycle rule expires objects under it.
RUN_ROOT = "runs"

_COMPONENT = re.compile(r"^[A-Za-z0-9._-]+$")
_DELETE_BATCH = 1000  # S3 DeleteObjects limit


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key, else raise ``ValueError``.

    Refuses empty keys, absolute paths, ``.``/``..`` components and any character outside
    ``[A-Za-z0-9._-]`` per component, so a key can never escape a local root or surprise S3 listing.
    """
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") or not _COMPONENT.match(p) for p in parts):
        raise ValueError(f"invalid staging key: {key!r}")
    return key


def _validate_prefix(prefix: str) -> str:
    """A deletable prefix: a valid key below :data:`RUN_ROOT` (never the whole store)."""
    validate_key(prefix)
    if not prefix.startswith(f"{RUN_ROOT}/"):
        raise ValueError(f"refusing to delete outside {RUN_ROOT}/: {prefix!r}")
    return prefix


def _fresh_run_prefix() -> str:
    return f"{RUN_ROOT}/{uuid.uuid4().hex}"


@runtime_checkable
class StagingStore(Protocol):
    """Blob storage for one fan-out run. Missing objects raise ``KeyError``."""

    def put_file(self, local_path: Path, key: str) -> None:
        """Store the file at ``local_path`` under ``key`` (streamed, never read whole into memory)."""
        ...

    def get_file(self, key: str, dest_dir: Path) -> Path:
        """A local path holding the object's bytes.

        Remote stores download into ``dest_dir``; a local store may return its own file instead of a
        copy. Callers must treat the returned file as read-only and must not delete it.
        """
        ...

    def put_object(self, key: str, data: bytes) -> None:
        """Store a small object (a signature, a manifest) from memory."""
        ...

    def get_object(self, key: str) -> bytes:
        """Read a small object into memory."""
        ...

    def delete_prefix(self, prefix: str) -> None:
        """Delete every object under ``prefix/`` (a run prefix; never anything outside ``runs/``)."""
        ...

    def new_run_prefix(self) -> str:
        """A fresh, unique prefix for one run, e.g. ``runs/3f2a...``."""
        ...


class LocalDirStore:
    """A :class:`StagingStore` in a local directory (``make run``, tests, the local process pool).

    Files are staged by hard link when the temp file is on the same file system (free), else copied;
    callers may delete or replace the original afterwards but must not rewrite it in place.
    ``get_file`` returns the staged file itself: local workers share the disk, so there is nothing to
    download.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def __repr__(self) -> str:
        return f"LocalDirStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def put_file(self, local_path: Path, key: str) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            dest.unlink()
        try:
            os.link(local_path, dest)
        except OSError:
            shutil.copyfile(local_path, dest)

    def get_file(self, key: str, dest_dir: Path) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise KeyError(key)
        return path

    def put_object(self, key: str, data: bytes) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, dest)  # readers never see a half-written object
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def get_object(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self.root / _validate_prefix(prefix), ignore_errors=True)

    def new_run_prefix(self) -> str:
        return _fresh_run_prefix()


class S3Store:
    """A :class:`StagingStore` in one S3 bucket (AWS). ``client`` is a boto3 S3 client."""

    def __init__(self, bucket: str, client: Any) -> None:
        if not bucket:
            raise ValueError("S3Store needs a bucket name")
        self.bucket = bucket
        self.client = client

    def __repr__(self) -> str:
        return f"S3Store({self.bucket!r})"

    def put_file(self, local_path: Path, key: str) -> None:
        self.client.upload_file(str(local_path), self.bucket, validate_key(key))

    def get_file(self, key: str, dest_dir: Path) -> Path:
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / validate_key(key).replace("/", "__")
        try:
            self.client.download_file(self.bucket, key, str(dest))
        except Exception as exc:
            if _is_not_found(exc):
                raise KeyError(key) from None
            raise
        return dest

    def put_object(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=validate_key(key), Body=data)

    def get_object(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=validate_key(key))
        except Exception as exc:
            if _is_not_found(exc):
                raise KeyError(key) from None
            raise
        return response["Body"].read()

    def delete_prefix(self, prefix: str) -> None:
        prefix = _validate_prefix(prefix) + "/"
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
            for start in range(0, len(keys), _DELETE_BATCH):
                batch = keys[start : start + _DELETE_BATCH]
                result = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
                if result.get("Errors"):
                    log.warning("could not delete %d staged objects", len(result["Errors"]))

    def new_run_prefix(self) -> str:
        return _fresh_run_prefix()


def _is_not_found(exc: Exception) -> bool:
    """True for botocore's 404 / NoSuchKey errors (from get_object and from download_file's HEAD)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


def default_local_root() -> Path:
    """Where :class:`LocalDirStore` stages when ``MEDIALAYER_STAGING_DIR`` is unset."""
    return Path(tempfile.gettempdir()) / "medialayer-staging"


def s3_client() -> Any:
    """A boto3 S3 client with bounded, standard-mode retries."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        config=Config(connect_timeout=5, read_timeout=20, retries={"mode": "standard", "max_attempts": 3}),
    )


def build_store(settings: Settings) -> StagingStore:
    """:class:`S3Store` when ``staging_bucket`` is set, else :class:`LocalDirStore`."""
    if settings.staging_bucket:
        return S3Store(settings.staging_bucket, s3_client())
    root = Path(settings.staging_dir) if settings.staging_dir else default_local_root()
    return LocalDirStore(root)
