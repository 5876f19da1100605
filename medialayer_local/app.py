"""One ASGI app with every route of the three Lambdas (and the playground page).

Local additions, never deployed: with :class:`~medialayer_local.settings.LocalSettings` and ``demo_limits``
off, the demo routes count no requests (:class:`DemoUnlimited`; the caps come from the settings); with a
served folder (``medialayer serve-dir``), ``GET /local/files`` lists its media files and their URLs, for
the playground to offer (:class:`~medialayer_local.servedir.FolderListing`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from audio_match.app import comparer as audio_comparer
from image_match.app import comparer as image_comparer
from medialayer.api import build_app
from medialayer.auth import Principal, build_authorizer, client_bucket
from medialayer.settings import Settings, get_settings
from medialayer_local.servedir import FolderListing, FolderServer
from medialayer_local.settings import LocalSettings
from video_match.app import comparer as video_comparer


class DemoUnlimited:
    """An authorizer that lets every demo request through uncounted and defers everything else to ``inner``
    (credentials, enterprise keys and their limits are unchanged)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def authorize(self, headers: Mapping[str, str], client_ip: str, *, demo: bool) -> Principal:
        if demo:
            return Principal("demo", client_bucket(client_ip))
        return self._inner.authorize(headers, client_ip, demo=False)


def create_app(*, folder: FolderServer | None = None, **kwargs: Any) -> FastAPI:
    settings: Settings = kwargs.setdefault("settings", get_settings())
    if isinstance(settings, LocalSettings) and not settings.demo_limits and kwargs.get("authorizer") is None:
        kwargs["authorizer"] = DemoUnlimited(build_authorizer(settings))
    app = build_app(
        {"image": image_comparer, "audio": audio_comparer, "video": lambda: video_comparer(settings)}, **kwargs
    )
    if folder is not None:

        @app.get("/local/files", include_in_schema=False)
        def local_files() -> FolderListing:  # a thread: it reads the folder
            """The media files ``medialayer serve-dir`` serves (their URLs are allow-listed for this run)."""
            return folder.media_files()

    return app
