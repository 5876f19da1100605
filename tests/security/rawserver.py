"""A loopback TCP server that answers every connection with a scripted byte sequence — for responses no
well-behaved HTTP server would send (garbage status lines, header floods, slowloris headers, resets)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Script = Callable[[socket.socket], None]


def send_then_close(data: bytes) -> Script:
    def script(conn: socket.socket) -> None:
        conn.sendall(data)

    return script


def reset_after(data: bytes) -> Script:
    """Send ``data``, then close with RST (SO_LINGER 0)."""

    def script(conn: socket.socket) -> None:
        if data:
            conn.sendall(data)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    return script


def drip(head: bytes, piece: bytes, every_s: float, for_s: float) -> Script:
    """Send ``head``, then ``piece`` every ``every_s`` seconds for up to ``for_s`` seconds (slowloris)."""

    def script(conn: socket.socket) -> None:
        conn.sendall(head)
        end = time.monotonic() + for_s
        while time.monotonic() < end:
            time.sleep(every_s)
            conn.sendall(piece)

    return script


class RawServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str = "/a.jpg") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            try:
                conn.recv(65536)  # the request
            except OSError:
                pass
            self.script(conn)
        except OSError:
            pass
        finally:
            conn.close()

    @contextmanager
    def running(self) -> Iterator[RawServer]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=2)
            self.sock.close()
