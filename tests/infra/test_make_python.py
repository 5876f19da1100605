"""`make run` / `make test` check the interpreter before installing anything (issue 16, item 4).

tools/check_python.py refuses a Python older than 3.11 with a clear message and removes a .venv that
another interpreter made. Tested on the script (fake version numbers and venvs), and on the Makefile with
`make -n` (a dry run: the check runs at parse time, nothing is installed) against a throw-away VENV.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tools" / "check_python.py"


def _script():
    spec = importlib.util.spec_from_file_location("check_python", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _venv(path: Path, version: str, home: str) -> Path:
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "python").symlink_to(sys.executable)
    (path / "pyvenv.cfg").write_text(f"home = {home}\ninclude-system-site-packages = false\nversion = {version}\n")
    (path / ".runtime").touch()
    return path


def _this_home() -> str:
    return str(Path(getattr(sys, "_base_executable", sys.executable)).resolve().parent)


def _this_version() -> str:
    return ".".join(map(str, sys.version_info[:3]))


def test_minimum_is_pyprojects_requires_python():
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">={}.{}".format(*_script().MIN_VERSION)


def test_refuses_an_old_python_with_a_clear_message(tmp_path, capsys):
    assert _script().check(str(tmp_path / "venv"), (3, 10, 13), "/usr/bin/python3.10") == 1
    err = capsys.readouterr().err
    assert "needs Python 3.11 or newer" in err and "3.10.13" in err and "PYTHON=" in err


def test_keeps_a_venv_made_by_this_interpreter(tmp_path, capsys):
    venv = _venv(tmp_path / "venv", _this_version(), _this_home())
    assert _script().check(str(venv)) == 0
    assert (venv / ".runtime").exists() and capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("version", "home"),
    [("3.10.13", None), ("3.11.0" if sys.version_info[:3] != (3, 11, 0) else "3.11.1", None), (None, "/elsewhere/bin")],
)
def test_removes_a_venv_made_by_another_interpreter(tmp_path, capsys, version, home):
    venv = _venv(tmp_path / "venv", version or _this_version(), home or _this_home())
    assert _script().check(str(venv)) == 0
    assert not venv.exists()
    assert "removing" in capsys.readouterr().err


def test_removes_a_broken_venv(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)  # no pyvenv.cfg
    assert _script().check(str(venv)) == 0 and not venv.exists()


def test_no_venv_is_fine(tmp_path):
    assert _script().check(str(tmp_path / "absent")) == 0


def test_script_parses_on_old_pythons():
    """The Makefile runs it under the interpreter it checks: no f-strings or annotations."""
    source = SCRIPT.read_text()
    assert 'f"' not in source and "f'" not in source and "->" not in source


# --- the Makefile itself ----------------------------------------------------------------------------


def _make(*args: str) -> subprocess.CompletedProcess:
    if not shutil.which("make"):
        pytest.skip("make not installed")
    return subprocess.run(["make", "-n", "-C", str(REPO), *args], capture_output=True, text=True, timeout=60)


def _fake_python(tmp_path: Path, version: tuple[int, int, int]) -> Path:
    """An interpreter that reports another version to the check (runs the real one underneath)."""
    shim = tmp_path / "fakepython"
    shim.write_text(
        "#!/bin/sh\n"
        f'exec {sys.executable} -c "import sys; sys.argv = sys.argv[1:]; '
        f"sys.path.insert(0, '{SCRIPT.parent}'); import check_python as c; "
        f'sys.exit(c.check(sys.argv[1], {version!r}, \'$0\'))" "$@"\n'
    )
    shim.chmod(0o755)
    return shim


def test_make_run_refuses_an_old_python_before_installing(tmp_path):
    out = _make("run", f"PYTHON={_fake_python(tmp_path, (3, 9, 18))}", f"VENV={tmp_path / 'venv'}")
    assert out.returncode != 0
    assert "needs Python 3.11 or newer" in out.stderr and "nothing was installed" in out.stderr
    assert "pip install" not in out.stdout


def test_make_run_rebuilds_a_venv_of_another_interpreter(tmp_path):
    venv = _venv(tmp_path / "venv", "3.10.13", "/root/.pyenv/versions/3.10.13/bin")
    out = _make("run", f"PYTHON={sys.executable}", f"VENV={venv}")
    assert out.returncode == 0, out.stderr
    assert not venv.exists() and "removing" in out.stderr
    assert f"-m venv {venv}" in out.stdout and "pip install" in out.stdout  # the install would run again


def test_make_run_reuses_a_venv_of_this_interpreter(tmp_path):
    venv = _venv(tmp_path / "venv", _this_version(), _this_home())
    (venv / ".runtime").touch()  # newer than pyproject.toml and the lock
    out = _make("run", f"PYTHON={sys.executable}", f"VENV={venv}")
    assert out.returncode == 0, out.stderr
    assert venv.exists() and "-m venv" not in out.stdout and "medialayer_local" in out.stdout
