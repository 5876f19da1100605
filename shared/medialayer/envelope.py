"""The public contract: request and response bodies as pydantic models (they also make the OpenAPI doc)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from medialayer.calibration import Confidence
from medialayer.caps import MediaType
from medialayer.errors import FileField


class MatchRequest(BaseModel):
    """Body of ``POST /{medium}/match``.

    ``details`` is strict: only JSON ``true``/``false`` (``"yes"``, ``1`` or ``"true"`` are refused with 400
    ``invalid_request`` instead of being read as a boolean), as docs/api.md promises for wrong types."""

    model_config = ConfigDict(extra="forbid")

    source_url: str = Field(max_length=2048, description="Public http(s) URL of the first file.")
    target_url: str = Field(max_length=2048, description="Public http(s) URL of the second file.")
    details: StrictBool = Field(
        False, description="`true` adds a `details` object (engine evidence) to the response. JSON booleans only."
    )


class Segment(BaseModel):
    """One aligned stretch, in seconds on each timeline."""

    source_start: float
    source_end: float
    target_start: float
    target_end: float
    score: float = Field(ge=0.0, le=1.0)


class MatchResponse(BaseModel):
    """The envelope every match route returns."""

    match: bool
    confidence: Confidence
    similarity_score: float = Field(ge=0.0, le=1.0)
    processing_time_ms: int = Field(ge=0, description="All server-side work: fetch, decode, match.")
    media_type: MediaType
    matched_segments: list[Segment] = Field(description="Always [] for images.")
    details: dict[str, Any] | None = Field(None, description="Only present when the request asked for `details: true`.")


class ErrorDetail(BaseModel):
    code: str = Field(
        description="Stable code: invalid_request, invalid_url, unauthorized, not_found, method_not_allowed, "
        "request_timeout, request_too_large, fetch_failed, file_too_large, duration_too_long, unsupported_media, "
        "rate_limited, not_implemented, overloaded, internal_error."
    )
    message: str = Field(description="For people; may change. A per-file error's message starts with its `field`.")
    field: FileField | None = Field(
        None,
        description="Which file the error is about: the request field that named it. Present on every per-file "
        "error (invalid_url, fetch_failed, file_too_large, unsupported_media, duration_too_long, and "
        "invalid_request when only that URL field is malformed); absent on errors about the request as a whole, "
        "the caller or the server.",
    )


class ErrorResponse(BaseModel):
    """Body of every non-2xx response."""

    error: ErrorDetail


ErrorCode = Literal[
    "invalid_request",
    "invalid_url",
    "unauthorized",
    "not_found",
    "method_not_allowed",
    "request_timeout",
    "request_too_large",
    "fetch_failed",
    "file_too_large",
    "duration_too_long",
    "unsupported_media",
    "rate_limited",
    "not_implemented",
    "overloaded",
    "internal_error",
]
