"""Validation has no time budget unless one is asked for: a busy machine must not make a document invalid.

A busy machine is reproduced, not mocked: a profile hook really stalls the
validating thread for a while as the edge stage begins, as a descheduled
process would be.  Nothing asserts on how long validation takes.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any, Final

import pytest
from click.testing import CliRunner

from symphony.builtin_plugins.workflow import Limits, encode
from symphony.builtin_plugins.workflow.validate import validate
from symphony.hookspecs import DataEdge, OperatorNode, Workflow
from symphony.host.cli import cli

from . import test_cli
from .helpers import CATALOGUE, workflow

runner = test_cli.runner  # the fixture: the CLI in-process, in a temporary home

NODES: Final = 5_000
STALL: Final = 0.3  # seconds, three times the old default budget


def chain(length: int) -> Workflow:
    """``length`` render nodes, each feeding the next: valid, with every node connected."""
    nodes = {f"n{i}": OperatorNode(uses="render") for i in range(length)}
    edges = [DataEdge(source=f"n{i}.text", target=f"n{i + 1}.title") for i in range(length - 1)]
    return workflow(nodes, edges, outputs={"text": f"n{length - 1}.text"})


@pytest.fixture
def stalled() -> Iterator[None]:
    """The validating thread loses the CPU for STALL seconds once, as the edge stage begins."""
    pending = [True]

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        if pending and event == "call" and frame.f_code.co_name == "_scan_edges":
            pending.clear()
            sys.setprofile(None)
            time.sleep(STALL)

    sys.setprofile(profile)
    try:
        yield
    finally:
        sys.setprofile(None)
    assert not pending, "the stall never happened: the validator no longer has an edge stage"


def test_the_default_limits_have_no_time_budget() -> None:
    assert Limits().timeout is None


@pytest.mark.usefixtures("stalled")
def test_a_5000_node_workflow_stalled_mid_validation_is_valid_under_the_default_limits() -> None:
    validated = validate(chain(NODES), CATALOGUE)
    assert validated.complete
    assert validated.report().valid, validated.report().problems


@pytest.mark.usefixtures("stalled")
def test_an_explicit_time_budget_still_stops_a_stalled_validation_with_a_timeout_problem() -> None:
    validated = validate(chain(NODES), CATALOGUE, Limits(timeout=STALL / 3))
    assert not validated.complete
    (problem,) = validated.report().problems
    assert problem.kind == "timeout"
    assert problem.message.startswith("Validation stopped after 100 ms, before checking inputs;")


@pytest.fixture
def big(tmp_path: Path) -> Path:
    """A valid 5,000-node chain of the builtin text-template operator, as a TOML file."""
    document = workflow(
        {f"n{i}": OperatorNode(uses="text-template", config={"template": "{value}!"}) for i in range(NODES)},
        [DataEdge(source=f"n{i}.text", target=f"n{i + 1}.values") for i in range(NODES - 1)],
        outputs={"text": f"n{NODES - 1}.text"},
    )
    path = tmp_path / "big.toml"
    path.write_bytes(encode(document, "toml"))
    return path


@pytest.mark.slow
def test_workflow_validate_of_a_stalled_5000_node_workflow_exits_0_by_default(
    runner: CliRunner, big: Path, stalled: None
) -> None:
    result = runner.invoke(cli, ["workflow", "validate", "--json", str(big)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []


@pytest.mark.slow
def test_workflow_validate_keeps_a_time_budget_set_in_the_component_options(
    runner: CliRunner, big: Path, stalled: None
) -> None:
    options = f"components.workflow.options={{timeout = {STALL / 3}}}"
    result = runner.invoke(cli, ["--set", options, "workflow", "validate", "--json", str(big)])
    assert result.exit_code == 1, result.output
    (problem,) = json.loads(result.output)
    assert problem["kind"] == "timeout"
