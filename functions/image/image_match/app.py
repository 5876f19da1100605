"""The image API: the shared app with the image engine plugged in."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from medialayer.api import build_app
from medialayer.pipeline import EngineComparer, FileComparer


def comparer() -> FileComparer:
    """The image engine behind ``/image/match`` (loaded on first use)."""
    from image_match.engine import ImageEngine

    return EngineComparer(ImageEngine())


def create_app(**kwargs: Any) -> FastAPI:
    return build_app({"image": comparer}, **kwargs)
