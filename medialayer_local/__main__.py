"""``python -m medialayer_local``: serve the whole API locally (same as ``make run``)."""

from medialayer_local.server import main

main()
