"""Fixtures for tests that install real distributions and run the real ``symphony`` command.

- ``installer`` (session): builds the source trees under ``tests/distributions/`` and
  ``sample_extensions/`` with real pip into temporary ``--target`` directories, one pip
  call per site and each site at most once per session.  Tests using it must be marked
  ``@pytest.mark.slow`` (enforced at collection).
- ``symphony`` (function): a factory ``symphony(*sites)`` returning a :class:`Symphony`,
  which runs the installed console script as a subprocess with ``PYTHONPATH`` set to the
  sites and its own cache and data directories.
- :func:`parse_json`: the parsed ``--json`` output of a run, checking its exit code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest

REPO: Final = Path(__file__).resolve().parents[1]
DISTRIBUTIONS: Final = Path(__file__).resolve().parent / "distributions"
SAMPLE_DISTRO: Final = REPO / "sample_extensions" / "symphony-sample-distro"
SYMPHONY: Final = Path(sys.executable).parent / "symphony"

#: The distributions each shared site directory holds (names of folders in tests/distributions,
#: or "sample-NAME" for sample_extensions/symphony-sample-NAME).
SITES: Final[Mapping[str, tuple[str, ...]]] = {
    "broken": ("broken-import", "bad-signature", "unknown-hook", "raises-in-startup", "old-api", "replaces-provider"),
    "providers": ("replaces-provider", "conflicting-provider"),
    "sample": ("sample-distro",),
    "two-distros": ("sample-distro", "second-distro"),
    "extensions": (
        "sample-operator",
        "ext-marker",
        "ext-nested",
        "ext-invalid",
        "ext-secret",
        "ext-no-manifest",
    ),
    # Every runtime end to end: trusted in-process, confined subprocess (the fetcher and the
    # hostile extension), wasm (a Python component built at wheel-build time, cached; a WAT module).
    "end-to-end": (
        "sample-operator",
        "sample-fetcher",
        "ext-hostile",
        "sample-wasm-operator",
        "sample-wasm-core",
    ),
}

#: (what, seconds) of every pip call this session, shown in the terminal summary.
_PIP_TIMINGS: list[tuple[str, float]] = []


def project_dir(name: str) -> Path:
    """The source tree of a distribution used by the tests."""
    path = REPO / "sample_extensions" / f"symphony-{name}" if name.startswith("sample-") else DISTRIBUTIONS / name
    if not (path / "pyproject.toml").is_file():
        raise LookupError(f"No distribution source tree {name!r} (looked in {path}).")
    return path


def pip_install(target: Path, projects: Sequence[str]) -> None:
    """Build and install ``projects`` into ``target`` with real pip, offline and without dependencies."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--quiet",
        "--disable-pip-version-check",
        "--target",
        str(target),
        *(str(project_dir(name)) for name in projects),
    ]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    _PIP_TIMINGS.append((f"{target.name}: {', '.join(projects)}", time.perf_counter() - start))
    if result.returncode != 0:
        pytest.fail(f"pip install of {', '.join(projects)} failed:\n{result.stdout}\n{result.stderr}", pytrace=False)


class Installer:
    """Installs distributions into site directories under one session temporary directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._sites: dict[str, Path] = {}

    def site(self, name: str) -> Path:
        """The shared site directory ``name`` of :data:`SITES`, installed on first use.

        Shared by every test of the session: do not install anything more into it.
        """
        if name not in self._sites:
            target = self.root / name
            pip_install(target, SITES[name])
            self._sites[name] = target
        return self._sites[name]

    def install(self, target: Path, *projects: str) -> Path:
        """Install ``projects`` into ``target`` (which may already hold others); for a test's own site."""
        pip_install(target, projects)
        return target


@pytest.fixture(scope="session")
def installer(tmp_path_factory: pytest.TempPathFactory) -> Installer:
    return Installer(tmp_path_factory.mktemp("sites"))


@dataclass(frozen=True)
class Symphony:
    """The real ``symphony`` command over given site directories, isolated from the user's setup."""

    sites: tuple[Path, ...]
    home: Path
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a run: no inherited SYMPHONY_* settings, our sites, cache and data."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("SYMPHONY_")}
        env.pop("PYTHONPATH", None)
        if self.sites:
            env["PYTHONPATH"] = os.pathsep.join(str(site) for site in self.sites)
        env["SYMPHONY_CACHE_DIR"] = str(self.cache_dir)
        env["SYMPHONY_DATA_DIR"] = str(self.data_dir)
        env.update(self.extra_env)
        env.update(extra or {})
        return env

    def run(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``symphony ARGS...`` in :attr:`home` (so no ./symphony.toml is picked up)."""
        return self._run([str(SYMPHONY), *args], env)

    def json(self, *args: str, returncodes: Sequence[int] = (0,), env: Mapping[str, str] | None = None) -> Any:
        """``symphony ARGS... --json``, parsed; the exit code must be one of ``returncodes``."""
        return parse_json(self.run(*args, "--json", env=env), returncodes=returncodes)

    def python(self, code: str, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``python -c CODE ARGS...`` with the same environment, for in-process checks of a fresh host."""
        return self._run([sys.executable, "-c", code, *args], env)

    def _run(self, command: list[str], env: Mapping[str, str] | None) -> subprocess.CompletedProcess[str]:
        self.home.mkdir(parents=True, exist_ok=True)
        return subprocess.run(
            command, cwd=self.home, env=self.env(env), capture_output=True, text=True, check=False, timeout=120
        )


def parse_json(result: subprocess.CompletedProcess[str], *, returncodes: Sequence[int] = (0,)) -> Any:
    """The JSON a ``--json`` run printed; fails with its output if it exited otherwise or crashed."""
    output = f"$ {' '.join(map(str, result.args))}\nexit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.returncode in returncodes, f"unexpected exit code:\n{output}"
    assert "Traceback" not in result.stderr, f"traceback:\n{output}"
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as error:
        pytest.fail(f"not JSON ({error}):\n{output}", pytrace=False)


@pytest.fixture
def symphony(tmp_path: Path) -> Callable[..., Symphony]:
    """``symphony(*sites, **env)``: a :class:`Symphony` over those sites with fresh cache and data directories."""
    made: list[Symphony] = []

    def make(*sites: Path, **extra_env: str) -> Symphony:
        runner = Symphony(sites=sites, home=tmp_path / f"home{len(made)}", extra_env=extra_env)
        made.append(runner)
        return runner

    return make


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [
        item.nodeid
        for item in items
        if "installer" in getattr(item, "fixturenames", ()) and item.get_closest_marker("slow") is None
    ]
    if unmarked:
        raise pytest.UsageError(f"tests that install distributions must be marked slow: {', '.join(unmarked)}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _PIP_TIMINGS:
        terminalreporter.section("pip installs (slow fixtures)")
        for what, seconds in _PIP_TIMINGS:
            terminalreporter.write_line(f"{seconds:6.2f} s  {what}")
        terminalreporter.write_line(f"{sum(s for _, s in _PIP_TIMINGS):6.2f} s  in all")
