"""One ASGI app with every route of the three Lambdas (and the playground page)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from audio_match.app import comparer as audio_comparer
from image_match.app import comparer as image_comparer
from medialayer.api import build_app
from video_match.app import comparer as video_comparer


def create_app(**kwargs: Any) -> FastAPI:
    settings = kwargs.get("settings")
    return build_app(
        {"image": image_comparer, "audio": audio_comparer, "video": lambda: video_comparer(settings)}, **kwargs
    )
