"""The fuzz harness itself stays runnable: a few bounded examples of each target (the real runs are
``python -m fuzz``; see docs/security.md)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from fuzz import targets
from fuzz.strategies import for_target

EXAMPLES = {"sniff": 60, "url": 200, "image": 40, "audio": 8, "video": 5}


@pytest.mark.parametrize(
    "name",
    [
        "sniff",
        "url",
        "image",
        pytest.param("audio", marks=pytest.mark.slow),
        pytest.param("video", marks=pytest.mark.slow),
    ],
)
def test_fuzz_target_holds_its_invariants(name: str) -> None:
    seeds = targets.seeds()[name]

    @settings(
        max_examples=EXAMPLES[name],
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(for_target(name, seeds))
    def check(data: bytes) -> None:
        targets.run_bounded(targets.TARGETS[name], data)

    check()


@pytest.mark.parametrize(
    "url",
    [b"http://127.1/", b"http://[::ffff:a9fe:a9fe]/", b"http://media.example.com/", b"https://x@0x7f000001:9001/"],
)
def test_url_target_flags_nothing_on_known_vectors(url: bytes) -> None:
    targets.fuzz_url(url)  # the evil resolver maps names to internal addresses: all refused, no Finding
