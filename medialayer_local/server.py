"""``python -m medialayer_local``: serve the whole API on http://127.0.0.1:8080 (``PORT``/``HOST`` override).

The edge of the local server (issue 13), all from :class:`~medialayer.settings.Settings`:

* **Client address**: the TCP peer. ``X-Forwarded-For`` is believed only from ``MEDIALAYER_TRUSTED_PROXIES``
  (empty by default; uvicorn's own default would trust it from 127.0.0.1, which let a loopback client
  rotate the header past the demo limit).
* **Slow or piled-up connections** (:func:`guarded_protocol`): a connection must finish its request headers
  within ``header_timeout_s`` (uvicorn's h11 protocol has no such timeout: an idle or half-sent request
  held its socket for ever), else it gets ``408`` and is closed; at most ``max_connections_per_ip`` open
  connections per peer address (trusted proxies exempt), more are closed on accept; and the soft
  file-descriptor limit is raised to the hard one, so one client cannot exhaust the descriptors
  ``/healthz`` needs.
* **Shutdown**: SIGTERM waits ``graceful_shutdown_s`` for requests in flight, then cancels them (the API
  turns that into a cancellation of their downloads).
* **Start-up**: downloads a killed earlier process left in the temp dir are removed; settings that cannot
  work (an allow-list entry with a path, say) stop the server with the reason, before anything listens.

Local defaults (:class:`~medialayer_local.settings.LocalSettings`): the demo routes' limits are off unless
``MEDIALAYER_DEMO_LIMITS=true``, and a refused loopback URL names ``medialayer serve-dir`` and the allow-list.
:func:`serve` with a folder is ``medialayer serve-dir DIR`` (:mod:`medialayer_local.servedir`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import time
from typing import Any

import uvicorn
from pydantic import ValidationError
from uvicorn.protocols.http.h11_impl import H11Protocol

from medialayer.fetcher import sweep_stale_downloads
from medialayer.settings import Settings
from medialayer_local.app import create_app
from medialayer_local.servedir import FolderServer
from medialayer_local.settings import LocalSettings

log = logging.getLogger("medialayer.server")

#: The longest request head (request line + headers) h11 buffers before answering 400 (its default, stated).
MAX_HEADER_BYTES = 16 * 1024
#: The sweep removes downloads older than this: longer than any live request writes without pause.
STALE_DOWNLOAD_S = 60.0


class _Trusted:
    """Membership in a list of addresses / CIDRs (``*`` = everything)."""

    def __init__(self, entries: tuple[str, ...]) -> None:
        self.everything = "*" in entries
        self.networks = []
        for entry in entries:
            if entry == "*":
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                log.warning("MEDIALAYER_TRUSTED_PROXIES: %r is not an address or network; ignored", entry)

    def __contains__(self, host: str) -> bool:
        if self.everything:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in net for net in self.networks)


def _timeout_response() -> bytes:
    body = json.dumps(
        {"error": {"code": "request_timeout", "message": "the request headers did not arrive in time"}}
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def guarded_protocol(settings: Settings) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a header deadline and a per-address connection cap (one server's state)."""
    header_timeout_s = settings.header_timeout_s
    max_per_ip = settings.max_connections_per_ip
    trusted = _Trusted(settings.trusted_proxy_list)
    open_per_ip: dict[str, int] = {}
    refused = {"count": 0, "logged_at": 0.0}
    timeout_bytes = _timeout_response()

    class GuardedH11Protocol(H11Protocol):
        """The deadline runs from the connection's start, and on a kept-alive connection from the first
        byte of its next request (idle keep-alive stays uvicorn's ``timeout_keep_alive``). When it passes
        before the request's headers are complete, the connection is closed - with a ``408`` if part of a
        request had arrived, silently if nothing had."""

        _header_timer: asyncio.TimerHandle | None = None
        _timed_cycle: Any = None
        _counted_as: str | None = None
        _between_requests = False
        _got_bytes = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            host = self.client[0] if self.client else None
            if host is not None and host not in trusted:
                count = open_per_ip.get(host, 0)
                if count >= max_per_ip:
                    self._refuse(host)
                    return
                open_per_ip[host] = count + 1
                self._counted_as = host
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None
            if self._counted_as is not None:
                left = open_per_ip.get(self._counted_as, 1) - 1
                if left > 0:
                    open_per_ip[self._counted_as] = left
                else:
                    open_per_ip.pop(self._counted_as, None)
                self._counted_as = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._between_requests:  # the first byte of the next request on a kept-alive connection
                self._between_requests = False
                self._arm()
            if self._header_timer is not None:
                self._got_bytes = True
            super().data_received(data)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.cycle is not None and not self.cycle.response_complete:
                return  # a pipelined request already started (its headers are in)
            self._between_requests = not self.transport.is_closing()

        def _arm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None
            if self.cycle is not None and not self.cycle.response_complete:
                return  # a pipelined request's headers are already in: nothing to wait for
            self._timed_cycle = self.cycle
            self._got_bytes = False
            self._header_timer = self.loop.call_later(header_timeout_s, self._headers_overdue)

        def _headers_overdue(self) -> None:
            self._header_timer = None
            if self.transport.is_closing() or self.cycle is not self._timed_cycle:
                return  # closed already, or a request's headers completed since the timer was armed
            log.info("closing a connection from %s: no complete request headers in %gs", self._peer(), header_timeout_s)
            if self._got_bytes:
                self.transport.write(timeout_bytes)
            self.transport.close()

        def _refuse(self, host: str) -> None:
            refused["count"] += 1
            now = time.monotonic()
            if now - refused["logged_at"] > 10:
                log.warning(
                    "refusing connections from %s: over %d open connections per address (%d refused so far)",
                    host,
                    max_per_ip,
                    refused["count"],
                )
                refused["logged_at"] = now
            self.transport.close()

        def _peer(self) -> str:
            return self.client[0] if self.client else "?"

    return GuardedH11Protocol


def raise_fd_limit() -> None:
    """Soft RLIMIT_NOFILE up to the hard limit: many slow clients must not starve ``accept()``."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = hard if hard != resource.RLIM_INFINITY else 65536
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            log.info("file descriptor limit raised from %d to %d", soft, target)
    except (ImportError, ValueError, OSError):  # not POSIX, or not allowed
        pass


def server_config(
    app: Any, settings: Settings, *, host: str = "127.0.0.1", port: int = 8080, **kw: Any
) -> uvicorn.Config:
    """The uvicorn configuration of the local server (tests run it exactly like this)."""
    trusted = list(settings.trusted_proxy_list)
    options: dict[str, Any] = dict(
        host=host,
        port=port,
        log_level="info",
        http=guarded_protocol(settings),
        timeout_keep_alive=5,
        timeout_graceful_shutdown=settings.graceful_shutdown_s,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        # forwarded headers only from configured proxies (uvicorn's default trusts 127.0.0.1)
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or [],
        server_header=False,
    )
    options.update(kw)
    return uvicorn.Config(app, **options)


def load_settings() -> LocalSettings:
    """The local server's settings, or :class:`SystemExit` with the reason when they cannot work."""
    try:
        return LocalSettings()
    except ValidationError as exc:
        reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        log.error("refusing to start: %s", reasons)
        raise SystemExit(2) from None


def with_folder(settings: LocalSettings, folder: FolderServer) -> LocalSettings:
    """``settings`` plus exactly the folder server's origin on the allow-list. Auth is off unless
    ``MEDIALAYER_AUTH_DISABLED`` says otherwise, as under ``make run``."""
    entries = [e for e in settings.allow_private_hosts.split(",") if e.strip()] + [folder.origin]
    update: dict[str, Any] = {"allow_private_hosts": ",".join(entries)}
    if "MEDIALAYER_AUTH_DISABLED" not in os.environ:
        update["auth_disabled"] = True
    return settings.model_copy(update=update)


def announce_folder(folder: FolderServer, api_url: str) -> None:
    """Say loudly what is served, to whom, and how to use it."""
    listing = folder.media_files()
    log.warning(
        "serve-dir: %s is served READ-ONLY at %s/ (loopback only; hidden names and links leaving the folder "
        "are refused). The API may fetch from exactly %s (allow-listed for this run only).",
        folder.root,
        folder.base_url,
        folder.origin,
    )
    examples = ", ".join(f.url for f in listing.files[:4]) or "(no media files found yet)"
    log.warning(
        "serve-dir: %d media file(s)%s, e.g. %s - paste two into the playground at %s/ (listed at %s/local/files)",
        len(listing.files),
        "+" if listing.truncated else "",
        examples,
        api_url,
        api_url,
    )


def serve(*, host: str = "127.0.0.1", port: int = 8080, files: FolderServer | None = None) -> None:
    """Run the local API (and, with ``files``, that folder server beside it) until interrupted."""
    settings = load_settings()
    if files is not None:
        settings = with_folder(settings, files)
    raise_fd_limit()
    sweep_stale_downloads(settings.temp_dir, older_than_s=STALE_DOWNLOAD_S)
    server = uvicorn.Server(server_config(create_app(settings=settings, folder=files), settings, host=host, port=port))
    if files is None:
        server.run()
        return
    with files:
        announce_folder(files, f"http://{host}:{port}")
        server.run()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8080")))


if __name__ == "__main__":
    main()
