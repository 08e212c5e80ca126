"""`symphony runs show` gives each node's outputs, and every run keeps a log file that `symphony runs logs` reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .test_kill_resume import _edge, _node, _write
from .test_resume_inputs import _failed_on_bad_input

if TYPE_CHECKING:
    from tests.conftest import Symphony

pytestmark = pytest.mark.slow


def _two_nodes(tmp_path: Path) -> Path:
    log = tmp_path / "log"
    return _write(tmp_path / "flow.toml", _node("a", log) + _node("b", log) + _edge("a", "b"), {"out": "b.value"})


def test_runs_show_json_has_every_node_outputs_whole(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    runner = symphony(test_site)
    long = "x" * 500
    run = runner.json("run", str(_two_nodes(tmp_path)), "--input", f"x={long}")

    shown = runner.json("runs", "show", run["run_id"])

    assert shown["nodes"]["a"]["outputs"] == {"value": ["a", long]}
    assert shown["nodes"]["b"]["outputs"] == {"value": ["b", ["a", long]]}


def test_runs_show_lists_node_outputs_cut_to_one_short_line(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    runner = symphony(test_site)
    run = runner.json("run", str(_two_nodes(tmp_path)), "--input", f"x={'x' * 500}")

    shown = runner.run("runs", "show", run["run_id"]).stdout.splitlines()

    (line,) = [line for line in shown if line.startswith("  a.value = ")]
    assert line.startswith('  a.value = ["a", "xxx') and line.endswith("…")
    assert len(line) < 80


def test_each_run_keeps_a_log_of_its_events_named_in_runs_show(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    runner = symphony(test_site)
    run = runner.json("run", str(_two_nodes(tmp_path)), "--input", "x=1")

    shown = runner.json("runs", "show", run["run_id"])

    log = Path(shown["log"])
    assert log.parent == runner.data_dir / "runs"
    topics = [line.split()[1] for line in log.read_text().splitlines()]
    assert topics[0] == "run.started" and topics[-1] == "run.succeeded"
    assert topics.count("node.running") == 2


def test_runs_logs_prints_the_run_log_or_one_node_lines(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    runner = symphony(test_site)
    run = runner.json("run", str(_two_nodes(tmp_path)), "--input", "x=1")

    whole = runner.run("runs", "logs", run["run_id"]).stdout.splitlines()
    of_b = runner.run("runs", "logs", run["run_id"], "b").stdout.splitlines()

    assert {line.split()[2] for line in whole} == {"-", "a", "b"}
    assert [line.split()[1] for line in of_b] == ["node.ready", "node.running", "node.succeeded"]
    assert {line.split()[2] for line in of_b} == {"b"}


def test_runs_logs_of_a_node_the_workflow_lacks_is_an_error(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    runner = symphony(test_site)
    run = runner.json("run", str(_two_nodes(tmp_path)), "--input", "x=1")

    refused = runner.run("runs", "logs", run["run_id"], "c")

    assert refused.returncode == 1
    assert "has no node 'c'" in refused.stderr


def test_runs_draw_shows_each_node_in_its_state(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    runner = symphony(test_site)
    run_id, _ = _failed_on_bad_input(runner, tmp_path)  # check failed, so after never ran; other succeeded

    mermaid = runner.run("runs", "draw", run_id).stdout
    dot = runner.run("runs", "draw", run_id, "--format", "dot").stdout

    assert '["check<br/>test-positive<br/>[failed]"]' in mermaid
    assert '["after<br/>test-record<br/>[not run]"]' in mermaid
    assert '["other<br/>test-record<br/>[succeeded]"]' in mermaid
    assert "classDef failed fill:" in mermaid and "classDef succeeded fill:" in mermaid
    (check_line,) = [line for line in dot.splitlines() if line.lstrip().startswith('"check" [')]
    assert "[failed]" in check_line and 'style="rounded,filled"' in check_line and "fillcolor=" in check_line
    (after_line,) = [line for line in dot.splitlines() if line.lstrip().startswith('"after" [')]
    assert "[not run]" in after_line and "fillcolor" not in after_line
