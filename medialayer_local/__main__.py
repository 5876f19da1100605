"""``python -m medialayer_local``: serve the whole API locally (same as ``make run``).

With arguments it is the ``medialayer`` command line: ``python -m medialayer_local serve-dir DIR``,
``python -m medialayer_local match A B``.
"""

import sys

if len(sys.argv) > 1:
    from medialayer_local.cli import main as cli_main

    sys.exit(cli_main(sys.argv[1:]))

from medialayer_local.server import main  # no arguments: serve

main()
