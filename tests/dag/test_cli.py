"""``symphony run`` and ``symphony runs``: output, JSON documents and exit codes, through the real command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.conftest import Symphony

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TITLE = str(EXAMPLES / "extract-title.toml")


def test_run_prints_progress_lines_then_the_outputs_and_exits_0(symphony: Callable[..., Symphony]) -> None:
    result = symphony().run("run", TITLE, "--input", "html=<title>Hello</title>")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("run ") and lines[0].endswith("started (3 nodes)")
    assert [line.split()[1] for line in lines[1:4]] == ["succeeded"] * 3
    assert "succeeded in" in lines[4]
    assert lines[5:] == ["outputs:", '  sentence = "The page is called Hello."', "  found = true"]


def test_run_json_prints_one_document_with_id_state_outputs_and_metrics(symphony: Callable[..., Symphony]) -> None:
    document = symphony().json("run", TITLE, "--input", "html=<title>Hi</title>")
    assert len(document["run_id"]) == 32
    assert document["state"] == "succeeded"
    assert document["outputs"] == {"sentence": "The page is called Hi.", "found": True}
    assert document["metrics"]["succeeded"] == 3
    assert set(document["nodes"]["find"]) >= {"state", "queue_wait", "run_time", "attempts", "retries", "cached"}


def test_an_input_can_be_read_from_a_file(symphony: Callable[..., Symphony], tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html><title>From a file</title></html>")
    document = symphony().json("run", TITLE, "--input", f"html=@{page}")
    assert document["outputs"]["sentence"] == "The page is called From a file."


def test_an_invalid_workflow_exits_2_with_the_validator_report(
    symphony: Callable[..., Symphony], tmp_path: Path
) -> None:
    flow = tmp_path / "bad.toml"
    flow.write_text('schema_version = 1\nid = "b"\nname = "b"\n[nodes.a]\nkind = "operator"\nuses = "nope"\n')
    result = symphony().run("run", str(flow))
    assert result.returncode == 2
    assert "[unknown_contribution]" in result.stderr
    assert "nothing was run" in result.stderr


def test_an_unreadable_workflow_exits_2(symphony: Callable[..., Symphony], tmp_path: Path) -> None:
    result = symphony().run("run", str(tmp_path / "missing.toml"))
    assert result.returncode == 2
    assert result.stderr.startswith("Error: ")


def test_a_missing_input_is_one_line_and_exit_1(symphony: Callable[..., Symphony]) -> None:
    result = symphony().run("run", TITLE)
    assert result.returncode == 1
    assert result.stderr == "Error: Missing required input(s) html; pass them, e.g. --input html=VALUE.\n"


def test_a_failed_run_exits_1_naming_the_node_and_how_to_resume(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    flow = tmp_path / "fail.toml"
    flow.write_text(
        'schema_version = 1\nid = "f"\nname = "f"\n[nodes.f]\nkind = "operator"\nuses = "test-flaky"\n'
        f'config = {{ counter = "{tmp_path / "n"}", failures = 9, run = {{ attempts = 2, backoff = 0 }} }}\n'
    )
    runner = symphony(test_site)
    result = runner.run("run", str(flow))
    assert result.returncode == 1
    assert "error: Node 'f' failed on attempt 2 of 2 (connection)" in result.stdout
    assert "resume with: symphony runs resume " in result.stdout
    document = runner.json("runs", "show", result.stdout.split()[1])
    assert document["state"] == "failed"
    assert document["nodes"]["f"]["attempts"] == 2
    assert document["nodes"]["f"]["retries"] == 1


def test_runs_list_and_show_report_a_finished_run(symphony: Callable[..., Symphony]) -> None:
    runner = symphony()
    ran = runner.json("run", TITLE, "--input", "html=nothing")
    (listed,) = runner.json("runs", "list")
    assert (listed["run_id"], listed["state"], listed["nodes_total"]) == (ran["run_id"], "succeeded", 3)
    shown = runner.run("runs", "show", ran["run_id"][:8])
    assert shown.returncode == 0, shown.stderr
    assert "pick                 skipped" in shown.stdout
    assert "totals: 3 nodes, 1 succeeded, 0 failed, 2 skipped" in shown.stdout


def test_an_unknown_run_is_one_line_and_exit_1(symphony: Callable[..., Symphony]) -> None:
    result = symphony().run("runs", "show", "0123456789abcdef")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: No run '0123456789abcdef'")
    assert "Traceback" not in result.stderr


def test_run_without_file_or_resume_is_a_usage_error(symphony: Callable[..., Symphony]) -> None:
    result = symphony().run("run")
    assert result.returncode == 2
    assert "Give a workflow FILE" in result.stderr
