"""libFuzzer entry (``python -m fuzz.atheris_main TARGET [libFuzzer args]``); run via ``python -m fuzz
--engine atheris``. Our own Python modules are instrumented for coverage; the C decoders are not (they are
exercised, and a crash in them kills the child, which libFuzzer reports)."""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["medialayer", "image_match", "audio_match", "video_match", "fuzz"]):
    from fuzz import targets


def main() -> None:
    name = sys.argv.pop(1)
    target = targets.TARGETS[name]

    def one(data: bytes) -> None:
        targets.run_bounded(target, data)

    atheris.Setup(sys.argv, one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
