"""A distribution replaces the artifact store through its port: the DAG tracker stores and reads through it.

The ``own-artifact-store`` test distribution (really installed) provides a
store of its own, selected by its distro profile; it logs each port call to
``DATA_DIR/own-artifact-store.log``.  ``symphony run`` puts node outputs larger
than ``inline_limit`` into whichever store serves ``artifact_store`` and reads
them back from it (a cached node of a later run); a provider
lacking a method of the port is a clear error naming the port, the method and
the plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.replacing import USER, WELCOME, Replacement, served_port

if TYPE_CHECKING:  # pytest imports conftest itself; annotations only need the names
    from tests.conftest import Symphony

#: Every node's outputs go to the artifact store, however small.
ALL_TO_THE_STORE = ("--set", "components.dag.options.inline_limit=0")


REPLACEMENT = Replacement("own-artifact-store")
cli = REPLACEMENT.cli_fixture()
calls = REPLACEMENT.calls


def run_welcome(cli: Symphony, *options: str) -> Any:
    return cli.json(*options, "run", str(WELCOME), "--input", f"user={USER}")


@pytest.mark.slow
def test_the_profile_makes_the_replacement_serve_the_artifact_store_port(cli: Symphony) -> None:
    assert served_port(cli, "artifact_store") == ("own-artifacts", "own-artifact-store", "RecordingStore")


@pytest.mark.slow
def test_symphony_run_stores_large_node_outputs_in_the_replacement(cli: Symphony) -> None:
    result = run_welcome(cli, *ALL_TO_THE_STORE)

    assert result["state"] == "succeeded"
    stored = [call for call in calls(cli) if call["method"] == "store"]
    assert {call["metadata"]["node"] for call in stored} == {"parse", "greet", "upsell"}
    assert {call["metadata"]["run_id"] for call in stored} == {result["run_id"]}
    assert {call["metadata"]["type"] for call in stored} == {"node-outputs"}


@pytest.mark.slow
def test_outputs_below_the_inline_limit_never_reach_the_replacement(cli: Symphony) -> None:
    result = run_welcome(cli)

    assert result["state"] == "succeeded"
    assert calls(cli) == []


@pytest.mark.slow
def test_a_cached_node_is_read_back_from_the_replacement(cli: Symphony) -> None:
    first = run_welcome(cli, *ALL_TO_THE_STORE)
    parse = next(call["artifact"] for call in calls(cli) if call["metadata"]["node"] == "parse")

    second = run_welcome(cli, *ALL_TO_THE_STORE)

    assert second["nodes"]["parse"]["cached"] is True
    assert second["outputs"] == first["outputs"]
    assert {"method": "retrieve", "artifact": parse} in calls(cli)


@pytest.mark.slow
def test_a_provider_lacking_port_methods_is_an_error_naming_port_method_and_plugin(cli: Symphony) -> None:
    result = cli.run(
        "--set", "ports.artifact_store=partial-artifact-store", "run", str(WELCOME), "--input", f"user={USER}"
    )

    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr, result.stderr
    error = result.stderr.strip()
    assert "artifact_store.info()" in error
    assert "'partial-artifact-store'" in error
    assert "info(), retrieve(), search()" in error


@pytest.mark.slow
def test_doctor_checks_the_replacement_not_the_builtin_directory(cli: Symphony) -> None:
    health = cli.json("doctor", returncodes=(0, 1))  # 1: ports no plugin provides yet

    assert health["checks"]["artifact_store"]["status"] == "ok"
    assert health["checks"]["artifact_store"]["message"] == "served by plugin 'own-artifact-store'"
