"""``symphony ext invoke``, ``ps`` and trust, over really installed extension distributions."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.conftest import Installer, Symphony

pytestmark = pytest.mark.slow


@pytest.fixture
def ext(installer: Installer, symphony: Callable[..., Symphony]) -> Symphony:
    return symphony(installer.site("extensions"))


def test_an_in_process_extension_runs_only_once_trusted(ext: Symphony) -> None:
    refused = ext.run("ext", "invoke", "sample-operator", "text-stats", "--input", "text=a b a")
    assert refused.returncode == 1
    assert "only trusted extensions may" in refused.stderr
    assert "symphony ext grant sample-operator --trust" in refused.stderr
    assert "Traceback" not in refused.stderr
    ext.run("ext", "grant", "sample-operator", "--trust")
    answer = ext.json("ext", "invoke", "sample-operator", "text-stats", "--input", "text=a b a\nc")
    assert answer["result"] == {"lines": 2, "words": 4, "top_words": ["a", "b", "c"]}


def test_invocations_are_counted_across_processes(ext: Symphony) -> None:
    ext.run("ext", "grant", "sample-operator", "--trust")
    for _ in range(2):
        ext.json("ext", "invoke", "sample-operator", "text-stats", "--input", "text=x")
    (row,) = [r for r in ext.json("ext", "ps") if r["name"] == "sample-operator"]
    assert (row["invocations"], row["failures"], row["disabled"]) == (2, 0, None)


def test_an_unknown_extension_is_a_one_line_error(ext: Symphony) -> None:
    result = ext.run("ext", "invoke", "no-such-extension", "x")
    assert result.returncode == 1
    assert "No extension 'no-such-extension' is installed" in result.stderr
    assert "Traceback" not in result.stderr


WORKFLOW = """
schema_version = 1
id = "ask"
name = "Ask"

[inputs]
prompt = { type = "string" }

[outputs]
answer = "complete.completion"

[nodes.complete]
kind = "instrument"
uses = "nested-echo"

[[edges]]
kind = "data"
from = "inputs.prompt"
to = "complete.prompt"
"""


def test_a_workflow_is_checked_for_permissions_before_it_runs(ext: Symphony) -> None:
    path = ext.home / "ask.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(WORKFLOW)
    problems = ext.json("workflow", "validate", str(path), returncodes=(1,))
    in_process, not_granted = sorted(problems, key=lambda p: "--trust" not in p["message"])
    assert not_granted["kind"] == in_process["kind"] == "permission_denied"
    assert not_granted["nodes"] == in_process["nodes"] == ["complete"]
    assert "runs extension 'ext-nested'" in not_granted["message"]
    assert "symphony ext grant ext-nested model:local-echo" in not_granted["message"]
    assert "in the host's process, which only trusted extensions may" in in_process["message"]
    assert "symphony ext grant ext-nested --trust" in in_process["message"]
    refused = ext.run("run", str(path), "--input", "prompt=hi")
    assert refused.returncode == 2 and "permission_denied" in refused.stdout + refused.stderr
    ext.run("ext", "grant", "ext-nested", "--trust")  # a trusted extension gets what it declares
    assert ext.json("workflow", "validate", str(path)) == []
