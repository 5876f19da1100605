"""One ``make run``-style server (``python -m medialayer_local``, no arguments) for the tests of this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.local.localserver import LocalServer, local_server
from tests.support.mediaserver import MediaServer


@pytest.fixture(scope="package")
def origin() -> Iterator[MediaServer]:
    """A loopback origin the local server is allowed to fetch from (tests add their routes)."""
    with MediaServer() as media:
        yield media


@pytest.fixture(scope="package")
def make_run(origin: MediaServer) -> Iterator[LocalServer]:
    """The local server as ``make run`` starts it (auth off), allowed to fetch from ``origin`` only."""
    env = {"MEDIALAYER_AUTH_DISABLED": "true", "MEDIALAYER_ALLOW_PRIVATE_HOSTS": origin.host}
    with local_server([], env) as server:
        yield server
