"""Check the interpreter `make` will build .venv with, before anything is installed.

    PYTHON tools/check_python.py VENV_DIR

Run by the Makefile under the very interpreter it was given (``$(PYTHON)``), so this file parses on
old Pythons too (no f-strings, no annotations): a Python 3.6 or 2.7 gets a clear message instead of a
``SyntaxError`` or 70 s of installs that end in pip's "requires a different Python".

1. Refuses an interpreter older than MIN_VERSION (the ``requires-python`` of pyproject.toml; a test
   keeps the two equal): exit 1 with what was found and how to pick another (``make run PYTHON=...``).
2. Deletes VENV_DIR when it was made by another interpreter (its ``pyvenv.cfg`` names another
   version or another home) or is broken (no ``pyvenv.cfg``, no ``bin/python``), so the Makefile's
   install targets rebuild it instead of reusing a stale venv. Prints what it did.
Exit 0 when the interpreter is fine (whether or not the venv was removed).
"""

from __future__ import print_function

import os
import shutil
import sys

MIN_VERSION = (3, 11)


def _read_cfg(path):
    values = {}
    with open(path) as handle:
        for line in handle:
            key, sep, value = line.partition("=")
            if sep:
                values[key.strip()] = value.strip()
    return values


def _same_dir(a, b):
    return os.path.realpath(a) == os.path.realpath(b)


def stale_reason(venv, version_info, base_executable):
    """Why ``venv`` was not made by this interpreter (None: it was, or there is no venv)."""
    if not os.path.lexists(venv):
        return None
    cfg = os.path.join(venv, "pyvenv.cfg")
    if not os.path.isfile(cfg):
        return "it has no pyvenv.cfg"
    if not os.path.exists(os.path.join(venv, "bin", "python")):
        return "its bin/python is missing or points to a removed interpreter"
    values = _read_cfg(cfg)
    want = ".".join(str(n) for n in version_info[:3])
    have = values.get("version") or values.get("version_info") or "?"
    if ".".join(have.split(".")[:3]) != want:
        return "it was made by Python %s, not %s" % (have, want)
    home = values.get("home")
    if home and not _same_dir(home, os.path.dirname(os.path.realpath(base_executable))):
        return "it was made by the interpreter in %s, not %s" % (home, os.path.dirname(base_executable))
    return None


def check(venv, version_info=None, executable=None, base_executable=None):
    """Return the exit code; print why on stderr. Removes a stale ``venv``."""
    version_info = tuple(version_info or sys.version_info[:3])
    executable = executable or sys.executable
    base_executable = base_executable or getattr(sys, "_base_executable", executable)
    if version_info[:2] < MIN_VERSION:
        print(
            "error: MediaLayer Match needs Python %d.%d or newer; %s is Python %s.\n"
            "       Install Python 3.11+ and pick it with: make run PYTHON=/path/to/python3.11"
            % (MIN_VERSION + (executable, ".".join(str(n) for n in version_info[:3]))),
            file=sys.stderr,
        )
        return 1
    reason = stale_reason(venv, version_info, base_executable)
    if reason:
        print("note: removing %s (%s); it will be rebuilt with %s" % (venv, reason, executable), file=sys.stderr)
        if os.path.islink(venv) or os.path.isfile(venv):
            os.remove(venv)
        else:
            shutil.rmtree(venv)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(check(sys.argv[1]))
