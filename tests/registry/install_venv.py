"""A real, throwaway environment to install extensions into, so the project's own .venv is never modified.

Used by the install tests and by the ``registry_install`` benchmark.

It is made with ``python -m venv --without-pip`` and reaches the project's
packages through a ``.pth`` file that adds this interpreter's site-packages
*after* its own: what a test installs there wins, and uninstalling it
touches only the throwaway environment.  ``symphony`` runs from it as
``<venv>/bin/python -c "from symphony.host.cli import main; main()"``.
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

_MAIN = "import sys; from symphony.host.cli import main; sys.argv[0] = 'symphony'; main()"


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

    def command(self, *arguments: str) -> list[str]:
        """The command line running ``symphony ARGUMENTS`` with this environment's interpreter."""
        return [str(self.python), "-c", _MAIN, *arguments]

    def symphony(
        self, *arguments: str, env: Mapping[str, str] | None = None, stdin: int | None = subprocess.DEVNULL
    ) -> subprocess.CompletedProcess[str]:
        """Run ``symphony ARGUMENTS`` with this environment's interpreter; the completed process."""
        return subprocess.run(
            self.command(*arguments),
            env=dict(env) if env is not None else self.environ(),
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def symphony_on_terminal(self, *arguments: str, answer: str) -> subprocess.CompletedProcess[str]:
        """Run ``symphony ARGUMENTS`` with a terminal as stdin, typing ``answer`` (what a user at a prompt does)."""
        leader, follower = os.openpty()
        try:
            process = subprocess.Popen(
                self.command(*arguments),
                env=self.environ(),
                stdin=follower,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            os.close(follower)
            os.write(leader, answer.encode())
            stdout, stderr = process.communicate(timeout=600)
        finally:
            os.close(leader)
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def add_distribution_profile(self, source: str) -> None:
        """Install a distribution profile: ``source`` is a module defining ``PROFILE`` (a DistroProfile)."""
        (self.site_packages / "r3_test_distro.py").write_text(source, encoding="utf-8")
        dist_info = self.site_packages / "r3_test_distro-1.0.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: r3-test-distro\nVersion: 1.0\n\n")
        (dist_info / "entry_points.txt").write_text("[symphony.distros]\nr3-test = r3_test_distro:PROFILE\n")
        (dist_info / "RECORD").write_text(
            "r3_test_distro.py,,\nr3_test_distro-1.0.dist-info/METADATA,,\n"
            "r3_test_distro-1.0.dist-info/entry_points.txt,,\nr3_test_distro-1.0.dist-info/RECORD,,\n"
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
