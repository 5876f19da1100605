"""The ASGI app: routes, auth, concurrency bound, and the one place errors become the error envelope.

``build_app({"image": factory, ...})`` serves ``POST /{medium}/match`` and ``POST /demo/{medium}/match`` for
each medium given (a Lambda passes its own medium; the local server passes all three), plus ``GET /healthz``,
the playground page at ``GET /`` and the OpenAPI document at ``GET /openapi.json``. A factory returns the
medium's :class:`~medialayer.pipeline.FileComparer`; ``None`` means the engine has not landed (501
``not_implemented``).

The edge (issue 13), in the order a request meets it:

* **Body limit** (every route, :class:`BodyLimit`): a ``Content-Length`` over ``max_body_bytes`` (16 KiB) is
  ``413 request_too_large`` before a byte of the body is read; a chunked body is counted as it streams and
  refused at the cap. The connection is closed after such a refusal. The whole body must arrive within
  ``body_timeout_s`` (``408 request_timeout``).
* **Demo in-flight cap**: at most ``demo_max_in_flight_per_ip`` demo requests per client address at once
  (IPv6: per /64); beyond it ``429 rate_limited`` with ``Retry-After``, before the per-window counter and
  before a global slot is taken. The client address is the TCP peer (or API Gateway's ``sourceIp``);
  forwarded headers are believed only from ``trusted_proxies``, in the server (``medialayer_local.server``).
* **JSON**: parsed by :func:`parse_match_body` with a nesting-depth pre-scan and digit limits, so deep
  nesting or a 5,000-digit number is ``400 invalid_request``, never a ``RecursionError``/``ValueError`` 500.
* **Matches** run on a dedicated thread pool (``max_concurrent_matches`` threads, the same bound as the
  503 gate), so the event loop - ``/healthz`` and every cheap refusal - never waits behind an engine. While a
  match runs the API watches for the client's disconnect and then sets the request's cancellation event
  (:data:`medialayer.fetcher.request_cancel`): downloads stop at their next checkpoint and the comparison
  does not start; the slot is released when the worker has actually stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medialayer.caps import DEFAULT_CAPS, MediaType
from medialayer.envelope import ErrorResponse, MatchRequest, MatchResponse
from medialayer.errors import (
    FILE_FIELDS,
    FileField,
    InternalError,
    InvalidRequest,
    MediaLayerError,
    NotImplementedYet,
    Overloaded,
    RateLimited,
    RequestTimeout,
    RequestTooLarge,
)
from medialayer.fetcher import FetchPolicy, request_cancel
from medialayer.pipeline import FileComparer, match_urls
from medialayer.settings import Settings, get_settings

log = logging.getLogger("medialayer.api")

ComparerFactory = Callable[[], FileComparer] | None
#: Called once per finished request: (medium, http status, error code or None, elapsed ms).
ResultHook = Callable[[str, int, str | None, float], None]

#: A match body is flat (one object of two strings and a bool): anything nested deeper than this is refused
#: before the JSON parser (which recurses per level) sees it.
MAX_JSON_DEPTH = 32
#: Longest number literal accepted (Python refuses int strings over 4,300 digits with a ValueError; no field
#: of the request is a number at all).
MAX_NUMBER_CHARS = 64
#: Status/code recorded for a request whose client went away before the answer (nginx's convention).
CLIENT_GONE = (499, "client_disconnected")

_PLAYGROUND_HTML = (Path(__file__).parent / "playground" / "index.html").read_text(encoding="utf-8")
#: The page loads only itself and the user's two media URLs (images shown side by side).
_PLAYGROUND_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src * data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": desc} | ({"headers": _RETRY_AFTER} if status in (429, 503) else {})
    for status, desc in {
        400: "invalid_request / invalid_url (`error.field` names the URL)",
        401: "unauthorized: no or wrong `X-API-Key` / `X-RapidAPI-Proxy-Secret` (the message names the header)",
        404: "not_found: no such route (paths are exact: a trailing slash is a different, unknown path)",
        405: "method_not_allowed: the route answers POST only (`Allow` header)",
        408: "request_timeout",
        413: "file_too_large (`error.field` names the file) / request_too_large",
        415: "unsupported_media (`error.field` names the file)",
        422: "fetch_failed / duration_too_long (`error.field` names the file)",
        429: "rate_limited",
        500: "internal_error",
        501: "not_implemented",
        503: "overloaded",
    }.items()
}
#: How callers authenticate (OpenAPI ``components.securitySchemes``); the match routes accept either, the demo
#: routes neither (they are limited per client address instead).
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "Enterprise key `mlk_<id>_<secret>` (issued with `python -m medialayer.keys_admin`).",
    },
    "RapidApiProxySecret": {
        "type": "apiKey",
        "in": "header",
        "name": "X-RapidAPI-Proxy-Secret",
        "description": "Added by RapidAPI to every call it forwards.",
    },
}
_MATCH_SECURITY = [{"ApiKey": []}, {"RapidApiProxySecret": []}]


def error_response(exc: MediaLayerError) -> JSONResponse:
    headers = {}
    retry = getattr(exc, "retry_after_s", None)
    if retry is not None:
        headers["Retry-After"] = str(max(1, int(retry)))
    if isinstance(exc, RequestTooLarge | RequestTimeout):
        headers["Connection"] = "close"  # the rest of the body is never read: don't keep the connection
    body = ErrorResponse.model_validate({"error": {"code": exc.code, "message": exc.message, "field": exc.field}})
    return JSONResponse(body.model_dump(exclude_none=True), status_code=exc.status, headers=headers)


def _json_too_deep(raw: bytes, limit: int) -> bool:
    """True when ``raw`` nests arrays/objects deeper than ``limit`` (brackets inside strings don't count).

    Linear and allocation-free; cheap next to the body limit (16 KiB: ~2 ms in the worst case)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def _bounded_number(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        if len(text) > MAX_NUMBER_CHARS:
            raise ValueError("number too long")
        return kind(text)

    return parse


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_match_body(raw: bytes) -> MatchRequest:
    """The request body as a :class:`MatchRequest`, or :class:`InvalidRequest` - whatever the bytes are."""
    if _json_too_deep(raw, MAX_JSON_DEPTH):
        raise InvalidRequest(f"the body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(
            raw,
            parse_int=_bounded_number(int),
            parse_float=_bounded_number(float),
            parse_constant=_no_constant,
        )
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InvalidRequest("the body is not valid JSON") from exc
    try:
        return MatchRequest.model_validate(data)
    except ValueError as exc:
        raise InvalidRequest(_describe_validation(exc), field=_only_file_field(exc)) from exc


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` - by ``Content-Length`` before reading, and
    while streaming (chunked) at the cap. Over the cap is ``413 request_too_large``; the connection closes."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = [v for k, v in scope.get("headers", ()) if k.lower() == b"content-length"]
        if declared:
            value = declared[0].strip()
            if len(declared) > 1 or not value.isdigit():
                await error_response(InvalidRequest("the Content-Length header is malformed"))(scope, receive, send)
                return
            if int(value) > self.max_bytes:
                await error_response(self._too_large())(scope, receive, send)
                return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()
            return message

        await self.app(scope, limited, send)

    def _too_large(self) -> RequestTooLarge:
        return RequestTooLarge(f"the request body is larger than the {self.max_bytes // 1024} KiB limit")


class _PerClient:
    """A non-blocking bound on requests in flight per client: beyond it ``429 rate_limited`` at once."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}

    @contextlib.contextmanager
    def hold(self, client: str) -> Any:
        with self._lock:
            count = self._in_flight.get(client, 0)
            if count >= self._limit:
                raise RateLimited(
                    f"at most {self._limit} demo requests at a time from one address; retry when one finishes",
                    retry_after_s=1,
                )
            self._in_flight[client] = count + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._in_flight[client] - 1
                if left:
                    self._in_flight[client] = left
                else:
                    del self._in_flight[client]


class _ClientGone(Exception):
    """The client disconnected before its answer; the work was cancelled."""


async def _until_disconnected(receive: Receive) -> bool:
    """Wait for ``http.disconnect`` (True). Once the body has been read, uvicorn's and Mangum's ``receive``
    block until the client goes away or the response is complete."""
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return True
    except Exception:  # a server whose receive fails: we can't tell, so never cancel
        return False


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
    from medialayer.auth import client_bucket

    gate = _Gate(settings.max_concurrent_matches)
    per_client = _PerClient(settings.demo_max_in_flight_per_ip)
    # Matches get their own threads (as many as the gate admits): the default pool and the event loop stay
    # free for health checks and refusals however long the engines take.
    executor = ThreadPoolExecutor(max_workers=settings.max_concurrent_matches, thread_name_prefix="match")
    running: dict[asyncio.Future[Any], threading.Event] = {}  # matches on the pool -> their cancel events
    cache: dict[str, FileComparer] = {}
    lock = threading.Lock()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        # Shutting down (the server has already waited its grace period for requests): cancel what still
        # runs and give the workers a moment to stop, so their downloads are removed before we exit.
        for cancel in list(running.values()):
            cancel.set()
        if running:
            await asyncio.wait(list(running), timeout=min(5.0, settings.graceful_shutdown_s))
        executor.shutdown(wait=False, cancel_futures=True)
        for comparer in cache.values():
            close = getattr(comparer, "close", None)
            if callable(close):
                close()

    app = FastAPI(
        lifespan=lifespan,
        title="MediaLayer Match",
        version="0.1.0",
        description="Compare two images, audio files or videos by URL: how alike they are, and where. "
        "Interactive docs: `/docs` (Swagger UI) and `/redoc`.",
        responses=_ERROR_RESPONSES,
        # Paths are exact: `/image/match/` is a clean 404 `not_found` (naming the route meant), never a 307
        # redirect that clients re-send without their body or credentials.
        redirect_slashes=False,
    )
    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's document plus the security schemes (the routes read headers themselves, so FastAPI's
        dependency-based security would not declare them)."""
        if app.openapi_schema is None:
            schema = base_openapi()
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]

    def comparer_for(medium: MediaType) -> FileComparer:
        factory = comparers.get(medium)
        if factory is None:
            raise NotImplementedYet(f"{medium} matching is not available yet")
        with lock:
            if medium not in cache:
                cache[medium] = factory()
            return cache[medium]

    async def parse_body(request: Request) -> MatchRequest:
        try:
            async with asyncio.timeout(settings.body_timeout_s):
                raw = await request.body()  # BodyLimit caps what this can buffer
        except TimeoutError:
            raise RequestTimeout(f"the request body did not arrive within {settings.body_timeout_s:g} s") from None
        return parse_match_body(raw)

    async def run_match(request: Request, fn: Callable[..., MatchResponse], *args: Any, **kw: Any) -> MatchResponse:
        """Run ``fn`` on the match pool; if the client disconnects meanwhile, cancel it and wait for it to stop
        (so the gate's slot is only released when the thread is free), then raise :class:`_ClientGone`."""
        cancel = threading.Event()
        context = contextvars.copy_context()
        context.run(request_cancel.set, cancel)
        loop = asyncio.get_running_loop()
        work: Awaitable[MatchResponse] = loop.run_in_executor(executor, functools.partial(context.run, fn, *args, **kw))
        future = asyncio.ensure_future(work)
        running[future] = cancel
        future.add_done_callback(lambda done: running.pop(done, None))
        watcher = asyncio.ensure_future(_until_disconnected(request.receive))
        try:
            await asyncio.wait({future, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if not future.done() and watcher.done() and watcher.result():
                cancel.set()
                log.info("client disconnected during a %s match; cancelling it", fn.__name__)
                with contextlib.suppress(Exception):
                    await future
                raise _ClientGone
            return await future
        except asyncio.CancelledError:  # server shutdown past its grace period: stop the worker too
            cancel.set()
            raise
        finally:
            watcher.cancel()

    async def handle(request: Request, medium: MediaType, *, demo: bool) -> JSONResponse:
        started = time.perf_counter()
        status, code = 200, None
        try:
            client_ip = request.client.host if request.client else "unknown"
            with per_client.hold(client_bucket(client_ip)) if demo else contextlib.nullcontext():
                authorizer.authorize(request.headers, client_ip, demo=demo)
                body = await parse_body(request)
                comparer = comparer_for(medium)
                caps = DEFAULT_CAPS[medium].scaled(settings.demo_cap_factor) if demo else DEFAULT_CAPS[medium]
                with gate:
                    result = await run_match(
                        request, match_urls, comparer, body, caps=caps, policy=policy, started=started
                    )
            return JSONResponse(result.model_dump(exclude_none=True))
        except MediaLayerError as exc:
            status, code = exc.status, exc.code
            return error_response(exc)
        except (_ClientGone, ClientDisconnect):
            status, code = CLIENT_GONE
            return JSONResponse({}, status_code=status)  # nobody is listening; uvicorn drops it
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

    match_paths = {path for medium in comparers for path in (f"/{medium}/match", f"/demo/{medium}/match")}

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        path = request.url.path
        if exc.status_code == 404:
            message = f"no such route: {request.method} {path[:200]}"
            if path.rstrip("/") in match_paths:
                message += f" (paths are exact: use {path.rstrip('/')}, without the trailing slash)"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {path[:200]}"
        else:
            message = str(exc.detail)
        err = MediaLayerError(message)
        err.code, err.status = codes.get(exc.status_code, "invalid_request"), exc.status_code
        response = error_response(err)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(MediaLayerError)
    async def typed_error(_: Request, exc: MediaLayerError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(InvalidRequest("the request is malformed"))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(InternalError("an unexpected error occurred"))

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app


def _add_routes(app: FastAPI, medium: MediaType, handle: Callable[..., Any]) -> None:
    """Register ``/{medium}/match`` and ``/demo/{medium}/match`` (documented with the shared models)."""
    doc = {
        "response_model": MatchResponse,
        "response_model_exclude_none": True,
    }
    body = {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": MatchRequest.model_json_schema()}},
        }
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
        openapi_extra={**body, "security": _MATCH_SECURITY},
        **doc,
    )
    app.add_api_route(
        f"/demo/{medium}/match",
        demo,
        methods=["POST"],
        summary=f"Compare two {medium} files (playground; per-IP limit, smaller caps)",
        operation_id=f"demo_match_{medium}",
        openapi_extra={**body, "security": []},
        **doc,
    )


def _only_file_field(exc: ValueError) -> FileField | None:
    """The URL field a validation error is about, when every reported problem is in that one field."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return None
    fields = {next(iter(err.get("loc", ())), None) for err in errors()}
    field = fields.pop() if len(fields) == 1 else None
    return field if field in FILE_FIELDS else None


def _describe_validation(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for err in errors()[:3]:
            where = ".".join(str(p) for p in err.get("loc", ())) or "body"
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        return "invalid request body (" + "; ".join(parts) + ")"
    return "invalid request body"


__all__ = ["BodyLimit", "build_app", "error_response", "parse_match_body", "RateLimited"]
