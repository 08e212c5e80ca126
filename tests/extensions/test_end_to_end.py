"""The sample extensions, installed with pip, through ``symphony ext invoke`` and ``symphony run``.

One sample per runtime: the trusted in-process operator, the confined subprocess
fetcher (which may reach 127.0.0.1 and nothing else), the Python wasm component
(read-only access to its data directory) and the hand-written WAT module.  All
run in the real CLI over the shared ``end-to-end`` site; the fetcher talks to a
real HTTP server on loopback through the host.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .e2e import LoopbackServer, loopback_server, serve, share_compiled_wasm

if TYPE_CHECKING:
    from tests.conftest import Installer, Symphony

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "extensions"
SECRET = "tok-e2e-5f3a9c1d7b"
FETCHER_SECRET_ENV = "SYMPHONY_SECRET__SAMPLE_FETCHER__TOKEN"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with loopback_server() as running:
        yield running


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wasmtime's compiled-code cache, shared by the tests: compiling the component takes seconds."""
    return tmp_path_factory.mktemp("compiled-wasm")


@pytest.fixture
def ext(installer: Installer, symphony: Callable[..., Symphony], server: LoopbackServer, compiled: Path) -> Symphony:
    """The CLI over every sample, with the fetcher's endpoint set to the loopback server."""
    runner = symphony(
        installer.site("end-to-end"), SYMPHONY_EXTENSIONS__CONFIG__SAMPLE_FETCHER__ENDPOINT=server.url("/answer")
    )
    return share_compiled_wasm(runner, compiled)


def one_line_error(result: Any) -> str:
    """The single ``Error: ...`` line a failed command printed, checking it is exactly that."""
    assert result.returncode == 1, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return str(lines[0])


def invoke(ext: Symphony, name: str, operation: str, *pairs: str, **env: str) -> Any:
    """``symphony ext invoke NAME OPERATION --input PAIR... --json``: the result."""
    inputs = [arg for pair in pairs for arg in ("--input", pair)]
    return ext.json("ext", "invoke", name, operation, *inputs, env=env or None)["result"]


def grant(ext: Symphony, name: str, *permissions: str) -> None:
    result = ext.run("ext", "grant", name, *permissions)
    assert result.returncode == 0, result.stderr


# --- the trusted in-process operator -------------------------------------------------------


def test_the_trusted_operator_runs_in_process_with_its_configuration(ext: Symphony) -> None:
    grant(ext, "sample-operator", "--trust")
    result = invoke(
        ext, "sample-operator", "text-stats", "text=b a b c", SYMPHONY_EXTENSIONS__CONFIG__SAMPLE_OPERATOR__TOP="1"
    )
    assert result == {"lines": 1, "words": 4, "top_words": ["b"]}


# --- the confined subprocess fetcher ---------------------------------------------------------


def test_the_fetcher_is_denied_with_the_grant_command_until_its_host_is_granted(
    ext: Symphony, server: LoopbackServer
) -> None:
    error = one_line_error(ext.run("ext", "invoke", "sample-fetcher", "ask", "--input", "text=hi"))
    assert "Denied network:127.0.0.1" in error
    assert "`symphony ext grant sample-fetcher network:127.0.0.1`" in error
    assert server.hits == []


def test_the_granted_fetcher_makes_a_real_round_trip_through_the_host(ext: Symphony, server: LoopbackServer) -> None:
    grant(ext, "sample-fetcher", "network:127.0.0.1")
    assert invoke(ext, "sample-fetcher", "ask", "text=how are you?") == {"answer": "echo: how are you?", "status": 200}
    (hit,) = server.hits
    assert (hit.method, hit.path, hit.body) == ("POST", "/answer", "how are you?")


def test_the_granted_fetcher_cannot_reach_an_undeclared_host(ext: Symphony, server: LoopbackServer) -> None:
    grant(ext, "sample-fetcher", "network:127.0.0.1")
    elsewhere = {"SYMPHONY_EXTENSIONS__CONFIG__SAMPLE_FETCHER__ENDPOINT": server.url("/answer", host="localhost")}
    error = one_line_error(ext.run("ext", "invoke", "sample-fetcher", "ask", "--input", "text=hi", env=elsewhere))
    assert f"Denied network:localhost:{server.port} to extension 'sample-fetcher'" in error
    assert "its manifest does not declare it" in error
    assert server.hits == []


def test_the_fetchers_denials_and_its_allowed_request_are_in_the_audit_log(
    ext: Symphony, server: LoopbackServer
) -> None:
    ext.run("ext", "invoke", "sample-fetcher", "ask", "--input", "text=one")
    grant(ext, "sample-fetcher", "network:127.0.0.1")
    invoke(ext, "sample-fetcher", "ask", "text=two")
    elsewhere = {"SYMPHONY_EXTENSIONS__CONFIG__SAMPLE_FETCHER__ENDPOINT": server.url("/answer", host="localhost")}
    ext.run("ext", "invoke", "sample-fetcher", "ask", "--input", "text=three", env=elsewhere)
    entries = ext.json("audit", "--extension", "sample-fetcher")
    assert [(e["permission"], e["decision"], e["rule"]) for e in reversed(entries)] == [
        ("network:127.0.0.1", "denied", "not_granted"),  # refused before it started
        (f"network:127.0.0.1:{server.port}", "allowed", "granted"),
        (f"network:localhost:{server.port}", "denied", "not_declared"),
    ]


# --- wasm -------------------------------------------------------------------------------------


def test_the_wasm_operator_reads_a_file_of_its_granted_read_only_data_directory(ext: Symphony) -> None:
    notes = ext.data_dir / "extensions" / "sample-wasm-operator" / "notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("a quiet morning\nthree words here\n", encoding="utf-8")
    grant(ext, "sample-wasm-operator", "file:read:data")
    assert invoke(ext, "sample-wasm-operator", "summarize", "file=notes.txt") == {
        "file": "notes.txt",
        "title": "A Quiet Morning",
        "lines": 2,
        "words": 6,
        "characters": 33,
    }


def test_the_wasm_operator_sees_no_directory_it_was_not_granted(ext: Symphony) -> None:
    notes = ext.data_dir / "extensions" / "sample-wasm-operator" / "notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("private\n", encoding="utf-8")
    # 'ext invoke' refuses it ungranted before it starts; 'ext learn' starts it, its files confined as granted.
    error = one_line_error(ext.run("ext", "learn", "sample-wasm-operator", "summarize", "--input", "file=notes.txt"))
    assert "cannot read 'notes.txt': No such file or directory" in error


def test_the_installed_wasm_component_is_the_cached_build_of_its_source(ext: Symphony, installer: Installer) -> None:
    from symphony.sandbox.wasm import build_python_component

    installed = installer.site("end-to-end") / "symphony_sample_wasm_operator" / "notes_operator.wasm"
    source = REPO / "sample_extensions" / "symphony-sample-wasm-operator" / "src" / "symphony_sample_wasm_operator"
    assert not (source / "notes_operator.wasm").exists(), "the component must not be committed"
    cache = os.environ.get("SYMPHONY_WASM_BUILD_CACHE") or Path.home() / ".cache" / "symphony" / "wasm-build"
    cached = build_python_component(source / "guest", "notes_operator", cache)  # a cache hit: the wheel built it
    assert cached.read_bytes() == installed.read_bytes()


def test_the_wasm_core_module_runs_from_its_wat_source(ext: Symphony) -> None:
    result = invoke(ext, "sample-wasm-core", "stats", "text=abc")
    assert result == {"bytes": len(json.dumps({"text": "abc"}, separators=(",", ":"))), "lines": 0}


# --- workflows --------------------------------------------------------------------------------


def test_an_example_workflow_runs_extension_nodes_beside_builtin_operators(
    ext: Symphony, server: LoopbackServer
) -> None:
    grant(ext, "sample-fetcher", "network:127.0.0.1")
    grant(ext, "sample-operator", "--trust")
    run = ext.json("run", str(EXAMPLES / "ask-and-measure.toml"), "--input", "question=is it raining today")
    assert run["state"] == "succeeded", run
    assert run["outputs"] == {
        "answer": "echo: is it raining today",
        "top_words": ["echo", "is", "it"],
        "summary": "The endpoint answered in 5 words.",
    }
    assert [hit.body for hit in server.hits] == ["is it raining today"]


def test_an_example_workflow_runs_the_wasm_operator_as_a_node(ext: Symphony) -> None:
    notes = ext.data_dir / "extensions" / "sample-wasm-operator" / "notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("release notes\nall good\n", encoding="utf-8")
    grant(ext, "sample-wasm-operator", "file:read:data")
    run = ext.json("run", str(EXAMPLES / "summarize-notes.toml"), "--input", "file=notes.txt")
    assert run["outputs"] == {"title": "Release Notes", "words": 4, "sentence": "The note is called Release Notes."}


def test_validation_types_extension_nodes_from_their_manifests(ext: Symphony, tmp_path: Path) -> None:
    text = (EXAMPLES / "ask-and-measure.toml").read_text(encoding="utf-8")
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(text.replace('from = "ask.answer"', 'from = "ask.status"'), encoding="utf-8")
    grant(ext, "sample-fetcher", "network:127.0.0.1")
    grant(ext, "sample-operator", "--trust")
    problems = ext.json("workflow", "validate", str(wrong), returncodes=(1,))
    assert [(p["kind"], p["nodes"]) for p in problems] == [("type_mismatch", ["ask", "measure"])]
    assert "ask.status (integer) to measure.text (string)" in problems[0]["message"]


def test_validation_reports_the_extension_node_that_lacks_a_grant(ext: Symphony) -> None:
    problems = ext.json("workflow", "validate", str(EXAMPLES / "ask-and-measure.toml"), returncodes=(1,))
    assert [(p["kind"], p["nodes"]) for p in problems] == [
        ("permission_denied", ["ask"]),
        ("permission_denied", ["measure"]),  # the sample operator runs in-process: it must be trusted first
    ]
    assert "symphony ext grant sample-fetcher network:127.0.0.1" in problems[0]["message"]
    assert "symphony ext grant sample-operator --trust" in problems[1]["message"]


# --- secrets ----------------------------------------------------------------------------------


def test_the_fetchers_secret_reaches_its_endpoint_and_no_output_log_or_audit(
    ext: Symphony, server: LoopbackServer
) -> None:
    secret = {FETCHER_SECRET_ENV: SECRET}
    grant(ext, "sample-fetcher", "network:127.0.0.1")
    grant(ext, "sample-operator", "--trust")
    elsewhere = {**secret, "SYMPHONY_EXTENSIONS__CONFIG__SAMPLE_FETCHER__ENDPOINT": server.url(host="localhost")}
    outputs = [
        ext.run("ext", "show", "sample-fetcher", "--json", env=secret),
        ext.run("ext", "invoke", "sample-fetcher", "ask", "--input", "text=x", "--json", env=secret),
        ext.run("ext", "invoke", "sample-fetcher", "ask", "--input", "text=y", "--json", env=elsewhere),
        ext.run("ext", "ps", "--json", env=secret),
        ext.run("audit", "--json", env=secret),
        ext.run("run", str(EXAMPLES / "ask-and-measure.toml"), "--input", "question=z", "--json", env=secret),
    ]
    served = serve(ext, [("sample-fetcher", "ask", {"text": "w"})], env=secret)
    assert served.results == [{"result": {"answer": "echo: w", "status": 200}}]
    assert [hit.headers.get("Authorization") for hit in server.hits] == [f"Bearer {SECRET}"] * 3
    assert json.loads(outputs[0].stdout)["configuration"]["token"] == "***"
    for result in outputs:
        assert SECRET not in result.stdout + result.stderr, " ".join(map(str, result.args))
    assert "httpcore.http11" in served.log, "the host logged the request at DEBUG"
    assert SECRET not in served.log
    for database in ext.data_dir.rglob("*"):
        if database.is_file():
            assert SECRET.encode() not in database.read_bytes(), database
