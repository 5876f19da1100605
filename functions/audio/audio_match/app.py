"""The audio API: the shared app with the audio engine plugged in."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from medialayer.api import build_app
from medialayer.pipeline import EngineComparer, FileComparer


def comparer() -> FileComparer:
    """The audio engine behind ``/audio/match`` (loaded on first use)."""
    from audio_match.engine import AudioEngine

    return EngineComparer(AudioEngine())


def create_app(**kwargs: Any) -> FastAPI:
    return build_app({"audio": comparer}, **kwargs)
