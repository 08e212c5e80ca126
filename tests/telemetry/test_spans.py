"""A whole ``symphony run`` traced: run → node → invocation → sandbox hop, with their attributes.

The spans are collected by the OpenTelemetry SDK's InMemorySpanExporter behind the
application's tracer provider, in the process that runs the real CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.test_invoke_path import WORKFLOW

from .spans import IN_MEMORY, Span, read

if TYPE_CHECKING:
    from tests.conftest import Installer, Symphony

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def traced(cli: Symphony, *args: str) -> list[Span]:
    """The root spans of ``symphony ARGS`` run in a process whose application traces into memory."""
    out = cli.home / "spans.json"
    result = cli.python(IN_MEMORY, str(out), *args)
    assert out.is_file(), f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return read(out)


@pytest.mark.slow
def test_a_run_of_a_builtin_operator_and_a_sandboxed_extension_is_one_trace_down_to_the_sandbox_hop(
    installer: Installer, symphony: Callable[..., Symphony]
) -> None:
    cli = symphony(installer.site("end-to-end"))
    cli.home.mkdir(parents=True, exist_ok=True)
    (cli.home / "mixed.toml").write_text(WORKFLOW)
    (run,) = traced(cli, "run", "mixed.toml", "--input", 'user={"name": "Ada"}', "--json")
    assert run.name == "run mixed"
    assert run.attributes["symphony.workflow.id"] == "mixed" and run.attributes["symphony.state"] == "succeeded"
    run_id = run.attributes["symphony.run.id"]
    assert sorted(span.name for span in run.children) == ["node count", "node greet"]

    greet = run.child("node greet").child("invoke text-template")
    assert greet.attributes == {
        "symphony.contribution": "text-template",
        "symphony.contribution.kind": "operator",
        "symphony.plugin": "operators",
        "symphony.runtime": "in-process",
        "symphony.run.id": run_id,
        "symphony.node.id": "greet",
        "symphony.attempt": 1,
    }
    count = run.child("node count").child("invoke stats")
    assert (count.attributes["symphony.runtime"], count.attributes["symphony.extension"]) == (
        "wasm",
        "sample-wasm-core",
    )
    hop = count.child("sandbox sample-wasm-core:stats")
    assert hop.kind == "CLIENT" and hop.children == []
    assert (hop.attributes["symphony.run.id"], hop.attributes["symphony.node.id"]) == (run_id, "count")
    assert hop.attributes["symphony.runtime"] == "wasm" and hop.attributes["symphony.contribution.kind"] == "extension"


def test_a_failed_node_marks_its_invocation_node_and_run_spans_as_errors(symphony: Callable[..., Symphony]) -> None:
    cli = symphony()
    (run,) = traced(cli, "run", str(EXAMPLES / "welcome.toml"), "--input", "user=not json", "--json")
    node = run.child("node parse")
    invocations = [span for span in node.children if span.name == "invoke json-parse"]
    assert invocations and all(span.status == "ERROR" for span in invocations)
    assert [span.attributes["symphony.attempt"] for span in invocations] == list(range(1, len(invocations) + 1))
    assert node.status == "ERROR" and node.attributes["symphony.state"] == "failed"
    assert run.status == "ERROR" and run.attributes["symphony.state"] == "failed"
