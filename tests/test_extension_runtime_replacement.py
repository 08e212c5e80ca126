"""A distribution replaces an extension runtime through ``symphony_extension_runtimes``: ``ext invoke`` uses it.

The ``own-extension-runtime`` test distribution (really installed) contributes
a ``subprocess`` runtime of its own and an extension that asks for that kind;
its profile blocks the ``sandbox`` plugin.  The runtime runs no process and
logs each call to ``DATA_DIR/own-extension-runtime.log``, so the tests see
that the host reached it, and not the sandbox's worker, through the hook alone.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.replacing import logged_calls, replacing_cli

if TYPE_CHECKING:  # pytest imports conftest itself; annotations only need the names
    from tests.conftest import Installer, Symphony


@pytest.fixture
def cli(installer: Installer, tmp_path_factory: pytest.TempPathFactory, symphony: Any) -> Symphony:
    return replacing_cli(installer, tmp_path_factory, symphony, "own-extension-runtime")


def calls(cli: Symphony) -> list[dict[str, Any]]:
    return logged_calls(cli, "own-extension-runtime")


@pytest.mark.slow
def test_symphony_extension_runtimes_of_a_distribution_serve_ext_invoke(cli: Symphony) -> None:
    result = cli.run("ext", "invoke", "own-runtime-ext", "echo", "--input", 'value={"n": 1}', "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == {
        "value": {"ran_in": "own-extension-runtime", "operation": "echo", "input": {"value": {"n": 1}}}
    }
    assert [(call["method"], call["extension"]) for call in calls(cli)] == [
        ("start", "own-runtime-ext"),
        ("invoke", "own-runtime-ext"),
        ("close", "own-runtime-ext"),
    ]
