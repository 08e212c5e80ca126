"""Installing verified wheels with the ordinary clients: ``uv pip`` when there is uv, else ``pip``.

Nothing is fetched by the installer: every wheel was downloaded through TUF
and verified first, and the installer is pointed at that directory alone
(``--no-index --find-links``) with a requirements file pinning each file's
SHA-256 (``--require-hashes``) and ``--no-deps`` (dependencies were resolved
and verified the same way; see :mod:`.dependencies`).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from symphony.hookspecs import RegistryError

__all__ = ["Installer", "Pinned"]

Tool = Literal["uv", "pip"]
_TIMEOUT: Final = 900.0
_TAIL: Final = 12
#: Variables that would point the client at another environment than the one asked for.
_DROPPED: Final = frozenset(
    {"PIP_TARGET", "PIP_PREFIX", "PIP_ROOT", "PIP_USER", "PIP_PYTHON", "UV_PYTHON", "VIRTUAL_ENV"}
)


@dataclass(frozen=True)
class Pinned:
    """One verified wheel to install: its distribution, version and SHA-256."""

    distribution: str
    version: str
    sha256: str


@dataclass(frozen=True)
class Installer:
    """Runs uv or pip against the environment of ``python``."""

    python: Path
    tool: Tool
    prefix: tuple[str, ...]

    @classmethod
    def choose(cls, python: Path, preferred: Literal["auto", "uv", "pip"] = "auto") -> Installer:
        """uv when on PATH or importable (``python -m uv``) and not refused, else pip; RegistryError if neither."""
        if preferred in ("auto", "uv"):
            uv = shutil.which("uv")
            if uv is not None:
                return cls(python, "uv", (uv, "pip"))
            if importlib.util.find_spec("uv") is not None:
                return cls(python, "uv", (sys.executable, "-m", "uv", "pip"))
            if preferred == "uv":
                raise RegistryError("--installer uv: uv is neither on PATH nor importable; install it (pip install uv)")
        if Path(python).absolute() == Path(sys.executable).absolute() or importlib.util.find_spec("pip") is None:
            return cls(python, "pip", (str(python), "-m", "pip"))  # pip's --python would start pip a second time
        return cls(python, "pip", (sys.executable, "-m", "pip", "--python", str(python)))

    def _run(self, arguments: Sequence[str], what: str) -> None:
        target = ("--python", str(self.python)) if self.tool == "uv" else ()
        common = ("--disable-pip-version-check", "--no-input") if self.tool == "pip" else ("--quiet",)
        command = [*self.prefix, *arguments[:1], *target, *common, *arguments[1:]]
        environ = {key: value for key, value in os.environ.items() if key not in _DROPPED}
        try:
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=environ,
                timeout=_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RegistryError(f"{self.tool} took longer than {_TIMEOUT:.0f} s to {what} and was stopped") from None
        except OSError as error:
            raise RegistryError(f"Cannot run {self.tool} to {what}: {error}") from None
        if result.returncode != 0:
            tail = "\n".join(f"  | {line}" for line in result.stdout.strip().splitlines()[-_TAIL:])
            raise RegistryError(f"{self.tool} could not {what} (exit status {result.returncode}):\n{tail}")

    def install(self, wheels: Path, pinned: Sequence[Pinned], *, reinstall: bool = False) -> None:
        """Install exactly ``pinned`` from the verified wheels in ``wheels``, each checked against its hash.

        ``reinstall``: also replace a distribution already installed at the same version (both clients skip it).
        """
        requirements = wheels / "pinned-requirements.txt"
        requirements.write_text(
            "".join(f"{p.distribution}=={p.version} --hash=sha256:{p.sha256}\n" for p in pinned), encoding="utf-8"
        )
        arguments = ["install", "--no-index", "--find-links", str(wheels), "--require-hashes", "--no-deps"]
        if self.tool == "pip":
            arguments.append("--no-cache-dir")
        if reinstall:
            arguments.append("--reinstall" if self.tool == "uv" else "--force-reinstall")
        names = ", ".join(f"{p.distribution} {p.version}" for p in pinned)
        self._run([*arguments, "-r", str(requirements)], f"install {names}")

    def uninstall(self, distribution: str) -> None:
        """Remove ``distribution`` from the environment."""
        self._run(["uninstall", *(["--yes"] if self.tool == "pip" else []), distribution], f"uninstall {distribution}")
