"""``python -m medialayer_local [ARGS]`` in a child process on free loopback ports, as a user starts it."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.apiserver import free_port

REPO = Path(__file__).resolve().parents[2]


@dataclass
class LocalServer:
    proc: subprocess.Popen[bytes]
    port: int
    log_file: Any = field(repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        self.log_file.seek(0)
        return self.log_file.read().decode("utf-8", "replace")


def get_json(url: str, timeout: float = 10) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@contextlib.contextmanager
def local_server(args: list[str], env: dict[str, str] | None = None) -> Iterator[LocalServer]:
    """Start it (every inherited ``MEDIALAYER_*`` removed, ``env`` added) and wait until /healthz answers."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIALAYER_")}
    full_env.update(env or {}, PORT=str(port), HOST="127.0.0.1", PYTHONUNBUFFERED="1")
    log_file = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "medialayer_local", *args], cwd=REPO, env=full_env, stdout=log_file, stderr=log_file
    )
    server = LocalServer(proc, port, log_file)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"the server exited at start-up:\n{server.output()}"
            with contextlib.suppress(OSError):
                if get_json(f"{server.base}/healthz", timeout=2)[0] == 200:
                    break
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log_file.close()
