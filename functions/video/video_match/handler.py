"""AWS Lambda entry point of ``POST /video/match`` (and the demo route)."""

from medialayer.observability import lambda_entry
from video_match.app import create_app

lambda_handler = lambda_entry(create_app, medium="video")
