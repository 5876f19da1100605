"""A small loopback HTTP server whose routes tests script: files, redirects, slow and broken answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    send_length: bool = True
    declared_length: int | None = None
    delay_before_headers_s: float = 0.0
    delay_after_headers_s: float = 0.0
    drop_after_bytes: int | None = None
    drip_bytes_per_s: float | None = None


class MediaServer:
    """``server.add("/a.jpg", Route(body=...))``; ``server.url("/a.jpg")``; ``server.requests`` logs paths."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.requests.append(self.path)
                route = outer.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                time.sleep(route.delay_before_headers_s)
                self.send_response(route.status)
                for k, v in route.headers.items():
                    self.send_header(k, v)
                if route.send_length:
                    length = route.declared_length if route.declared_length is not None else len(route.body)
                    self.send_header("Content-Length", str(length))
                else:
                    self.send_header("Connection", "close")
                self.end_headers()
                time.sleep(route.delay_after_headers_s)
                body = route.body if route.drop_after_bytes is None else route.body[: route.drop_after_bytes]
                try:
                    if route.drip_bytes_per_s:
                        for i in range(0, len(body), 1024):
                            self.wfile.write(body[i : i + 1024])
                            self.wfile.flush()
                            time.sleep(1024 / route.drip_bytes_per_s)
                    else:
                        self.wfile.write(body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if route.drop_after_bytes is not None or not route.send_length:
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> MediaServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve(routes: dict[str, Route]) -> MediaServer:
    server = MediaServer()
    for path, route in routes.items():
        server.add(path, route)
    return server


Factory = Callable[[], MediaServer]
