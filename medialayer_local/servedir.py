"""``medialayer serve-dir DIR``: one folder on loopback, read-only, so the local API can fetch your own files.

The API refuses loopback URLs unless their ``host:port`` is allow-listed (``MEDIALAYER_ALLOW_PRIVATE_HOSTS``).
``serve-dir`` starts :class:`FolderServer` on ``127.0.0.1:<files port>`` and the local API with exactly that
origin added to the allow-list for this run (``medialayer_local.server.serve``), and says so in the log.

What the folder server hands out (:func:`resolve_in`): regular files and directory listings under the folder,
for ``GET`` and ``HEAD`` only (other methods ``405``). Refused with ``404``: ``..`` and ``.`` segments, hidden
names (any segment starting with ``.``: ``.ssh``, ``.env``), NUL and backslashes, and anything whose real path
- symlinks followed - is outside the folder or hidden inside it. A request whose ``Host`` is not
``127.0.0.1:<port>`` / ``localhost:<port>`` gets ``403``: a web page that rebinds its own DNS name to
127.0.0.1 cannot read the folder through the browser. No CORS headers, so other origins cannot read it either.
"""

from __future__ import annotations

import html
import logging
import mimetypes
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from pydantic import BaseModel, Field

from medialayer.caps import MediaType
from medialayer.errors import UnsupportedMedia
from medialayer.sniff import sniff

log = logging.getLogger("medialayer.serve_dir")

LOOPBACK = "127.0.0.1"
#: The listing (``GET /local/files`` on the API, and the folder's own index pages) stops after this many files.
MAX_LISTED = 500


def resolve_in(root: Path, url_path: str) -> Path | None:
    """The file or directory under ``root`` (already resolved) that ``url_path`` names, or None when refused."""
    path = url_path.split("?", 1)[0].split("#", 1)[0]
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None
    if "\x00" in decoded or "\\" in decoded:
        return None
    parts = [p for p in decoded.split("/") if p]
    if any(p.startswith(".") for p in parts):  # "..", ".", and hidden names
        return None
    try:
        real = root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, a symlink loop, a name too long
        return None
    if not real.is_relative_to(root):
        return None
    if any(p.startswith(".") for p in real.relative_to(root).parts):  # a link to a hidden name inside
        return None
    return real if real.is_file() or real.is_dir() else None


class MediaFile(BaseModel):
    """One media file of the served folder."""

    path: str = Field(description="Relative to the folder, '/'-separated.")
    url: str = Field(description="The URL the API fetches it from (allow-listed for this run).")
    media: list[MediaType] = Field(description="The media its container may carry (from its first bytes).")
    bytes: int


class FolderListing(BaseModel):
    """``GET /local/files``: what ``serve-dir`` serves, for the playground to offer."""

    folder_url: str
    files: list[MediaFile]
    truncated: bool = Field(description=f"More than {MAX_LISTED} media files; the rest are not listed.")


class FolderServer:
    """``root`` served read-only on ``127.0.0.1:port`` (0: a free port) in a background thread."""

    def __init__(self, root: Path, port: int = 0) -> None:
        root = Path(root).expanduser()
        if not root.is_dir():
            raise NotADirectoryError(f"not a directory: {root}")
        self.root = root.resolve()
        self._httpd = ThreadingHTTPServer((LOOPBACK, port), _handler(self))
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        """``127.0.0.1:<port>``: the one allow-list entry it needs."""
        return f"{LOOPBACK}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.origin}"

    def url(self, relative: str) -> str:
        return f"{self.base_url}/{quote(relative)}"

    def media_files(self, limit: int = MAX_LISTED) -> FolderListing:
        """The media files (recognised by their first bytes) under the folder, sorted by path."""
        found: list[MediaFile] = []
        truncated = False
        for relative, path in self._walk():
            try:
                media = sorted(sniff(path).media)
                size = path.stat().st_size
            except (UnsupportedMedia, OSError):
                continue
            if len(found) == limit:
                truncated = True
                break
            found.append(MediaFile(path=relative, url=self.url(relative), media=media, bytes=size))
        return FolderListing(folder_url=f"{self.base_url}/", files=found, truncated=truncated)

    def _walk(self) -> Iterator[tuple[str, Path]]:
        """(the name it is served under, the real file) for every servable file; linked folders not entered."""
        for top, dirs, names in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                relative = (Path(top) / name).relative_to(self.root).as_posix()
                path = resolve_in(self.root, "/" + quote(relative))
                if path is not None and path.is_file():
                    yield relative, path

    def start(self) -> FolderServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="serve-dir", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> FolderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(server: FolderServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "medialayer-serve-dir"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            log.info("%s %s", self.address_string(), format % args)

        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def _read_only(self) -> None:
            self.close_connection = True  # a body we did not read must not be parsed as the next request
            self._plain(405, "read-only: GET and HEAD only", {"Allow": "GET, HEAD"})

        do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _read_only

        def _answer(self, *, body: bool) -> None:
            if self.headers.get("Host", "").lower() not in (server.origin, f"localhost:{server.port}"):
                self._plain(403, "unexpected Host header", send_body=body)
                return
            path = resolve_in(server.root, self.path)
            if path is None:
                self._plain(404, "not found", send_body=body)
            elif path.is_dir():
                self._listing(path, send_body=body)
            else:
                self._file(path, send_body=body)

        def _file(self, path: Path, *, send_body: bool) -> None:
            try:
                handle = path.open("rb")
            except OSError:
                self._plain(404, "not found", send_body=send_body)
                return
            with handle:
                size = os.fstat(handle.fileno()).st_size
                self.send_response(200)
                self.send_header("Content-Type", mimetypes.guess_type(path.name)[0] or "application/octet-stream")
                self.send_header("Content-Length", str(size))
                self.send_header("X-Content-Type-Options", "nosniff")
                self.end_headers()
                if send_body:
                    try:
                        shutil.copyfileobj(handle, self.wfile, 256 * 1024)
                    except (BrokenPipeError, ConnectionResetError):
                        self.close_connection = True

        def _listing(self, directory: Path, *, send_body: bool) -> None:
            rows = []
            for child in sorted(directory.iterdir())[:MAX_LISTED]:
                relative = child.relative_to(server.root).as_posix()
                if resolve_in(server.root, "/" + quote(relative)) is None:
                    continue
                name = child.name + ("/" if child.is_dir() else "")
                rows.append(f'<li><a href="/{html.escape(quote(relative))}">{html.escape(name)}</a></li>')
            relative_dir = directory.relative_to(server.root).as_posix()
            title = html.escape("/" if relative_dir == "." else f"/{relative_dir}/")
            page = (
                f"<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1>"
                f"<p>Paste a file's link into the playground.</p><ul>{''.join(rows)}</ul>"
            ).encode()
            self._send(200, page, "text/html; charset=utf-8", send_body=send_body)

        def _plain(self, status: int, text: str, headers: dict[str, str] | None = None, send_body: bool = True) -> None:
            self._send(status, text.encode() + b"\n", "text/plain; charset=utf-8", headers, send_body=send_body)

        def _send(
            self,
            status: int,
            payload: bytes,
            content_type: str,
            headers: dict[str, str] | None = None,
            *,
            send_body: bool = True,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Content-Security-Policy", "default-src 'none'")
            self.send_header("X-Content-Type-Options", "nosniff")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if send_body:
                self.wfile.write(payload)

    return Handler
