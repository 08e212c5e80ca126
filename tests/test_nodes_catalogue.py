"""``symphony nodes list|show``: every node a workflow can use, through the real ``symphony`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:  # pytest imports conftest itself; annotations only need the names
    from tests.conftest import Installer, Symphony

BIN: Final = Path(sys.executable).parent
SYMPHONY: Final = str(BIN / "symphony")
BUILTIN_OPERATORS: Final = {
    "text-template",
    "json-parse",
    "json-extract",
    "regex-extract",
    "http-request",
    "file-read",
    "file-write",
}


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "SYMPHONY_CACHE_DIR": str(tmp_path / "cache"),
        "SYMPHONY_DATA_DIR": str(tmp_path / "data"),
        **env,
    }
    environment.pop("COLUMNS", None)
    return subprocess.run([SYMPHONY, *args], capture_output=True, text=True, cwd=tmp_path, env=environment, check=False)


def listing(tmp_path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    result = run(tmp_path, "nodes", "list", "--json")
    assert result.returncode == 0, result.stderr
    return {(entry["kind"], entry["name"]): entry for entry in json.loads(result.stdout)}


def test_list_has_every_builtin_operator_instrument_and_control_node(tmp_path: Path) -> None:
    found = listing(tmp_path)
    assert {name for kind, name in found if kind == "operator"} >= BUILTIN_OPERATORS
    assert ("instrument", "openai-chat") in found
    assert {name for kind, name in found if kind == "control"} == {"branch", "merge", "gate"}


def test_an_entry_has_the_documented_shape(tmp_path: Path) -> None:
    entry = listing(tmp_path)[("operator", "json-extract")]
    assert entry == {
        "name": "json-extract",
        "kind": "operator",
        "description": "Take the value at config.path (dotted keys and list indexes).",
        "inputs": {"value": {"type": "json", "required": True, "description": ""}},
        "outputs": {"value": {"type": "json", "required": True, "description": ""}},
        "config": {"path": {"type": "string", "required": True, "description": ""}},
        "provider": {
            "plugin": "operators",
            "distribution": "symphony-builtins",
            "version": entry["provider"]["version"],
            "extension": None,
        },
        "runtime": "in-process",
        "sandbox": "none: plugin code, trusted when installed",
    }


def test_show_json_is_the_same_object_as_in_the_list(tmp_path: Path) -> None:
    result = run(tmp_path, "nodes", "show", "openai-chat", "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown == listing(tmp_path)[("instrument", "openai-chat")]
    assert {"model", "base_url", "api_key_env", "timeout"} <= set(shown["config"])


def test_show_prints_ports_config_provider_and_sandbox(tmp_path: Path) -> None:
    result = run(tmp_path, "nodes", "show", "regex-extract")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "regex-extract (operator)"
    assert "provided by: symphony-builtins" in result.stdout and "(plugin operators)" in result.stdout
    assert "runtime: in-process; sandbox: none: plugin code, trusted when installed" in lines
    assert any(line.split() == ["groups", "list[string]", "yes"] for line in lines)
    assert any(line.split() == ["timeout", "number", "no"] for line in lines)


def test_the_list_table_fits_80_columns_and_shows_types_as_written(tmp_path: Path) -> None:
    result = run(tmp_path, "nodes", "list")
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "list[string]" in result.stdout  # text, not rich markup


def test_no_color_means_no_escape_sequences(tmp_path: Path) -> None:
    result = run(tmp_path, "nodes", "list", NO_COLOR="1", FORCE_COLOR="1")
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout


def test_an_unknown_name_is_one_error_with_the_closest_name(tmp_path: Path) -> None:
    result = run(tmp_path, "nodes", "show", "json-pars")
    assert result.returncode == 1
    assert result.stderr == (
        "Error: No node is named 'json-pars'. Did you mean 'json-parse'? See `symphony nodes list` for every node.\n"
    )


def test_a_kind_that_does_not_match_is_not_found(tmp_path: Path) -> None:
    result = run(tmp_path, "nodes", "show", "openai-chat", "--kind", "operator")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: No operator is named 'openai-chat'.")


def test_node_names_complete(tmp_path: Path) -> None:
    line = "symphony nodes show json-"
    result = run(tmp_path, COMP_WORDS=line, COMP_CWORD="3", _SYMPHONY_COMPLETE="bash_complete")
    assert result.returncode == 0, result.stderr
    assert [row.partition(",")[2] for row in result.stdout.splitlines()] == ["json-extract", "json-parse"]


@pytest.mark.slow
def test_an_installed_extension_lists_its_node_distribution_and_sandbox(
    installer: Installer, symphony: Callable[..., Symphony]
) -> None:
    installed = symphony(installer.site("extensions"))
    entry = installed.json("nodes", "show", "text-stats", "--json")
    assert entry["kind"] == "operator"
    assert entry["provider"]["extension"] == "sample-operator"
    assert entry["provider"]["distribution"] == "symphony-sample-operator"
    assert entry["provider"]["version"] == "0.1.0"
    assert entry["runtime"] == "python"
    assert entry["sandbox"] == "none: in the host's process, trusted extensions only"
    assert entry["inputs"]["text"]["type"] == "string"
    assert entry["outputs"]["top_words"]["type"] == "list[string]"
