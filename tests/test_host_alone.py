"""The kernel alone: a fresh virtual environment with only ``symphony-hookspecs`` and ``symphony-host``.

An integrator composes a distribution from the kernel and the providers they
keep, so the kernel must install, start, list its plugins and run ``doctor``
without the builtins or the sandbox (and without wasmtime, nats-py, networkx).
The environment is built once per module with ``python -m venv`` and pip
(its cache makes later runs fast); it also holds one installed extension
(``ext-marker``, a package with a manifest, not a Symphony distribution) to
show what running it without the sandbox says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the SDK and the host (non-editable, as pip installs them) and one extension."""
    venv = tmp_path_factory.mktemp("kernel") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    installed = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            str(REPO / "hookspecs"),
            str(REPO / "host"),
            str(REPO / "tests" / "distributions" / "ext-marker"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv


def run(kernel: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("SYMPHONY_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(SYMPHONY_CACHE_DIR=str(tmp_path / "cache"), SYMPHONY_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run(
        [str(kernel / "bin" / "symphony"), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def parsed(result: subprocess.CompletedProcess[str]) -> Any:
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def installed_names(kernel: Path) -> set[str]:
    listing = subprocess.run(
        [str(kernel / "bin" / "python"), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {package["name"].lower() for package in json.loads(listing.stdout)}


@pytest.mark.slow
def test_the_kernel_installs_without_the_builtins_the_sandbox_or_their_libraries(kernel: Path) -> None:
    names = installed_names(kernel)

    assert {"symphony-hookspecs", "symphony-host"} <= names
    assert not names & {"symphony-builtins", "symphony-sandbox", "wasmtime", "nats-py", "networkx"}


@pytest.mark.slow
def test_the_kernel_alone_lists_its_own_plugin(kernel: Path, tmp_path: Path) -> None:
    result = run(kernel, tmp_path, "plugins", "list", "--json")

    assert result.returncode == 0, result.stderr
    plugins = {plugin["name"]: plugin for plugin in parsed(result)}
    assert set(plugins) == {"symphony-core", "extensions"}
    assert plugins["extensions"]["status"] == "loaded"


@pytest.mark.slow
def test_the_kernel_alone_runs_doctor_and_reports_the_ports_nobody_provides(kernel: Path, tmp_path: Path) -> None:
    result = run(kernel, tmp_path, "doctor", "--json")

    health = parsed(result)
    ports = {port["port"]: port for port in health["ports"]}
    assert result.returncode == 0, result.stderr
    assert health["status"] == "ok"
    assert ports["extension_runtime"]["provider"] == "extensions"
    assert (ports["dag_tracker"]["provider"], ports["dag_tracker"]["broken"]) == (None, False)


@pytest.mark.slow
def test_running_an_extension_without_the_sandbox_names_the_runtime_and_how_to_install_it(
    kernel: Path, tmp_path: Path
) -> None:
    result = run(kernel, tmp_path, "ext", "invoke", "ext-marker", "marker-echo", "--input", "value=1")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "needs the 'subprocess' runtime, which no loaded plugin provides" in result.stderr
    assert "pip install symphony-sandbox" in result.stderr
