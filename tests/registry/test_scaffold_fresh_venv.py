"""What ``symphony ext new`` makes passes its own tests in a fresh virtual environment.

The environment holds only Symphony's own distributions (from this checkout) and pytest;
the project is not installed beforehand: pytest-symphony installs it (``pip install -e``),
then its tests run it in its real sandbox through the ``symphony`` command. One runtime,
the confined subprocess, bounds the time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SYMPHONY = Path(sys.executable).parent / "symphony"


def run(
    command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, f"$ {' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return result


def test_the_generated_subprocess_project_passes_its_own_tests_in_a_fresh_venv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    ours = [f"-e{REPO / name}" for name in ("hookspecs", "host", "sandbox", "builtin_plugins")]
    run([uv, "pip", "install", "--quiet", "--python", str(python), *ours, "pytest"])
    project = tmp_path / "hello-fetch"
    run([str(SYMPHONY), "ext", "new", "hello-fetch", str(project), "--runtime", "subprocess", "--publisher", "Acme"])

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYMPHONY_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    tests = run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, env=env)

    assert "3 passed" in tests.stdout, tests.stdout
    installed = run([str(python), "-m", "pip", "show", "hello-fetch"], env=env)  # by pytest-symphony
    assert f"Editable project location: {project}" in installed.stdout
