"""A misspelt name is answered with the closest real one: commands, ``uses``, ports, workflow inputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest

from symphony.builtin_plugins.workflow.validate import validate
from symphony.hookspecs import DataEdge, OperatorNode, PortSpec, Workflow

from .helpers import CATALOGUE, workflow

SYMPHONY: Final = str(Path(sys.executable).parent / "symphony")


def data(source: str, target: str, edge_id: str) -> DataEdge:
    return DataEdge(source=source, target=target, id=edge_id)


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"SYMPHONY_CACHE_DIR": str(tmp_path / "cache"), "SYMPHONY_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run(
        [SYMPHONY, *args], capture_output=True, text=True, cwd=tmp_path, env={**os.environ, **env}, check=False
    )


@pytest.mark.parametrize(("typed", "meant"), [("wokflow", "workflow"), ("docter", "doctor"), ("rn", "run")])
def test_a_misspelt_command_suggests_the_closest_one(tmp_path: Path, typed: str, meant: str) -> None:
    result = run(tmp_path, typed)
    assert result.returncode == 2
    assert f"Error: No such command {typed!r}. Did you mean {meant!r}?" in result.stderr


def test_a_command_like_no_other_is_only_unknown(tmp_path: Path) -> None:
    result = run(tmp_path, "zzzzzz")
    assert result.returncode == 2
    assert "No such command 'zzzzzz'." in result.stderr and "Did you mean" not in result.stderr


# -- in a workflow ---------------------------------------------------------------------------------


def message(doc: Workflow, kind: str) -> str:
    (found,) = [p.message for p in validate(doc, CATALOGUE).report().problems if p.kind == kind]
    return found


def test_an_unknown_uses_suggests_the_closest_contribution_of_its_kind() -> None:
    doc = workflow({"p": OperatorNode(uses="pars")}, outputs={"v": "p.value"})
    assert message(doc, "unknown_contribution") == (
        "Node 'p' uses operator 'pars', which no installed plugin or extension provides. Did you mean 'parse'?"
        " See `symphony nodes list` for what is installed."
    )


def test_a_uses_naming_the_other_kind_says_which_kind_to_write() -> None:
    doc = workflow({"c": OperatorNode(uses="chat")})
    assert message(doc, "unknown_contribution") == (
        "Node 'c' uses operator 'chat', which no installed plugin or extension provides."
        " 'chat' is an instrument: write kind = \"instrument\". See `symphony nodes list` for what is installed."
    )


def test_an_unknown_input_port_on_an_edge_suggests_the_closest_port() -> None:
    doc = workflow({"r": OperatorNode(uses="read"), "p": OperatorNode(uses="parse")}, [data("r.text", "p.txt", "e")])
    assert message(doc, "unknown_port") == (
        "Edge 'e' uses input 'txt' of node 'p', which has no such input (its inputs: text). Did you mean 'text'?"
    )


def test_an_unknown_output_port_on_an_edge_suggests_the_closest_port() -> None:
    doc = workflow({"r": OperatorNode(uses="read"), "p": OperatorNode(uses="parse")}, [data("r.txet", "p.text", "e")])
    assert message(doc, "unknown_port").endswith("(its outputs: size, text). Did you mean 'text'?")


def test_an_undeclared_workflow_input_suggests_the_closest_declared_one() -> None:
    doc = workflow(
        {"p": OperatorNode(uses="parse")},
        [data("inputs.tikcet", "p.text", "e")],
        inputs={"ticket": PortSpec(type="string")},
        outputs={"v": "p.value"},
    )
    assert message(doc, "unknown_port").endswith("(declared: ticket). Did you mean 'ticket'?")


def test_a_port_like_no_other_gets_no_suggestion() -> None:
    doc = workflow({"r": OperatorNode(uses="read"), "p": OperatorNode(uses="parse")}, [data("r.text", "p.zzz", "e")])
    assert "Did you mean" not in message(doc, "unknown_port")
