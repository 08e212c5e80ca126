"""``symphony conductor serve|status``: the real command, in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.replacing import serving

from .conftest import EXAMPLES, WELCOME_LINES, WELCOME_USER

pytestmark = pytest.mark.slow

SYMPHONY = Path(sys.executable).parent / "symphony"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SYMPHONY_")}
    env.pop("PYTHONPATH", None)
    env["SYMPHONY_DATA_DIR"] = str(tmp_path / "data")
    env["SYMPHONY_CACHE_DIR"] = str(tmp_path / "cache")
    return env


def symphony(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = _env(tmp_path)
    return subprocess.run(
        [str(SYMPHONY), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """``symphony conductor serve --unix PATH``, once it listens."""
    socket = tmp_path / "conductor.sock"
    with serving("conductor", socket, env=_env(tmp_path), cwd=tmp_path) as process:
        yield process, socket


def orchestrate_welcome(tmp_path: Path, socket: Path) -> subprocess.CompletedProcess[str]:
    """``conductor.orchestrate`` of examples/welcome.toml, asked with ``symphony bus request``."""
    inputs = json.dumps({"user": WELCOME_USER})
    workflow = f"workflow={EXAMPLES / 'welcome.toml'}"
    request = ["request", f"unix:{socket}", "conductor.orchestrate", "--to", "conductor"]
    return symphony(tmp_path, "bus", *request, "--param", workflow, "--param", f"inputs={inputs}")


def test_serve_on_a_unix_socket_answers_orchestrate_and_status_and_stops_on_sigterm(
    tmp_path: Path, server: tuple[subprocess.Popen[str], Path]
) -> None:
    process, socket = server
    ran = orchestrate_welcome(tmp_path, socket)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["outputs"] == {"lines": WELCOME_LINES}
    status = symphony(tmp_path, "conductor", "status", "--unix", str(socket), "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["pid"] == process.pid
    assert json.loads(status.stdout)["state"] == "idle"

    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0
    assert not socket.exists()


def test_the_socket_server_publishes_run_events_to_subscribers(
    tmp_path: Path, server: tuple[subprocess.Popen[str], Path]
) -> None:
    _, socket = server
    subscriber = subprocess.Popen(
        [str(SYMPHONY), "bus", "subscribe", f"unix:{socket}", "run.>", "--count", "2"],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert subscriber.stderr is not None
        assert "subscribed to 'run.>'" in subscriber.stderr.readline()
        ran = orchestrate_welcome(tmp_path, socket)
        assert ran.returncode == 0, ran.stderr
        out, _ = subscriber.communicate(timeout=30)
    finally:
        if subscriber.poll() is None:
            subscriber.kill()
    topics = [line.split(" ", 1)[0] for line in out.splitlines()]
    assert topics == ["run.started", "run.succeeded"]


def test_an_invalid_workflow_sent_to_the_socket_is_an_error_naming_what_is_wrong(
    tmp_path: Path, server: tuple[subprocess.Popen[str], Path]
) -> None:
    _, socket = server
    result = symphony(
        tmp_path,
        "bus",
        "request",
        f"unix:{socket}",
        "conductor.orchestrate",
        "--to",
        "conductor",
        "--param",
        'workflow={"schema_version": 1, "name": "x"}',
    )
    assert _one_line_error(result) == (
        "Error: [workflow.format] Object missing required field `id`. See docs/workflows.md for the format."
    )


def test_status_of_a_socket_nobody_serves_is_one_line_and_exit_1(tmp_path: Path) -> None:
    line = _one_line_error(symphony(tmp_path, "conductor", "status", "--unix", str(tmp_path / "none.sock")))
    assert "none.sock" in line


def test_a_bad_mode_setting_is_one_line_naming_the_key(tmp_path: Path) -> None:
    line = _one_line_error(
        symphony(tmp_path, "--set", "components.conductor.options.mode=remote", "conductor", "status")
    )
    assert "components.conductor.options.mode" in line


def test_a_token_without_a_socket_is_a_usage_error(tmp_path: Path) -> None:
    result = symphony(tmp_path, "conductor", "serve", "--token", "t")
    assert result.returncode == 2
    assert "--token applies to --unix only" in result.stderr
