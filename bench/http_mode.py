"""``--http URL``: measure a *running* server instead of calling the pipeline in-process.

The bench starts a small static file server on 127.0.0.1 that serves exactly the pair files it is asked
to (under unguessable per-file tokens, nothing else on disk), and an :class:`HttpMatcher` that POSTs
``{"source_url", "target_url"}`` to ``URL/<medium>/match`` and turns the JSON envelope back into a
:class:`~bench.types.Verdict`. The server under test must be allowed to fetch from loopback:

    MEDIALAYER_ALLOW_PRIVATE_HOSTS=127.0.0.1:<serve-port> MEDIALAYER_AUTH_DISABLED=true make run

Only the calibrated ``similarity_score`` comes back over HTTP, so the HTTP verdict's ``score`` is that
(a monotone map of the raw score; ranks — and so AUC — are the same except where the clip at 0 or 1
creates ties). Latency includes the HTTP round trip and the server fetching both files over loopback.
"""

from __future__ import annotations

import json
import secrets
import threading
import urllib.error
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.types import Alignment, Pair, Verdict


class _Handler(SimpleHTTPRequestHandler):
    """Serves ``/<token>/<name>`` from the registered file map; 404 for everything else."""

    files: dict[str, Path] = {}

    def translate_path(self, path: str) -> str:
        token = path.split("?", 1)[0].lstrip("/").split("/", 1)[0]
        target = self.files.get(token)
        return str(target) if target is not None else "/nonexistent/denied"

    def log_message(self, format: str, *args: Any) -> None:
        return


class StaticFileServer:
    """A loopback HTTP server for an explicit set of files. Use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._files: dict[str, Path] = {}
        self._by_path: dict[Path, str] = {}
        handler = type("Handler", (_Handler,), {"files": self._files})
        self._httpd = ThreadingHTTPServer((host, port), partial(handler, directory="/nonexistent"))
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    def url_for(self, path: Path) -> str:
        """Register ``path`` (once) and return its URL."""
        path = Path(path).resolve()
        token = self._by_path.get(path)
        if token is None:
            token = secrets.token_urlsafe(12)
            self._files[token] = path
            self._by_path[path] = token
        return f"http://{self.host}:{self.port}/{token}/{path.name}"

    def __enter__(self) -> StaticFileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def envelope_to_verdict(body: dict[str, Any]) -> Verdict:
    """The API's JSON envelope -> a Verdict (score = calibrated ``similarity_score``)."""
    segments = [
        Alignment(
            source_start=float(s["source_start"]),
            source_end=float(s["source_end"]),
            target_start=float(s["target_start"]),
            target_end=float(s["target_end"]),
        )
        for s in body.get("matched_segments") or []
    ]
    score = body.get("similarity_score")
    extra: dict[str, float] = {}
    if score is not None:
        extra["similarity_score"] = float(score)
    if body.get("processing_time_ms") is not None:
        extra["server_ms"] = float(body["processing_time_ms"])
    return Verdict(
        score=None if score is None else float(score),
        match=body.get("match"),
        segments=segments,
        extra=extra,
    )


class HttpMatcher:
    """Ours, through a running server: ``POST {base_url}/{medium}/match``."""

    def __init__(
        self,
        base_url: str,
        medium: str,
        files: StaticFileServer,
        *,
        name: str = "medialayer",
        timeout: float = 300.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.url = f"{base_url.rstrip('/')}/{medium}/match"
        self.files = files
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", **(headers or {})}

    def available(self) -> bool:
        return True

    def run(self, pair: Pair) -> Verdict:
        payload = json.dumps(
            {"source_url": self.files.url_for(pair.source), "target_url": self.files.url_for(pair.target)}
        ).encode()
        req = urllib.request.Request(self.url, data=payload, headers=self.headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            return Verdict(score=None, match=None, error=f"HTTP {exc.code}: {detail}")
        return envelope_to_verdict(body)
