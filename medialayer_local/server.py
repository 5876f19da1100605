"""``python -m medialayer_local``: serve the whole API on http://127.0.0.1:8080 (``PORT``/``HOST`` override)."""

from __future__ import annotations

import logging
import os

import uvicorn

from medialayer_local.app import create_app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8080"))
    uvicorn.run(create_app(), host=host, port=port, log_level="info", timeout_keep_alive=5)


if __name__ == "__main__":
    main()
