"""A distribution replaces the DAG tracker through its port: every caller reaches the replacement.

The ``own-dag-tracker`` test distribution (really installed) provides a tracker
of its own, selected by its distro profile; it logs each port call to
``DATA_DIR/own-dag-tracker.log``.  ``symphony run``, ``symphony runs`` and
``symphony conductor serve`` must drive it through the port alone; a provider
lacking a method the callers need is a clear error naming the port, the method
and the plugin.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.replacing import USER, WELCOME, Replacement, serving_fixture

if TYPE_CHECKING:  # pytest imports conftest itself; annotations only need the names
    from tests.conftest import Symphony


REPLACEMENT = Replacement("own-dag-tracker")
cli = REPLACEMENT.cli_fixture()
calls = REPLACEMENT.calls


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr.strip()


@pytest.mark.slow
def test_the_profile_makes_the_replacement_serve_the_dag_tracker_port(cli: Symphony) -> None:
    health = cli.json("doctor")

    report = next(p for p in health["ports"] if p["port"] == "dag_tracker")
    assert (health["distro"], report["provider"], report["type"]) == (
        "own-tracker",
        "own-dag-tracker",
        "RecordingTracker",
    )


@pytest.mark.slow
def test_symphony_run_executes_waits_and_closes_on_the_replacement(cli: Symphony) -> None:
    result = cli.json("run", str(WELCOME), "--input", f"user={USER}")

    assert result["state"] == "succeeded"
    assert result["outputs"] == {"lines": "own-dag-tracker ran welcome"}
    log = calls(cli)
    assert [call["method"] for call in log] == ["execute", "wait", "close"]
    assert log[0]["run"] == log[1]["run"] == result["run_id"]
    assert log[0]["inputs"] == {"user": USER}


@pytest.mark.slow
def test_symphony_run_prints_the_replacements_outcome_without_builtin_metrics(cli: Symphony) -> None:
    result = cli.run("run", str(WELCOME), "--input", f"user={USER}")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith(" succeeded")
    assert 'lines = "own-dag-tracker ran welcome"' in result.stdout


@pytest.mark.slow
def test_an_invalid_workflow_is_refused_before_the_replacement_is_called(cli: Symphony, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(WELCOME.read_text().replace('uses = "json-parse"', 'uses = "no-such-operator"'))

    result = cli.run("run", str(broken))

    assert result.returncode == 2, result
    assert "no-such-operator" in result.stderr
    assert calls(cli) == []


@pytest.mark.slow
def test_runs_resume_continues_a_failed_run_on_the_replacement(cli: Symphony) -> None:
    failed = cli.json("run", str(WELCOME), "--input", f"user={USER}", "--input", "fail=true", returncodes=(1,))
    assert failed["state"] == "failed"

    resumed = cli.json("runs", "resume", failed["run_id"])

    assert (resumed["run_id"], resumed["state"]) == (failed["run_id"], "succeeded")
    assert [call["method"] for call in calls(cli)][3:] == ["status", "resume", "wait", "close"]


@pytest.mark.slow
def test_runs_cancel_asks_the_replacement_and_shows_its_refusal(cli: Symphony) -> None:
    ran = cli.json("run", str(WELCOME), "--input", f"user={USER}")

    result = cli.run("runs", "cancel", ran["run_id"])

    assert "own-dag-tracker cannot cancel it" in one_line_error(result)
    assert [call["method"] for call in calls(cli)][3:] == ["status", "cancel"]


@pytest.mark.slow
def test_runs_list_with_a_replacement_names_the_plugin_that_keeps_the_records(cli: Symphony) -> None:
    error = one_line_error(cli.run("runs", "list"))

    assert "'own-dag-tracker'" in error
    assert "dag_tracker" in error


served = serving_fixture("conductor")


@pytest.mark.slow
def test_conductor_serve_orchestrates_on_the_replacement(
    cli: Symphony, served: tuple[subprocess.Popen[str], str]
) -> None:
    request = ["bus", "request", served[1], "conductor.orchestrate", "--to", "conductor"]
    params = ["--param", f"workflow={WELCOME}", "--param", f"inputs={json.dumps({'user': USER})}"]

    result = cli.run(*request, *params)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["outputs"] == {"lines": "own-dag-tracker ran welcome"}
    assert [call["method"] for call in calls(cli)] == ["execute", "wait"]


@pytest.mark.slow
def test_a_provider_lacking_port_methods_is_an_error_naming_port_method_and_plugin(cli: Symphony) -> None:
    result = cli.run("--set", "ports.dag_tracker=partial-dag-tracker", "run", str(WELCOME), "--input", f"user={USER}")

    error = one_line_error(result)
    assert "dag_tracker.close()" in error
    assert "'partial-dag-tracker'" in error
    assert "close(), wait()" in error
