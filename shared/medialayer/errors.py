"""Typed errors, each with a stable public code and HTTP status.

Raise these anywhere below the edge; :mod:`medialayer.api` maps them once to the error envelope
``{"error": {"code", "message", "field"}}``. Messages are written for API users: never put paths, stack
traces, addresses we resolved or other internals in them.

**Which file.** A failure that belongs to one of the two files (its URL refused, its download failed, it is
too large, too long or not a supported format) carries ``field`` — ``"source_url"`` or ``"target_url"``,
the request field that named the file — and its message starts with that name (``"target_url: the server
answered HTTP 404"``). Code that handles one file wraps its work in :func:`concerning`; the innermost side
wins. The prefix is also what carries the side across boundaries that keep only a message (the video
fan-out's Step Functions errors: :func:`field_named_in`). Errors about the request as a whole, the caller or
the server (auth, limits, overload, a bug) have no field.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal, get_args

FileField = Literal["source_url", "target_url"]
#: The request fields that name a file, in request order (source first).
FILE_FIELDS: tuple[FileField, ...] = get_args(FileField)
#: The pipeline's names for the two sides -> the request field that names that file.
SIDE_FIELDS: dict[str, FileField] = {"source": "source_url", "target": "target_url"}


class MediaLayerError(Exception):
    """Base class: a failure with a stable ``code`` and HTTP ``status`` (and, per file, a ``field``)."""

    code: str = "internal_error"
    status: int = 500

    def __init__(self, message: str, *, field: FileField | None = None) -> None:
        """``field`` marks a message that already names the file itself; otherwise use :meth:`about`."""
        super().__init__(message)
        self.message = message
        self.field: FileField | None = field

    def about(self, field: FileField) -> MediaLayerError:
        """Say which file this error is about: set ``field`` and prefix the message with it, once (the
        first, innermost call wins; a message that already starts with the prefix is not prefixed again)."""
        if self.field is None:
            self.field = field
            if field_named_in(self.message) != field:
                self.message = f"{field}: {self.message}"
                self.args = (self.message,)
        return self


def field_named_in(message: str) -> FileField | None:
    """The file field a public message starts with (``"target_url: ..."``), or None."""
    for field in FILE_FIELDS:
        if message.startswith(f"{field}: "):
            return field
    return None


@contextlib.contextmanager
def concerning(field: FileField) -> Iterator[None]:
    """Tag every typed error raised inside the block as being about ``field``'s file."""
    try:
        yield
    except MediaLayerError as exc:
        exc.about(field)
        raise


class InvalidRequest(MediaLayerError):
    code, status = "invalid_request", 400


class InvalidUrl(MediaLayerError):
    code, status = "invalid_url", 400


class Unauthorized(MediaLayerError):
    code, status = "unauthorized", 401


class FileTooLarge(MediaLayerError):
    code, status = "file_too_large", 413


class RequestTooLarge(MediaLayerError):
    """The request *body* is over the API's body limit (a body is not a file: see ``file_too_large``)."""

    code, status = "request_too_large", 413


class RequestTimeout(MediaLayerError):
    """The client did not finish sending its request body in time."""

    code, status = "request_timeout", 408


class UnsupportedMedia(MediaLayerError):
    code, status = "unsupported_media", 415


class FetchFailed(MediaLayerError):
    code, status = "fetch_failed", 422


class DurationTooLong(MediaLayerError):
    code, status = "duration_too_long", 422


class RateLimited(MediaLayerError):
    code, status = "rate_limited", 429

    def __init__(self, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class NotImplementedYet(MediaLayerError):
    code, status = "not_implemented", 501


class Overloaded(MediaLayerError):
    """The server is at capacity; the client should retry later."""

    code, status = "overloaded", 503

    def __init__(self, message: str, retry_after_s: int | None = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class InternalError(MediaLayerError):
    code, status = "internal_error", 500


ALL_ERRORS: tuple[type[MediaLayerError], ...] = (
    InvalidRequest,
    InvalidUrl,
    Unauthorized,
    FileTooLarge,
    RequestTooLarge,
    RequestTimeout,
    UnsupportedMedia,
    FetchFailed,
    DurationTooLong,
    RateLimited,
    NotImplementedYet,
    Overloaded,
    InternalError,
)
