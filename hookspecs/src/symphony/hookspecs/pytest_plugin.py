"""pytest-symphony: test an extension the way Symphony runs it.

Shipped with the SDK and loaded by pytest alone (entry point ``pytest11``: ``symphony``).
It imports nothing of the host: every helper runs the real ``symphony`` command in a
subprocess, so a test sees what a user sees: the extension installed, started in its real
sandbox, its permissions checked and its denials reported with the grant to make.

Fixtures:

- ``symphony_project`` (session): the project under test, the ``pyproject.toml`` in pytest's
  rootdir (or the ini option ``symphony_project``), installed in this environment, with
  ``pip install -e`` when it is not (a wasm project, whose component is built into its
  wheel, is installed by hand: ``pip install --no-build-isolation .``).
- ``symphony_host``: a :class:`SymphonyHost` on fresh, temporary data and cache directories.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = ["SymphonyHost", "SymphonyProject"]

#: Settings that are the machine's, not the host's: kept when the rest of SYMPHONY_* is dropped.
_KEPT = frozenset({"SYMPHONY_WASM_BUILD_CACHE"})


@dataclass(frozen=True)
class SymphonyProject:
    """The distribution under test and the extensions its ``symphony.extensions`` entry points name."""

    root: Path
    distribution: str
    extensions: tuple[str, ...]

    @property
    def extension(self) -> str:
        """Its one extension's name (most projects have one)."""
        if len(self.extensions) != 1:
            raise LookupError(
                f"{self.distribution} has {len(self.extensions)} extensions: {', '.join(self.extensions)}"
            )
        return self.extensions[0]


@dataclass(frozen=True)
class SymphonyHost:
    """The real ``symphony`` command over its own data and cache directories (under ``home``)."""

    home: Path
    #: How to run ``symphony``: its script beside this interpreter, else this interpreter running the CLI.
    command: tuple[str, ...]
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """This environment without the user's Symphony settings, and with this host's directories."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYMPHONY_") or k in _KEPT}
        env["SYMPHONY_DATA_DIR"] = str(self.data_dir)
        env["SYMPHONY_CACHE_DIR"] = str(self.cache_dir)
        env.update(self.extra_env)
        env.update(extra or {})
        return env

    def run(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``symphony ARGS...`` in :attr:`home` (so no ``./symphony.toml`` of yours is read)."""
        self.home.mkdir(parents=True, exist_ok=True)
        return subprocess.run(
            [*self.command, *args],
            cwd=self.home,
            env=self.env(env),
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    def json(self, *args: str, env: Mapping[str, str] | None = None) -> Any:
        """``symphony ARGS... --json``, parsed; fails the test unless it exited 0."""
        result = self.run(*args, "--json", env=env)
        if result.returncode != 0 or "Traceback" in result.stderr:
            raise AssertionError(f"symphony failed:\n{_shown(result)}")
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError as error:
            raise AssertionError(f"symphony printed no JSON ({error}):\n{_shown(result)}") from None

    def invoke(
        self, name: str, operation: str, input: Mapping[str, Any] | None = None, *, env: Mapping[str, str] | None = None
    ) -> Any:
        """What OPERATION of extension NAME returned, run once in its real sandbox (``symphony ext invoke``)."""
        return self.json("ext", "invoke", name, operation, "--input-json", json.dumps(dict(input or {})), env=env)[
            "result"
        ]

    def grant(self, name: str, *permissions: str) -> None:
        """``symphony ext grant NAME PERMISSION...`` (``"--trust"`` trusts it to run in-process)."""
        result = self.run("ext", "grant", name, *permissions)
        if result.returncode != 0:
            raise AssertionError(f"the grant failed:\n{_shown(result)}")

    def validate(self, path: Path) -> list[str]:
        """The names of the valid manifests at PATH (``symphony ext validate``); fails with every problem."""
        result = self.run("ext", "validate", str(path), "--json")
        report = json.loads(result.stdout) if result.stdout.startswith("{") else None
        if report is None or not report["valid"]:
            raise AssertionError(f"the manifest is not valid:\n{_shown(result)}")
        return [manifest["name"] for manifest in report["manifests"]]

    def assert_denied(
        self,
        name: str,
        operation: str,
        input: Mapping[str, Any] | None = None,
        *,
        permission: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> str:
        """Invoke and check the host refused it for want of a permission; the refusal's message.

        A refusal says ``Denied PERMISSION`` or names the grant that would allow the call
        (``symphony ext grant NAME PERMISSION``, ``--trust`` for an in-process extension);
        ``permission``, when given, must be the one it names.
        """
        result = self.run("ext", "invoke", name, operation, "--input-json", json.dumps(dict(input or {})), env=env)
        lines = result.stderr.strip().splitlines()
        message = lines[-1].removeprefix("Error: ") if lines else ""
        suffix = f" {permission}" if permission else ""
        denied = f"Denied{suffix} " in message or f"symphony ext grant {name}{suffix}" in message
        if result.returncode == 0 or "Traceback" in result.stderr or not denied:
            wanted = f"a denial of {permission}" if permission else "a denial"
            raise AssertionError(f"expected {wanted} of {name} {operation}, got:\n{_shown(result)}")
        return message


def _shown(result: subprocess.CompletedProcess[str]) -> str:
    return f"$ {' '.join(map(str, result.args))}\nexit {result.returncode}\n{result.stdout}\n{result.stderr}"


def _command() -> tuple[str, ...]:
    """``symphony`` of this environment (never another one found on PATH), so it sees what the tests installed."""
    beside = Path(sys.executable).parent / "symphony"
    if beside.is_file():
        return (str(beside),)
    if importlib.util.find_spec("symphony.host") is None:
        raise pytest.UsageError("pytest-symphony needs the symphony command here: pip install symphony-host")
    return (sys.executable, "-c", "import sys; from symphony.host.cli import main; sys.argv[0] = 'symphony'; main()")


def _read_project(root: Path) -> SymphonyProject:
    pyproject = root / "pyproject.toml"
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise pytest.UsageError(f"pytest-symphony: cannot read {pyproject}: {error}") from None
    project = document.get("project", {})
    extensions = project.get("entry-points", {}).get("symphony.extensions", {})
    if "name" not in project or not extensions:
        raise pytest.UsageError(
            f"pytest-symphony: {pyproject} declares no extension ([project] name and "
            '[project.entry-points."symphony.extensions"]); set the ini option symphony_project to its directory.'
        )
    return SymphonyProject(root=root, distribution=project["name"], extensions=tuple(extensions))


def _ensure_installed(project: SymphonyProject) -> None:
    try:
        importlib.metadata.distribution(project.distribution)
        return
    except importlib.metadata.PackageNotFoundError:
        pass
    command = [sys.executable, "-m", "pip", "install", "--quiet", "-e", str(project.root)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    if result.returncode != 0:
        pytest.fail(
            f"pytest-symphony could not install {project.distribution} (install it yourself, then rerun):\n"
            f"{_shown(result)}",
            pytrace=False,
        )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("symphony_project", "pytest-symphony: the directory of the extension project under test")


@pytest.fixture(scope="session")
def symphony_project(pytestconfig: pytest.Config) -> SymphonyProject:
    """The project under test, installed in this environment (``pip install -e`` when it is not)."""
    configured = str(pytestconfig.getini("symphony_project") or "")
    root = (pytestconfig.rootpath / configured).resolve() if configured else pytestconfig.rootpath
    project = _read_project(root)
    _ensure_installed(project)
    return project


@pytest.fixture
def symphony_host(tmp_path: Path) -> SymphonyHost:
    """The real ``symphony`` command on fresh data and cache directories of this test."""
    return SymphonyHost(home=tmp_path / "symphony-home", command=_command())
