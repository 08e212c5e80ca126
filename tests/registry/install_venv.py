"""A real, throwaway environment to install extensions into, so the project's own .venv is never modified.

It is made with ``python -m venv --without-pip`` and reaches the project's
packages through a ``.pth`` file that adds this interpreter's site-packages
*after* its own: what a test installs there wins, and uninstalling it
touches only the throwaway environment.  ``symphony`` runs from it as
``<venv>/bin/python -m symphony.host.cli``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ThrowawayVenv", "make_venv"]


@dataclass(frozen=True)
class ThrowawayVenv:
    path: Path
    python: Path
    site_packages: Path
    home: Path

    def environ(self, **extra: str) -> dict[str, str]:
        """The environment ``symphony`` runs with here: its own data and cache directories, no CI, no stray config."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SYMPHONY_", "PIP_", "UV_")) and k != "CI"}
        env.update(
            SYMPHONY_DATA_DIR=str(self.home / "data"),
            SYMPHONY_CACHE_DIR=str(self.home / "cache"),
            SYMPHONY_CONFIG_DIR=str(self.home / "config"),
            VIRTUAL_ENV=str(self.path),
            PATH=f"{self.path / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        )
        env.update(extra)
        return env

    def symphony(
        self, *arguments: str, env: Mapping[str, str] | None = None, stdin: int | None = subprocess.DEVNULL
    ) -> subprocess.CompletedProcess[str]:
        """Run ``symphony ARGUMENTS`` with this environment's interpreter; the completed process."""
        return subprocess.run(
            [str(self.python), "-m", "symphony.host.cli", *arguments],
            env=dict(env) if env is not None else self.environ(),
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def distributions(self) -> Sequence[str]:
        """The ``.dist-info`` directories installed in this environment itself."""
        return sorted(path.name for path in self.site_packages.glob("*.dist-info"))


def make_venv(path: Path) -> ThrowawayVenv:
    """A new environment at ``path`` seeing the project's packages behind its own."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=300)
    python = path / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    project = sysconfig.get_path("purelib")
    (site / "zz-symphony-project.pth").write_text(f"import site; site.addsitedir({project!r})\n", encoding="utf-8")
    home = path.parent / f"{path.name}-home"
    home.mkdir()
    return ThrowawayVenv(path=path, python=python, site_packages=site, home=home)
