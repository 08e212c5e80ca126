"""The issue's test: a cached node's entry is stale after the distribution contributing its operator is upgraded.

A real distribution is built and pip-installed into a virtual environment (v1), a
workflow caching its node runs, the distribution is upgraded to v2 with pip, and the real ``symphony`` command reports
and collects the entry.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Symphony

DISTRIBUTION = "symphony-test-stale-upgrade"

_PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.24"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "{version}"
requires-python = ">=3.11"
dependencies = ["symphony-hookspecs"]

[project.entry-points."symphony.plugins"]
stale-upgrade = "symphony_test_stale_upgrade"

[tool.hatch.build.targets.wheel]
packages = ["symphony_test_stale_upgrade"]
"""

_MODULE = """\
from symphony.hookspecs import OperatorSpec, PortSpec, hookimpl

SYMPHONY_API = "^1.0"


def shout(config):
    async def run(inputs):
        return {{"text": inputs["text"].upper() + " (v{version})"}}

    return run


@hookimpl
def symphony_operators(context):
    return [
        OperatorSpec(
            name="shout",
            factory=shout,
            inputs={{"text": PortSpec(type="string")}},
            outputs={{"text": PortSpec(type="string")}},
        )
    ]
"""

WORKFLOW = """\
schema_version = 1
id = "loud"
name = "loud"

[inputs]
text = { type = "string" }

[outputs]
text = "shout.text"

[nodes.shout]
kind = "operator"
uses = "shout"
config = { run = { cache = true } }

[[edges]]
kind = "data"
from = "inputs.text"
to = "shout.text"
"""


def pip(*args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def venv(path: Path) -> Path:
    """A real virtual environment (without pip: the test's pip installs into it); its site-packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    [site] = path.glob("lib/python*/site-packages")
    return site


def install(environment: Path, source: Path, version: str) -> None:
    """Build the test distribution at ``version`` as a wheel and pip-install it into ``environment``.

    Installing into a real environment (not a ``--target`` directory) is what makes the
    second install an upgrade: pip uninstalls the old version first.
    """
    tree = source / version
    (tree / "symphony_test_stale_upgrade").mkdir(parents=True)
    (tree / "pyproject.toml").write_text(_PYPROJECT.format(name=DISTRIBUTION, version=version))
    (tree / "symphony_test_stale_upgrade" / "__init__.py").write_text(_MODULE.format(version=version))
    wheels = source / "wheels"
    pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "--wheel-dir", str(wheels), str(tree))
    [wheel] = wheels.glob(f"*-{version}-*.whl")
    python = environment / "bin" / "python"
    pip("--python", str(python), "install", "--no-deps", "--no-index", "--upgrade", str(wheel))


@pytest.mark.slow
def test_a_cache_entry_is_stale_after_its_distribution_is_upgraded_and_gc_makes_the_next_run_recompute(
    tmp_path: Path, symphony: Callable[..., Symphony]
) -> None:
    environment = tmp_path / "venv"
    site = venv(environment)
    install(environment, tmp_path / "src", "1.0.0")
    cli = symphony(site)
    workflow = tmp_path / "loud.toml"
    workflow.write_text(WORKFLOW)

    def loud() -> dict[str, Any]:
        document: dict[str, Any] = cli.json("run", str(workflow), "--input", "text=hi")
        return document

    first = loud()
    assert first["outputs"] == {"text": "HI (v1.0.0)"}
    assert cli.json("stale", "report")["items"] == []

    install(environment, tmp_path / "src", "2.0.0")
    assert [p.name for p in site.glob("*.dist-info")] == ["symphony_test_stale_upgrade-2.0.0.dist-info"]
    [item] = [i for i in cli.json("stale", "report")["items"] if i["source"] == "node-cache"]
    assert item["kind"] == "cache" and item["detail"]["run_id"] == first["run_id"]
    assert "'shout'" in item["reason"]
    assert f"{DISTRIBUTION}==1.0.0" in item["reason"] and f"{DISTRIBUTION}==2.0.0" in item["reason"]

    collected = cli.json("stale", "gc")
    assert [i["key"] for i in collected["items"] if i["source"] == "node-cache"] == [item["key"]]
    assert cli.json("stale", "report")["items"] == []
    second = loud()
    assert second["nodes"]["shout"]["cached"] is False
    assert second["outputs"] == {"text": "HI (v2.0.0)"}
