"""`symphony runs resume RUN --input NAME=VALUE`: a run that failed on bad input continues with corrected inputs.

Real subprocesses of the installed ``symphony`` command over the test operators:
``check`` rejects a number that is not positive (``data.validation``), as a node
given bad input would.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .conftest import started

if TYPE_CHECKING:
    from tests.conftest import Symphony

pytestmark = pytest.mark.slow


def _flow(tmp_path: Path) -> tuple[Path, Path]:
    """inputs.x -> check -> after, and inputs.y -> other, each leaving its name in the log when it starts."""
    log = tmp_path / "log"

    def node(name: str, uses: str) -> str:
        return f'[nodes.{name}]\nkind = "operator"\nuses = "{uses}"\nconfig = {{ name = "{name}", log = "{log}" }}\n'

    def edge(source: str, target: str) -> str:
        return f'[[edges]]\nkind = "data"\nfrom = "{source}"\nto = "{target}.value"\n'

    text = 'schema_version = 1\nid = "fix"\nname = "fix"\n'
    text += '[inputs]\nx = { type = "any" }\ny = { type = "any" }\n'
    text += '[outputs]\nchecked = "after.value"\nother = "other.value"\n'
    text += node("check", "test-positive") + node("after", "test-record") + node("other", "test-record")
    text += edge("inputs.x", "check") + edge("check.value", "after") + edge("inputs.y", "other")
    path = tmp_path / "flow.toml"
    path.write_text(text)
    return path, log


def _failed_on_bad_input(runner: Symphony, tmp_path: Path) -> tuple[str, Path]:
    """A run of the flow that failed on bad input (x = -1); its id and the nodes' log."""
    flow, log = _flow(tmp_path)
    failed = runner.json("run", str(flow), "--input", "x=-1", "--input", "y=2", returncodes=(1,))
    assert failed["failure"]["category"] == "data.validation"
    return str(failed["run_id"]), log


def test_a_run_that_failed_on_bad_input_suggests_resuming_with_corrected_inputs(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    flow, _ = _flow(tmp_path)

    result = symphony(test_site).run("run", str(flow), "--input", "x=-1", "--input", "y=2")

    assert result.returncode == 1
    assert "symphony runs resume " in result.stdout
    assert result.stdout.rstrip().endswith("--input NAME=VALUE")


def test_resuming_a_run_that_failed_on_bad_input_without_corrected_inputs_is_refused(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    runner = symphony(test_site)
    run_id, log = _failed_on_bad_input(runner, tmp_path)

    refused = runner.run("runs", "resume", run_id)

    assert refused.returncode == 1
    assert f"symphony runs resume {run_id} --input NAME=VALUE" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert started(log).count("check") == 1


def test_resuming_with_a_corrected_input_reruns_the_nodes_it_feeds_and_restores_the_others(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    runner = symphony(test_site)
    run_id, log = _failed_on_bad_input(runner, tmp_path)

    resumed = runner.json("runs", "resume", run_id, "--input", "x=5")

    assert resumed["run_id"] == run_id
    assert resumed["state"] == "succeeded"
    assert resumed["outputs"] == {"checked": ["after", 5], "other": ["other", 2]}
    assert sorted(started(log)) == ["after", "check", "check", "other"]
    assert runner.json("runs", "show", run_id)["inputs"] == {"x": 5, "y": 2}


def test_resuming_with_a_changed_input_reruns_a_node_that_had_succeeded_on_the_old_value(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    runner = symphony(test_site)
    run_id, log = _failed_on_bad_input(runner, tmp_path)

    resumed = runner.json("runs", "resume", run_id, "--input", "x=5", "--input", "y=3")

    assert resumed["outputs"] == {"checked": ["after", 5], "other": ["other", 3]}
    assert started(log).count("other") == 2


def test_resuming_with_the_inputs_the_run_already_has_is_refused(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    runner = symphony(test_site)
    run_id, _ = _failed_on_bad_input(runner, tmp_path)

    refused = runner.run("runs", "resume", run_id, "--input", "x=-1")

    assert refused.returncode == 1
    assert "already has these inputs" in refused.stderr


def test_resuming_with_an_input_the_workflow_does_not_declare_is_refused(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    runner = symphony(test_site)
    run_id, _ = _failed_on_bad_input(runner, tmp_path)

    refused = runner.run("runs", "resume", run_id, "--input", "z=5")

    assert refused.returncode == 1
    assert "Unknown input(s) z; the workflow declares: x, y." in refused.stderr


def test_a_node_to_rerun_on_a_changed_input_keeps_no_checkpoint_of_the_old_value(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    """inputs.y -> gate -> other, then check (on inputs.x): y changed to a value gate rejects leaves other unrun."""
    log = tmp_path / "log"
    text = 'schema_version = 1\nid = "stale"\nname = "stale"\n[inputs]\nx = { type = "any" }\ny = { type = "any" }\n'
    text += '[outputs]\nother = "other.value"\n'
    for name, uses, source in (("check", "test-positive", "inputs.x"), ("gate", "test-positive", "inputs.y")):
        text += f'[nodes.{name}]\nkind = "operator"\nuses = "{uses}"\nconfig = {{ name = "{name}", log = "{log}" }}\n'
        text += f'[[edges]]\nkind = "data"\nfrom = "{source}"\nto = "{name}.value"\n'
    text += f'[nodes.other]\nkind = "operator"\nuses = "test-record"\nconfig = {{ name = "other", log = "{log}" }}\n'
    text += '[[edges]]\nkind = "data"\nfrom = "gate.value"\nto = "other.value"\n'
    text += '[[edges]]\nkind = "control"\nfrom = "other"\nto = "check"\n'  # check fails only after other ran
    flow = tmp_path / "flow.toml"
    flow.write_text(text)
    runner = symphony(test_site)
    failed = runner.json("run", str(flow), "--input", "x=-1", "--input", "y=2", returncodes=(1,))
    run_id = failed["run_id"]
    assert runner.json("runs", "show", run_id)["nodes"]["other"]["state"] == "succeeded"

    runner.json("runs", "resume", run_id, "--input", "x=5", "--input", "y=-2", returncodes=(1,))

    assert runner.json("runs", "show", run_id)["nodes"]["other"] == {"state": "pending"}
    resumed = runner.json("runs", "resume", run_id, "--input", "y=3")
    assert resumed["outputs"] == {"other": ["other", 3]}
