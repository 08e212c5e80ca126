"""``symphony workflow validate|convert|show`` in-process, against the really installed builtins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest
from click.testing import CliRunner

from symphony.builtin_plugins.workflow import decode, load
from symphony.builtin_plugins.workflow.formats import FORMATS, Format
from symphony.builtin_plugins.workflow.render import to_dot, to_mermaid
from symphony.host.cli import cli

EXAMPLES: Final = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.toml"))
TRIAGE: Final = EXAMPLES[0].parent / "triage.toml"
SYMPHONY: Final = str(Path(sys.executable).parent / "symphony")

BAD: Final = """\
schema_version = 1
id = "bad"
name = "Bad"

[nodes.parse]
kind = "operator"
uses = "json-parse"

[nodes.x]
kind = "operator"
uses = "translate"

[[edges]]
kind = "data"
id = "g"
from = "ghost.text"
to = "parse.text"
"""

WITH_NULL: Final = '{"schema_version": 1, "id": "w", "name": "w", "nodes": {"a": {"kind": "operator", "uses": "x",'
WITH_NULL_END: Final = ' "config": {"k": null}}}}'


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYMPHONY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SYMPHONY_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- validate ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_validate_accepts_the_examples(runner: CliRunner, path: Path) -> None:
    result = runner.invoke(cli, ["workflow", "validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output == f"{path}: valid (0 error(s), 0 warning(s))\n"


def test_validate_lists_every_problem_and_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", BAD)
    result = runner.invoke(cli, ["workflow", "validate", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "error: [dangling_edge] Edge 'g' goes from 'ghost', which is not a node of this workflow;"
        " add the node or fix the name. (ghost, parse, g)",
        "error: [unknown_contribution] Node 'x' uses operator 'translate', which no installed plugin or extension"
        " provides. See `symphony nodes list` for what is installed. (x)",
        "warning: [dead_end] The output of node 'parse' goes nowhere: connect it, list it under [outputs],"
        " or remove the node. (parse)",
        f"{path}: invalid (2 error(s), 1 warning(s))",
    ]


def test_validate_json_lists_every_problem_and_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["workflow", "validate", "--json", str(write(tmp_path, "bad.toml", BAD))])
    assert result.exit_code == 1
    assert json.loads(result.output) == [
        {
            "kind": "dangling_edge",
            "nodes": ["ghost", "parse"],
            "edges": ["g"],
            "message": "Edge 'g' goes from 'ghost', which is not a node of this workflow;"
            " add the node or fix the name.",
            "severity": "error",
        },
        {
            "kind": "unknown_contribution",
            "nodes": ["x"],
            "edges": [],
            "message": "Node 'x' uses operator 'translate', which no installed plugin or extension provides."
            " See `symphony nodes list` for what is installed.",
            "severity": "error",
        },
        {
            "kind": "dead_end",
            "nodes": ["parse"],
            "edges": [],
            "message": "The output of node 'parse' goes nowhere: connect it, list it under [outputs],"
            " or remove the node.",
            "severity": "warning",
        },
    ]


def test_validate_json_of_a_valid_document_is_an_empty_list(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["workflow", "validate", "--json", str(TRIAGE)])
    assert result.exit_code == 0 and json.loads(result.output) == []


def test_warnings_alone_do_not_fail_validation(runner: CliRunner, tmp_path: Path) -> None:
    only_warning = BAD.split("[nodes.x]")[0].replace(
        "[nodes.parse]", '[inputs]\ntext = { type = "string" }\n\n[nodes.parse]'
    )
    only_warning += '[[edges]]\nkind = "data"\nfrom = "inputs.text"\nto = "parse.text"\n'
    result = runner.invoke(cli, ["workflow", "validate", str(write(tmp_path, "warn.toml", only_warning))])
    assert result.exit_code == 0, result.output
    assert result.output.endswith("warn.toml: valid (0 error(s), 1 warning(s))\n")


def test_an_unparsable_file_exits_2_with_line_and_column(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "broken.toml", 'schema_version = 1\nid = "w"\nname = \n')
    result = runner.invoke(cli, ["workflow", "validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {path}: Invalid value at line 3, column 8.\n"
    assert result.stdout == ""


def test_malformed_json_exits_2_with_line_and_column(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "broken.json", '{"schema_version": 1,\n "id": }')
    result = runner.invoke(cli, ["workflow", "validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {path}: JSON is malformed: invalid character at line 2, column 8.\n"


def test_a_missing_file_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    result = runner.invoke(cli, ["workflow", "validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {path}: Cannot read {path}: No such file or directory.\n"


def test_a_newer_document_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "new.toml", 'schema_version = 2\nid = "w"\nname = "w"\n')
    result = runner.invoke(cli, ["workflow", "validate", str(path)])
    assert result.exit_code == 2
    assert "schema_version 2, newer than the 1 this Symphony reads" in result.stderr


def test_the_limits_come_from_the_workflow_component_options(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["workflow", "validate", str(TRIAGE)]).exit_code == 0  # an earlier run's settings
    options = "components.workflow.options={max_nodes = 2, max_edges = 100}"  # must not leak into this one
    result = runner.invoke(cli, ["--set", options, "workflow", "validate", "--json", str(TRIAGE)])
    assert result.exit_code == 1, result.output
    (problem,) = json.loads(result.output)
    assert problem["kind"] == "limit"
    assert problem["message"].startswith("The workflow has 5 nodes and 8 edges; the limits are 2 nodes and 100 edges.")


def test_invalid_limits_are_a_one_line_settings_error(tmp_path: Path) -> None:
    options = "components.workflow.options={max_nodes = 'x'}"
    result = subprocess.run(
        [SYMPHONY, "--set", options, "workflow", "validate", str(TRIAGE)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SYMPHONY_CACHE_DIR": str(tmp_path / "cache"), "SYMPHONY_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.returncode == 1
    assert result.stderr.startswith(
        "Error: Invalid setting `components.workflow.options.max_nodes` = 'x': Expected `int`, got `str`."
    )
    assert len(result.stderr.splitlines()) == 1


def test_show_says_a_limit_stopped_it_rather_than_a_cycle(runner: CliRunner) -> None:
    options = "components.workflow.options={max_nodes = 2}"
    result = runner.invoke(cli, ["--set", options, "workflow", "show", str(TRIAGE)])
    assert result.exit_code == 1
    assert "No execution levels: The workflow has 5 nodes" in result.output


# -- convert ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_convert_writes_each_format_to_standard_output(runner: CliRunner, fmt: Format) -> None:
    result = runner.invoke(cli, ["workflow", "convert", str(TRIAGE), "--to", fmt])
    assert result.exit_code == 0, result.output
    assert decode(result.stdout_bytes, fmt) == load(TRIAGE)


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("toml", "out.toml"), ("json", "out.json"), ("json-pretty", "out.json"), ("msgpack", "out.msgpack")],
)
def test_convert_writes_each_format_to_a_file(runner: CliRunner, tmp_path: Path, fmt: str, name: str) -> None:
    output = tmp_path / name
    result = runner.invoke(cli, ["workflow", "convert", str(TRIAGE), "--to", fmt, "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == b""
    assert load(output) == load(TRIAGE)


def test_convert_chains_through_every_format_without_loss(runner: CliRunner, tmp_path: Path) -> None:
    source = EXAMPLES[0]
    for fmt, name in [("json-pretty", "a.json"), ("msgpack", "b.msgpack"), ("json", "c.json"), ("toml", "d.toml")]:
        target = tmp_path / name
        assert runner.invoke(cli, ["workflow", "convert", str(source), "--to", fmt, "-o", str(target)]).exit_code == 0
        source = target
    assert load(source) == load(EXAMPLES[0])


def test_convert_to_toml_of_a_null_exits_1_and_writes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "null.json", WITH_NULL + WITH_NULL_END)
    output = tmp_path / "null.toml"
    result = runner.invoke(cli, ["workflow", "convert", str(path), "--to", "toml", "-o", str(output)])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: This workflow cannot be written as TOML (Object of type 'NoneType' is not TOML serializable);"
        " TOML has no null. Use JSON, or remove the null value.\n"
    )
    assert sorted(entry.name for entry in tmp_path.iterdir() if entry.is_file()) == ["null.json"]


def test_convert_of_an_unparsable_file_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "broken.toml", "schema_version = \n")
    result = runner.invoke(cli, ["workflow", "convert", str(path), "--to", "json"])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {path}: Invalid value at line 1, column 18.\n"


def test_convert_refuses_an_unknown_format(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["workflow", "convert", str(TRIAGE), "--to", "yaml"])
    assert result.exit_code == 2 and "'yaml' is not one of" in result.output


# -- show -------------------------------------------------------------------------------------


def test_show_prints_levels_and_the_critical_path(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["workflow", "show", str(TRIAGE)])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Ticket triage 0.2.0 (5 nodes, 8 edges)\n"
        "  level 0: parse\n"
        "  level 1: route\n"
        "  level 2: escalate, receipt\n"
        "  level 3: reply\n"
        "  critical path: parse -> route -> escalate -> reply\n"
    )


def test_show_of_a_cyclic_workflow_says_there_are_no_levels(runner: CliRunner, tmp_path: Path) -> None:
    text = 'schema_version = 1\nid = "c"\nname = "Loop"\n'
    text += '[nodes.a]\nkind = "control"\ncontrol = "branch"\n[nodes.b]\nkind = "control"\ncontrol = "branch"\n'
    text += '[[edges]]\nkind = "control"\nfrom = "a"\nto = "b"\n[[edges]]\nkind = "control"\nfrom = "b"\nto = "a"\n'
    result = runner.invoke(cli, ["workflow", "show", str(write(tmp_path, "loop.toml", text))])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Loop 0.1.0 (2 nodes, 2 edges)\n"
        "No execution levels: the graph has a cycle (run `symphony workflow validate`).\n"
    )


@pytest.mark.parametrize(("fmt", "draw"), [("dot", to_dot), ("mermaid", to_mermaid)])
def test_show_draws_dot_and_mermaid(runner: CliRunner, fmt: str, draw: object) -> None:
    result = runner.invoke(cli, ["workflow", "show", str(TRIAGE), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert callable(draw)
    assert result.output == draw(load(TRIAGE))
