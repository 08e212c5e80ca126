"""A throwaway virtual environment that sees Symphony, to pip install into and really uninstall from.

``pip install --target`` sites cannot be uninstalled from (pip refuses what is
outside its environment), so tests of what an uninstall leaves behind use a
real venv: made without pip, it sees Symphony's own environment through a
``.pth`` file, and the test's pip drives it with ``pip --python``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

__all__ = ["Environment"]


class Environment:
    """A virtual environment to pip install into and uninstall from, and ``symphony`` run in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
        self.python_path = root / "venv" / "bin" / "python"
        purelib = subprocess.run(
            [str(self.python_path), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        ours = sysconfig.get_path("purelib")
        Path(purelib, "_symphony.pth").write_text(f"import site; site.addsitedir({ours!r})\n", encoding="utf-8")

    def pip(self, *args: str) -> None:
        command = [sys.executable, "-m", "pip", "--python", str(self.python_path), "--disable-pip-version-check", *args]
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
        assert result.returncode == 0, f"pip {' '.join(args)}:\n{result.stdout}\n{result.stderr}"

    def install(self, *paths: Path) -> None:
        """pip install these source trees (offline, without dependencies, built with what Symphony's venv has)."""
        self.pip("install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet", *map(str, paths))

    def uninstall(self, distribution: str) -> None:
        self.pip("uninstall", "--yes", "--quiet", distribution)

    @property
    def env(self) -> dict[str, str]:
        """No inherited SYMPHONY_* settings; the environment's own cache and data directories."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("SYMPHONY_")}
        env.pop("PYTHONPATH", None)
        env.update(SYMPHONY_CACHE_DIR=str(self.root / "cache"), SYMPHONY_DATA_DIR=str(self.root / "data"))
        return env

    def command(self, *args: str) -> list[str]:
        """The argv of ``symphony ARGS...`` in this environment."""
        return [str(self.python_path), "-c", "from symphony.host.cli import main; main()", *args]

    def python(self, code: str, *args: str) -> subprocess.CompletedProcess[str]:
        """``python -c CODE ARGS...`` in the environment."""
        command = [str(self.python_path), "-c", code, *args]
        return subprocess.run(
            command, cwd=self.root, env=self.env, capture_output=True, text=True, check=False, timeout=120
        )

    def symphony(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args), cwd=self.root, env=self.env, capture_output=True, text=True, check=False, timeout=300
        )

    def ok(self, *args: str) -> str:
        result = self.symphony(*args)
        assert result.returncode == 0, f"symphony {' '.join(args)}: exit {result.returncode}\n{result.stderr}"
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))
