"""``symphony stale report|gc``: tables and JSON of what is stale, dry runs, and exit 1 when a source fails."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Symphony

from .conftest import DAY, age_run_in

WORKFLOW = """\
schema_version = 1
id = "w"
name = "w"
[inputs]
text = { type = "string" }
[nodes.parse]
kind = "operator"
uses = "json-parse"
config = { run = { cache = true } }
[[edges]]
kind = "data"
from = "inputs.text"
to = "parse.text"
"""


@pytest.fixture
def cli(tmp_path: Path, symphony: Callable[..., Symphony]) -> Symphony:
    """The real command over a data dir holding one run finished two days ago (past runs = "1d")."""
    runner = symphony()
    runner.home.mkdir(parents=True)
    (runner.home / "symphony.toml").write_text('[components.stale.options]\nruns = "1d"\n')
    workflow = tmp_path / "w.toml"
    workflow.write_text(WORKFLOW)
    age_run_in(runner.data_dir, runner.json("run", str(workflow), "--input", "text=1")["run_id"], 2 * DAY)
    return runner


@pytest.mark.slow
def test_report_prints_a_table_of_source_kind_key_reason_and_size_with_totals(cli: Symphony) -> None:
    result = cli.run("stale", "report")
    assert result.returncode == 0, result.stderr
    header, row, total = result.stdout.splitlines()
    assert header.split() == ["SOURCE", "KIND", "KEY", "REASON", "SIZE"]
    assert row.startswith("runs") and "succeeded run of 'w' finished" in row
    assert total.startswith("stale: 1 item(s), ")


@pytest.mark.slow
def test_gc_dry_run_lists_what_would_go_and_keeps_it(cli: Symphony) -> None:
    dry = cli.json("stale", "gc", "--dry-run")
    assert dry["dry_run"] is True and [item["kind"] for item in dry["items"]] == ["run"]
    assert cli.json("stale", "report")["count"] == 1


@pytest.mark.slow
def test_gc_reclaims_and_the_next_report_is_empty(cli: Symphony) -> None:
    collected = cli.json("stale", "gc")
    assert collected["count"] == 1 and collected["size"] == collected["items"][0]["size"] > 0
    assert cli.json("stale", "report") == {"items": [], "errors": {}, "dry_run": False, "count": 0, "size": 0}


@pytest.mark.slow
def test_a_failing_source_is_named_on_stderr_with_exit_1_and_the_others_still_reclaim(cli: Symphony) -> None:
    (cli.data_dir / "stale.db").mkdir()  # the marks cannot be read: node-cache and artifacts fail
    result = cli.run("stale", "gc")
    assert result.returncode == 1
    assert "error: source 'node-cache' failed: DataError: Cannot open the stale marks database" in result.stderr
    assert "Traceback" not in result.stderr
    assert "reclaimed 1 item(s)" in result.stdout
