"""The ASGI app: routes, auth, concurrency bound, and the one place errors become the error envelope.

``build_app({"image": factory, ...})`` serves ``POST /{medium}/match`` and ``POST /demo/{medium}/match`` for
each medium given (a Lambda passes its own medium; the local server passes all three), plus ``GET /healthz``,
the playground page at ``GET /`` and the OpenAPI document at ``GET /openapi.json``. A factory returns the
medium's :class:`~medialayer.pipeline.FileComparer`; ``None`` means the engine has not landed (501
``not_implemented``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from medialayer.caps import DEFAULT_CAPS, MediaType
from medialayer.envelope import ErrorResponse, MatchRequest, MatchResponse
from medialayer.errors import (
    InternalError,
    InvalidRequest,
    MediaLayerError,
    NotImplementedYet,
    Overloaded,
    RateLimited,
)
from medialayer.fetcher import FetchPolicy
from medialayer.pipeline import FileComparer, match_urls
from medialayer.settings import Settings, get_settings

log = logging.getLogger("medialayer.api")

ComparerFactory = Callable[[], FileComparer] | None
#: Called once per finished request: (medium, http status, error code or None, elapsed ms).
ResultHook = Callable[[str, int, str | None, float], None]

_PLAYGROUND_HTML = (Path(__file__).parent / "playground" / "index.html").read_text(encoding="utf-8")
#: The page loads only itself and the user's two media URLs (images shown side by side).
_PLAYGROUND_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src * data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": desc}
    for status, desc in {
        400: "invalid_request / invalid_url",
        401: "unauthorized",
        413: "file_too_large",
        415: "unsupported_media",
        422: "fetch_failed / duration_too_long",
        429: "rate_limited",
        500: "internal_error",
        501: "not_implemented",
        503: "overloaded",
    }.items()
}


def error_response(exc: MediaLayerError) -> JSONResponse:
    headers = {}
    retry = getattr(exc, "retry_after_s", None)
    if retry is not None:
        headers["Retry-After"] = str(max(1, int(retry)))
    body = ErrorResponse.model_validate({"error": {"code": exc.code, "message": exc.message}})
    return JSONResponse(body.model_dump(), status_code=exc.status, headers=headers)


class _Gate:
    """A non-blocking bound on matches in flight: beyond it, answer 503 at once instead of queueing."""

    def __init__(self, limit: int) -> None:
        self._sem = threading.BoundedSemaphore(limit)

    def __enter__(self) -> _Gate:
        if not self._sem.acquire(blocking=False):
            raise Overloaded("the server is at capacity; retry shortly")
        return self

    def __exit__(self, *exc: object) -> None:
        self._sem.release()


def build_app(
    comparers: dict[MediaType, ComparerFactory],
    *,
    settings: Settings | None = None,
    policy: FetchPolicy | None = None,
    on_result: ResultHook | None = None,
    authorizer: Any | None = None,
) -> FastAPI:
    """Build the API for the given media. Everything else (auth, policy, hooks) defaults from settings."""
    settings = settings or get_settings()
    settings.warn_about_conveniences()
    policy = policy or FetchPolicy.from_settings(settings)
    if authorizer is None:
        from medialayer.auth import build_authorizer

        authorizer = build_authorizer(settings)
    gate = _Gate(settings.max_concurrent_matches)
    cache: dict[str, FileComparer] = {}
    lock = threading.Lock()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        for comparer in cache.values():
            close = getattr(comparer, "close", None)
            if callable(close):
                close()

    app = FastAPI(
        lifespan=lifespan,
        title="MediaLayer Match",
        version="0.1.0",
        description="Compare two images, audio files or videos by URL: how alike they are, and where.",
        responses=_ERROR_RESPONSES,
    )

    def comparer_for(medium: MediaType) -> FileComparer:
        factory = comparers.get(medium)
        if factory is None:
            raise NotImplementedYet(f"{medium} matching is not available yet")
        with lock:
            if medium not in cache:
                cache[medium] = factory()
            return cache[medium]

    async def parse_body(request: Request) -> MatchRequest:
        raw = await request.body()
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidRequest("the body is not valid JSON") from exc
        try:
            return MatchRequest.model_validate(data)
        except ValueError as exc:
            raise InvalidRequest(_describe_validation(exc)) from exc

    async def handle(request: Request, medium: MediaType, *, demo: bool) -> JSONResponse:
        started = time.perf_counter()
        status, code = 200, None
        try:
            client_ip = request.client.host if request.client else "unknown"
            authorizer.authorize(request.headers, client_ip, demo=demo)
            body = await parse_body(request)
            comparer = comparer_for(medium)
            caps = DEFAULT_CAPS[medium].scaled(settings.demo_cap_factor) if demo else DEFAULT_CAPS[medium]
            with gate:
                result: MatchResponse = await run_in_threadpool(
                    match_urls, comparer, body, caps=caps, policy=policy, started=started
                )
            return JSONResponse(result.model_dump(exclude_none=True))
        except MediaLayerError as exc:
            status, code = exc.status, exc.code
            return error_response(exc)
        except Exception:
            log.exception("unexpected error while matching %s", medium)
            status, code = 500, "internal_error"
            return error_response(InternalError("an unexpected error occurred"))
        finally:
            if on_result is not None:
                on_result(medium, status, code, (time.perf_counter() - started) * 1000)

    for medium in comparers:
        _add_routes(app, medium, handle)

    @app.get("/", include_in_schema=False)
    async def playground() -> HTMLResponse:
        """The browser playground; it calls the demo routes of this same deployment."""
        return HTMLResponse(_PLAYGROUND_HTML, headers={"Content-Security-Policy": _PLAYGROUND_CSP})

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "media": sorted(comparers)}

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        err = MediaLayerError(str(exc.detail))
        err.code, err.status = codes.get(exc.status_code, "invalid_request"), exc.status_code
        response = error_response(err)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(InvalidRequest("the request is malformed"))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(InternalError("an unexpected error occurred"))

    return app


def _add_routes(app: FastAPI, medium: MediaType, handle: Callable[..., Any]) -> None:
    """Register ``/{medium}/match`` and ``/demo/{medium}/match`` (documented with the shared models)."""
    doc = {
        "response_model": MatchResponse,
        "response_model_exclude_none": True,
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": MatchRequest.model_json_schema()}},
            }
        },
    }

    async def match(request: Request) -> JSONResponse:
        return await handle(request, medium, demo=False)

    async def demo(request: Request) -> JSONResponse:
        return await handle(request, medium, demo=True)

    app.add_api_route(
        f"/{medium}/match",
        match,
        methods=["POST"],
        summary=f"Compare two {medium} files",
        operation_id=f"match_{medium}",
        **doc,
    )
    app.add_api_route(
        f"/demo/{medium}/match",
        demo,
        methods=["POST"],
        summary=f"Compare two {medium} files (playground; per-IP limit, smaller caps)",
        operation_id=f"demo_match_{medium}",
        **doc,
    )


def _describe_validation(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for err in errors()[:3]:
            where = ".".join(str(p) for p in err.get("loc", ())) or "body"
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        return "invalid request body (" + "; ".join(parts) + ")"
    return "invalid request body"


__all__ = ["build_app", "error_response", "RateLimited"]
