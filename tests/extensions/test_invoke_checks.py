"""``symphony ext invoke`` holds an extension to its manifest before starting it, and ``ext ps`` counts what raised.

Real installed distributions through the real CLI: the trusted in-process
``sample-operator`` (one ``text`` port of type string) and the confined
``sample-fetcher`` (declares ``network:127.0.0.1``).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from symphony.host.cli._ext_checks import fits

from .e2e import LoopbackServer, loopback_server

if TYPE_CHECKING:
    from tests.conftest import Installer, Symphony

pytestmark = pytest.mark.slow


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with loopback_server() as running:
        yield running


@pytest.fixture
def ext(installer: Installer, symphony: Callable[..., Symphony], server: LoopbackServer) -> Symphony:
    runner = symphony(
        installer.site("end-to-end"), SYMPHONY_EXTENSIONS__CONFIG__SAMPLE_FETCHER__ENDPOINT=server.url("/answer")
    )
    trusted = runner.run("ext", "grant", "sample-operator", "--trust")
    assert trusted.returncode == 0, trusted.stderr
    return runner


def refusal(result: subprocess.CompletedProcess[str], returncode: int) -> str:
    """The one error line of a refused invocation."""
    assert result.returncode == returncode, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    return line


def calls(ext: Symphony, name: str) -> tuple[int, int]:
    """(invocations, failures) that ``ext ps`` shows for ``name``; (0, 0) if it never ran."""
    rows = [row for row in ext.json("ext", "ps") if row["name"] == name]
    return (rows[0]["invocations"], rows[0]["failures"]) if rows else (0, 0)


def test_an_input_of_the_wrong_type_is_refused_naming_port_expected_and_found(ext: Symphony) -> None:
    line = refusal(ext.run("ext", "invoke", "sample-operator", "text-stats", "--input", "text=5"), 2)
    assert "'text-stats' of extension 'sample-operator'" in line
    assert "input 'text' expects string, found integer 5" in line
    assert calls(ext, "sample-operator") == (0, 0)


def test_a_missing_required_input_is_refused_with_how_to_give_it(ext: Symphony) -> None:
    line = refusal(ext.run("ext", "invoke", "sample-operator", "text-stats"), 2)
    assert "input 'text' (string) is missing; give it with --input text=VALUE" in line
    assert calls(ext, "sample-operator") == (0, 0)


def test_a_missing_input_next_to_a_near_miss_names_the_likely_typo(ext: Symphony) -> None:
    line = refusal(ext.run("ext", "invoke", "sample-operator", "text-stats", "--input", "txt=b"), 2)
    assert "input 'text' (string) is missing (did you mean 'text' instead of 'txt'?)" in line


def test_inputs_that_fit_the_ports_reach_the_extension(ext: Symphony) -> None:
    answer = ext.json("ext", "invoke", "sample-operator", "text-stats", "--input", "text=b a b", "--json")
    assert answer["result"] == {"lines": 1, "words": 3, "top_words": ["b", "a"]}


def test_a_declared_permission_not_granted_stops_the_extension_before_it_starts(
    ext: Symphony, server: LoopbackServer
) -> None:
    line = refusal(ext.run("ext", "invoke", "sample-fetcher", "ask", "--input", "text=hi"), 1)
    assert "Denied network:127.0.0.1 to extension 'sample-fetcher', so 'ask' was not started" in line
    assert "grant with `symphony ext grant sample-fetcher network:127.0.0.1`" in line
    assert calls(ext, "sample-fetcher") == (0, 0)
    assert server.hits == []


def test_the_refusal_is_in_the_audit_log(ext: Symphony) -> None:
    ext.run("ext", "invoke", "sample-fetcher", "ask", "--input", "text=hi")
    (entry,) = ext.json("audit", "--extension", "sample-fetcher")
    assert (entry["permission"], entry["decision"], entry["rule"]) == ("network:127.0.0.1", "denied", "not_granted")


def test_a_permission_the_policy_forbids_stops_the_extension_even_when_granted(
    ext: Symphony, server: LoopbackServer
) -> None:
    assert ext.run("ext", "grant", "sample-fetcher", "network:127.0.0.1").returncode == 0
    deny = ("--set", 'permissions.deny=["network"]')
    line = refusal(ext.run(*deny, "ext", "invoke", "sample-fetcher", "ask", "--input", "text=hi"), 1)
    assert "so 'ask' was not started: forbidden by the distribution's policy: network:127.0.0.1." in line
    assert server.hits == []
    (entry,) = ext.json(*deny, "audit", "--extension", "sample-fetcher")
    assert (entry["permission"], entry["decision"], entry["rule"]) == ("network:127.0.0.1", "denied", "policy")


def test_invocations_that_raised_are_counted_as_failures(ext: Symphony) -> None:
    ext.json("ext", "invoke", "sample-operator", "text-stats", "--input", "text=a", "--json")
    for _ in range(2):
        refusal(ext.run("ext", "invoke", "sample-operator", "no-such-operation"), 1)
    assert calls(ext, "sample-operator") == (3, 2)


def test_an_exception_an_in_process_extension_raised_is_one_error_line(ext: Symphony) -> None:
    line = refusal(ext.run("ext", "invoke", "sample-operator", "no-such-operation"), 1)
    assert line == (
        "Error: Extension 'sample-operator' raised in 'no-such-operation': ValueError: sample-operator has no"
        " operation 'no-such-operation'; it offers 'text-stats'"
    )


@pytest.mark.parametrize(
    ("type_name", "value"),
    [("list[string]", ["a", 1]), ("list[list[integer]]", [[1], [2.5]]), ("number", True), ("integer", 1.5)],
)
def test_values_that_do_not_fit_a_port_type(type_name: str, value: Any) -> None:
    assert not fits(type_name, value)


@pytest.mark.parametrize(
    ("type_name", "value"),
    [("list[string]", ["a"]), ("number", 1), ("json", {"a": [1]}), ("any", b"x"), ("list[object]", [{}])],
)
def test_values_that_fit_a_port_type(type_name: str, value: Any) -> None:
    assert fits(type_name, value)
