"""``symphony bus serve|request|send|subscribe``, each a real ``symphony`` process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from .raw_client import terminate

SYMPHONY = str(Path(sys.executable).parent / "symphony")
TOKEN = "cli-token"

pytestmark = pytest.mark.slow  # about 7 s in all: every command is a fresh `symphony` process


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SYMPHONY_CACHE_DIR": str(tmp_path / "cache"),
        "SYMPHONY_DATA_DIR": str(tmp_path / "data"),
        "SYMPHONY_BUS_TOKEN": "",
    }


class Server:
    def __init__(self, process: subprocess.Popen[str], unix: str, tcp: str, socket_path: Path) -> None:
        self.process, self.unix, self.tcp, self.socket_path = process, unix, tcp, socket_path


def read_lines(stream: object, count: int, timeout: float) -> list[str]:
    """``count`` lines from a pipe, or fail after ``timeout`` seconds (never hangs the test run)."""
    lines: list[str] = []

    def read() -> None:
        for _ in range(count):
            line = stream.readline()  # type: ignore[attr-defined]
            if not line:
                return
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    assert len(lines) == count, f"expected {count} line(s) within {timeout} s, got {lines}"
    return lines


@pytest.fixture
def server(tmp_path: Path, env: dict[str, str]) -> Iterator[Server]:
    socket_path = tmp_path / "bus.sock"
    process = subprocess.Popen(
        [SYMPHONY, "bus", "serve", "--unix", str(socket_path), "--tcp", "127.0.0.1:0", "--token", TOKEN],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        first, second = read_lines(process.stdout, 2, 30)
        assert first == f"listening on unix:{socket_path}"
        assert second.startswith("listening on tcp:127.0.0.1:")
        yield Server(process, first.removeprefix("listening on "), second.removeprefix("listening on "), socket_path)
    finally:
        terminate(process)


def symphony(env: dict[str, str], *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SYMPHONY, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False)


def test_request_ping_and_echo_over_unix_and_tcp(server: Server, env: dict[str, str]) -> None:
    for address in (server.unix, server.tcp):
        done = symphony(env, "bus", "request", address, "ping", "--token", TOKEN)
        assert done.returncode == 0, done.stderr
        pong = json.loads(done.stdout)
        assert pong["pong"] is True and "echo" in pong["endpoints"]

    done = symphony(
        env, "bus", "request", server.tcp, "hello", "--to", "echo", "--param", "n=3", "--param", "who=me", "--json"
    )
    assert done.returncode == 1  # no token: refused
    env = {**env, "SYMPHONY_BUS_TOKEN": TOKEN}
    done = symphony(
        env, "bus", "request", server.tcp, "hello", "--to", "echo", "--param", "n=3", "--param", "who=me", "--json"
    )
    assert done.returncode == 0, done.stderr
    envelope = json.loads(done.stdout)
    assert envelope["header"]["message_type"] == "response"
    assert envelope["header"]["sender"] == "echo"
    assert envelope["payload"]["result"] == {"method": "hello", "params": {"n": 3, "who": "me"}}


def test_send_reaches_a_subscriber(server: Server, env: dict[str, str]) -> None:
    env = {**env, "SYMPHONY_BUS_TOKEN": TOKEN}
    subscriber = subprocess.Popen(
        [SYMPHONY, "bus", "subscribe", server.unix, "dag.>", "--count", "2", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        (ready,) = read_lines(subscriber.stderr, 1, 30)
        assert ready == f"subscribed to 'dag.>' on {server.unix}"
        assert symphony(env, "bus", "send", server.tcp, "other.topic", "--data", "x=0").returncode == 0
        for node in ("n1", "n2"):
            done = symphony(env, "bus", "send", server.tcp, "dag.node.finished", "--data", f"node={node}")
            assert done.returncode == 0, done.stderr
        out, _ = subscriber.communicate(timeout=30)
    finally:
        if subscriber.poll() is None:  # pragma: no cover
            subscriber.kill()
            subscriber.communicate()
    assert subscriber.returncode == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["payload"]["topic"], e["payload"]["data"]) for e in events] == [
        ("dag.node.finished", {"node": "n1"}),
        ("dag.node.finished", {"node": "n2"}),
    ]
    assert all(e["header"]["sender"].startswith("cli@") for e in events)  # stamped by the server


def test_failures_exit_1_with_one_line(server: Server, env: dict[str, str]) -> None:
    done = symphony(env, "bus", "request", server.unix, "ping", "--token", "wrong")
    assert done.returncode == 1
    assert done.stderr.strip() == "Error: handshake refused: invalid token"
    assert done.stdout == ""

    done = symphony(env, "bus", "request", server.unix, "ping", "--to", "nobody", "--token", TOKEN)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("Error: [ipc.transport] No endpoint 'nobody'")

    done = symphony(env, "bus", "request", f"unix:{server.socket_path}.missing", "ping")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "cannot connect to" in done.stderr


def test_bad_address_is_a_usage_error(env: dict[str, str]) -> None:
    for address in ("nope", "tcp:localhost", "udp:1.2.3.4:5", "unix:"):
        done = symphony(env, "bus", "request", address, "ping")
        assert done.returncode == 2, (address, done.stderr)
        assert "is not an address: use unix:PATH or tcp:HOST:PORT" in done.stderr
    done = symphony(env, "bus", "serve")
    assert done.returncode == 2
    assert "give at least one of --unix PATH and --tcp HOST:PORT" in done.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_cleanly_on_a_signal(server: Server, signum: signal.Signals) -> None:
    server.process.send_signal(signum)
    assert server.process.wait(10) == 0
    assert not server.socket_path.exists()


def test_serve_speaks_tls_on_tcp_and_clients_verify_it(tmp_path: Path, env: dict[str, str]) -> None:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    tls = ["--tls-cert", str(cert_file), "--tls-key", str(key_file)]
    process = subprocess.Popen(
        [SYMPHONY, "bus", "serve", "--tcp", "127.0.0.1:0", "--token", TOKEN, *tls],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        (line,) = read_lines(process.stdout, 1, 30)
        address = line.removeprefix("listening on ")
        trusted = symphony(env, "bus", "request", address, "ping", "--token", TOKEN, "--tls-ca", str(ca_file))
        assert trusted.returncode == 0, trusted.stderr
        assert json.loads(trusted.stdout)["pong"] is True
        plain = symphony(env, "bus", "request", address, "ping", "--token", TOKEN, "--timeout", "3")
        assert plain.returncode == 1 and "Traceback" not in plain.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
