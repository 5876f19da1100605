"""The video API: the shared app with the video fan-out comparer plugged in.

In AWS the comparer stages both files in S3 and runs the Step Functions fan-out; locally it stages them
in a directory and runs the same stage functions in a process pool (see ``video_match.fanout``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from medialayer.api import build_app
from medialayer.pipeline import FileComparer
from medialayer.settings import Settings, get_settings


def comparer(settings: Settings | None = None) -> FileComparer:
    """The video comparer behind ``/video/match`` (loaded on first use)."""
    from video_match.fanout import build_comparer

    return build_comparer(settings or get_settings())


def create_app(**kwargs: Any) -> FastAPI:
    settings = kwargs.get("settings")
    return build_app({"video": lambda: comparer(settings)}, **kwargs)
