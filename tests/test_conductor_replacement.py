"""A distribution replaces the conductor through its port: every caller reaches the replacement.

The ``own-conductor`` test distribution (really installed) provides a
conductor of its own, selected by its distro profile; it logs each port call
to ``DATA_DIR/own-conductor.log``.  ``symphony conductor serve`` serves it,
``symphony conductor status`` and ``doctor`` ask it.  The builtin conductor's
process mode registers its child on whichever bus serves ``message_bus``.
"""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

import pytest

from tests.replacing import WELCOME, Replacement, served_port, serving_fixture

if TYPE_CHECKING:  # pytest imports conftest itself; annotations only need the names
    from tests.conftest import Symphony


REPLACEMENT = Replacement("own-conductor")
cli = REPLACEMENT.cli_fixture()
calls = REPLACEMENT.calls
served = serving_fixture("conductor")


@pytest.mark.slow
def test_the_profile_makes_the_replacement_serve_the_conductor_port(cli: Symphony) -> None:
    assert served_port(cli, "conductor") == ("own-conductor", "own-conductor", "RecordingConductor")


@pytest.mark.slow
def test_the_conductors_health_check_asks_the_replacement(cli: Symphony) -> None:
    health = cli.json("doctor", returncodes=(0, 1))  # 1: ports no plugin provides yet

    assert health["components"]["conductor"]["status"] == "ok"
    assert [call["method"] for call in calls(cli)] == ["get_status"]


@pytest.mark.slow
def test_conductor_status_asks_the_replacement(cli: Symphony) -> None:
    status = cli.json("conductor", "status")

    assert status["state"] == "idle"
    assert [call["method"] for call in calls(cli)] == ["get_status"]


@pytest.mark.slow
def test_conductor_serve_orchestrates_on_the_replacement(
    cli: Symphony, served: tuple[subprocess.Popen[str], str]
) -> None:
    _, address = served
    request = ["bus", "request", address, "conductor.orchestrate", "--to", "conductor"]

    result = cli.run(*request, "--param", f"workflow={WELCOME}", "--param", 'inputs={"user": "Ada"}')

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["state"], answer["outputs"]) == ("succeeded", {"echo": "own-conductor ran welcome.toml"})
    log = calls(cli)
    assert [call["method"] for call in log] == ["submit", "result"]
    assert log[0] == {"method": "submit", "run": answer["execution_id"], "inputs": {"user": "Ada"}, "sink": True}


@pytest.mark.slow
def test_conductor_serve_answers_status_from_the_replacement(
    cli: Symphony, served: tuple[subprocess.Popen[str], str]
) -> None:
    _, address = served

    status = cli.json("conductor", "status", "--unix", address.removeprefix("unix:"))

    assert (status["state"], status["mode"]) == ("idle", "process")
    assert [call["method"] for call in calls(cli)] == ["get_status"]


@pytest.mark.slow
def test_conductor_serve_closes_the_replacement_when_it_stops(
    cli: Symphony, served: tuple[subprocess.Popen[str], str]
) -> None:
    process, _ = served

    process.terminate()

    assert process.wait(30) == 0
    assert [call["method"] for call in calls(cli)] == ["close"]


OWN_BUS = Replacement("own-message-bus")
own_bus = OWN_BUS.cli_fixture()


@pytest.mark.slow
def test_the_conductor_process_is_an_endpoint_on_a_replacement_bus(own_bus: Symphony) -> None:
    status = own_bus.json("--set", "components.conductor.options.mode=process", "conductor", "status")

    assert (status["state"], status["mode"]) == ("idle", "process"), status["reason"]
    log = OWN_BUS.calls(own_bus)
    assert {"method": "register_endpoint", "endpoint": "conductor"} in log
    assert {"method": "request", "recipient": "conductor"} in log


@pytest.mark.slow
def test_serving_a_conductor_lacking_port_methods_is_an_error_naming_port_method_and_plugin(cli: Symphony) -> None:
    result = cli.run("--set", "ports.conductor=partial-conductor", "conductor", "serve", "--unix", "conductor.sock")

    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr, result.stderr
    error = result.stderr.strip()
    assert "conductor.cancel()" in error
    assert "'partial-conductor'" in error
    assert "cancel(), close(), result(), submit()" in error
