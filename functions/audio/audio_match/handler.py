"""AWS Lambda entry point of ``POST /audio/match`` (and the demo route)."""

from audio_match.app import create_app
from medialayer.observability import lambda_entry

lambda_handler = lambda_entry(create_app, medium="audio")
