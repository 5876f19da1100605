"""Typed errors, each with a stable public code and HTTP status.

Raise these anywhere below the edge; :mod:`medialayer.api` maps them once to the error envelope
``{"error": {"code", "message"}}``. Messages are written for API users: never put paths, stack traces,
addresses we resolved or other internals in them.
"""

from __future__ import annotations


class MediaLayerError(Exception):
    """Base class: a failure with a stable ``code`` and HTTP ``status``."""

    code: str = "internal_error"
    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
