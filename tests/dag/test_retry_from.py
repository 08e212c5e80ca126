"""`symphony runs retry RUN --from NODE`: a new run in which NODE and its downstream run again, the rest restored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .conftest import started
from .test_kill_resume import _edge, _node, _write

if TYPE_CHECKING:
    from tests.conftest import Symphony

pytestmark = pytest.mark.slow


def _chain_run(runner: Symphony, tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """A finished run of inputs.x -> a -> b -> c, and a -> side; its document and the nodes' log."""
    log = tmp_path / "log"
    body = _node("a", log) + _node("b", log) + _node("c", log) + _node("side", log)
    body += _edge("a", "b") + _edge("b", "c") + _edge("a", "side")
    flow = _write(tmp_path / "flow.toml", body, {"out": "c.value"})
    return runner.json("run", str(flow), "--input", "x=1"), log


def test_retry_from_a_node_reruns_it_and_its_downstream_only(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    runner = symphony(test_site)
    first, log = _chain_run(runner, tmp_path)

    retried = runner.json("runs", "retry", first["run_id"], "--from", "b")

    assert retried["state"] == "succeeded"
    assert retried["outputs"] == first["outputs"]
    assert sorted(started(log)) == ["a", "b", "b", "c", "c", "side"]


def test_a_retry_is_a_new_run_that_names_the_run_it_retries(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    runner = symphony(test_site)
    first, _ = _chain_run(runner, tmp_path)

    retried = runner.json("runs", "retry", first["run_id"], "--from", "b")

    assert retried["run_id"] != first["run_id"]
    shown = runner.json("runs", "show", retried["run_id"])
    assert shown["parent_id"] == first["run_id"]
    assert {name: node["state"] for name, node in shown["nodes"].items()} == dict.fromkeys(
        ("a", "b", "c", "side"), "succeeded"
    )
    assert runner.json("runs", "show", first["run_id"])["parent_id"] is None


def test_retry_from_a_node_the_workflow_lacks_names_the_closest_one(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    runner = symphony(test_site)
    first, _ = _chain_run(runner, tmp_path)

    refused = runner.run("runs", "retry", first["run_id"], "--from", "sde")

    assert refused.returncode == 1
    assert "has no node 'sde'. Did you mean 'side'?" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert len(runner.json("runs", "list")) == 1
