"""The packaging arrows: each distribution depends, among ours, on the SDK alone.

``lint-imports`` (contracts in pyproject.toml, run by ``.ci/run``) keeps the
imports one way; this keeps the declared dependencies the same way, so
``pip install symphony-host`` (or the sandbox, or the builtins) never drags in
another distribution of ours and the libraries it needs.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
DISTRIBUTIONS = ("host", "builtin_plugins", "sandbox", "registry")


def ours(folder: str) -> set[str]:
    project = tomllib.loads((REPO / folder / "pyproject.toml").read_text())["project"]
    names = {Requirement(text).name for text in project.get("dependencies", ())}
    return {name for name in names if name.startswith("symphony-")}


@pytest.mark.parametrize("folder", DISTRIBUTIONS)
def test_a_distribution_depends_on_no_distribution_of_ours_but_the_sdk(folder: str) -> None:
    assert ours(folder) <= {"symphony-hookspecs"}


def test_the_sdk_depends_on_no_distribution_of_ours() -> None:
    assert ours("hookspecs") == set()


def test_the_platform_installs_every_distribution() -> None:
    assert ours(".") == {
        "symphony-hookspecs",
        "symphony-host",
        "symphony-builtins",
        "symphony-sandbox",
        "symphony-registry",
    }
