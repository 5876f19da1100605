"""The public contract: request and response bodies as pydantic models (they also make the OpenAPI doc)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from medialayer.calibration import Confidence
from medialayer.caps import MediaType


class MatchRequest(BaseModel):
    """Body of ``POST /{medium}/match``."""

    model_config = ConfigDict(extra="forbid")

    source_url: str = Field(max_length=2048, description="Public http(s) URL of the first file.")
    target_url: str = Field(max_length=2048, description="Public http(s) URL of the second file.")
    details: bool = Field(False, description="Add a `details` object (engine evidence) to the response.")


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
        description="Stable code: invalid_request, invalid_url, unauthorized, fetch_failed, file_too_large, "
        "duration_too_long, unsupported_media, rate_limited, not_implemented, overloaded, internal_error."
    )
    message: str


class ErrorResponse(BaseModel):
    """Body of every non-2xx response."""

    error: ErrorDetail


ErrorCode = Literal[
    "invalid_request",
    "invalid_url",
    "unauthorized",
    "fetch_failed",
    "file_too_large",
    "duration_too_long",
    "unsupported_media",
    "rate_limited",
    "not_implemented",
    "overloaded",
    "internal_error",
]
