"""A hostile extension, one escape attempt per test, in a real confined worker.

Each test also checks that a well-behaved worker started beside it still
serves requests afterwards: a hostile extension costs its caller one error,
never the host or the other extensions.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from symphony.hookspecs import ExtensionError
from symphony.sandbox.confine import ConfinementPolicy
from symphony.sandbox.subprocess import (
    SubprocessWorker,
    WorkerCrashedError,
    WorkerProtocolError,
    WorkerTimeoutError,
)

from .conftest import LoopbackServer, allow_list_host_call

MakeWorker = Callable[..., SubprocessWorker]


@pytest.fixture
async def bystander(make_worker: MakeWorker) -> AsyncIterator[SubprocessWorker]:
    worker = make_worker("symphony_test_echo:handle", name="bystander")
    await worker.start()
    yield worker
    assert await worker.invoke("echo", {"still": "serving"}) == {"echo": {"still": "serving"}}


@pytest.fixture
async def hostile(make_worker: MakeWorker, tmp_path: Path) -> SubprocessWorker:
    scope = tmp_path / "granted"
    scope.mkdir()
    policy = ConfinementPolicy(write_paths=(str(scope),), memory_bytes=256 * 1024 * 1024, wall_clock_seconds=10)
    worker = make_worker(policy=policy)
    await worker.start()
    return worker


def _denied(outcome: dict[str, Any], error: str = "PermissionError") -> None:
    assert outcome["outcome"] == "denied", outcome
    assert outcome["error"].startswith(error), outcome


async def test_reading_a_fake_ssh_key_in_the_hosts_home_is_denied(
    hostile: SubprocessWorker, bystander: SubprocessWorker, tmp_path: Path
) -> None:
    key = tmp_path / "home" / ".ssh" / "id_ed25519"
    key.parent.mkdir(parents=True)
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    _denied(await hostile.invoke("read", {"path": str(key)}))
    _denied(await hostile.invoke("list_dir", {"path": str(key.parent)}))


async def test_reading_the_real_root_home_is_denied(hostile: SubprocessWorker, bystander: SubprocessWorker) -> None:
    _denied(await hostile.invoke("list_dir", {"path": os.path.expanduser("~root")}))


async def test_reading_etc_shadow_is_denied_even_as_root(
    hostile: SubprocessWorker, bystander: SubprocessWorker
) -> None:
    assert Path("/etc/shadow").exists()
    _denied(await hostile.invoke("read", {"path": "/etc/shadow"}))


async def test_reading_the_hosts_environment_through_proc_is_denied(
    hostile: SubprocessWorker, bystander: SubprocessWorker
) -> None:
    _denied(await hostile.invoke("read", {"path": f"/proc/{os.getpid()}/environ"}))


async def test_writing_outside_the_granted_scope_is_denied(
    hostile: SubprocessWorker, bystander: SubprocessWorker, tmp_path: Path
) -> None:
    target = tmp_path / "outside.txt"
    _denied(await hostile.invoke("write", {"path": str(target)}))
    assert not target.exists()


async def test_writing_inside_the_granted_scope_is_allowed(
    hostile: SubprocessWorker, bystander: SubprocessWorker, tmp_path: Path
) -> None:
    target = tmp_path / "granted" / "result.txt"
    outcome = await hostile.invoke("write", {"path": str(target), "text": "fine"})
    assert outcome["outcome"] == "allowed", outcome
    assert target.read_text() == "fine"


async def test_writing_in_its_private_working_directory_is_allowed(
    hostile: SubprocessWorker, bystander: SubprocessWorker
) -> None:
    outcome = await hostile.invoke("write", {"path": "scratch.txt", "text": "mine"})
    assert outcome["outcome"] == "allowed", outcome
    assert hostile.workdir is not None and (hostile.workdir / "scratch.txt").read_text() == "mine"


async def test_a_socket_to_an_undeclared_loopback_server_is_denied(
    hostile: SubprocessWorker, bystander: SubprocessWorker
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        _denied(await hostile.invoke("connect", {"host": "127.0.0.1", "port": port}))


async def test_a_mediated_request_to_an_undeclared_host_is_denied_by_the_host(
    make_worker: MakeWorker, bystander: SubprocessWorker, http_server: LoopbackServer
) -> None:
    worker = make_worker(host_call=allow_list_host_call({"declared.example"}))
    await worker.start()
    outcome = await worker.invoke("http", {"url": f"http://127.0.0.1:{http_server.port}/secret"})
    _denied(outcome, "PermissionDeniedError")
    assert "may not reach host '127.0.0.1'" in outcome["error"]
    assert http_server.hits == []


async def test_a_mediated_request_to_a_declared_host_is_performed_by_the_host(
    make_worker: MakeWorker, bystander: SubprocessWorker, http_server: LoopbackServer
) -> None:
    worker = make_worker(host_call=allow_list_host_call({"127.0.0.1"}))
    await worker.start()
    outcome = await worker.invoke("http", {"url": f"http://127.0.0.1:{http_server.port}/items"})
    assert outcome == {"outcome": "allowed", "value": {"status": 200, "body": "hello from /items"}}
    assert http_server.hits == ["/items"]


async def test_the_hosts_environment_is_not_passed_to_the_worker(
    hostile: SubprocessWorker, bystander: SubprocessWorker, monkeypatch: pytest.MonkeyPatch, make_worker: MakeWorker
) -> None:
    monkeypatch.setenv("SYMPHONY_TEST_SECRET", "hunter2")
    worker = make_worker()  # started after the secret was set
    await worker.start()
    environ = (await worker.invoke("environ", {}))["value"]
    assert "SYMPHONY_TEST_SECRET" not in environ
    assert "hunter2" not in repr(environ)
    assert set(environ) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ", "LC_CTYPE"}


@pytest.mark.parametrize("operation", ["fork", "spawn", "exec", "fork_bomb"])
async def test_creating_processes_is_denied(
    hostile: SubprocessWorker, bystander: SubprocessWorker, operation: str
) -> None:
    _denied(await hostile.invoke(operation, {}))
    assert await hostile.ping() > 0


async def test_signalling_the_host_is_denied(hostile: SubprocessWorker, bystander: SubprocessWorker) -> None:
    _denied(await hostile.invoke("signal", {"pid": os.getpid()}))


async def test_allocating_far_past_the_memory_limit_fails_in_the_worker_only(
    hostile: SubprocessWorker, bystander: SubprocessWorker
) -> None:
    with pytest.raises(ExtensionError, match=r"ran out of memory in operation 'allocate' \(memory limit 256 MiB\)"):
        await hostile.invoke("allocate", {"mib": 4096})
    assert await hostile.invoke("allocate", {"mib": 16}) == {"outcome": "allowed", "value": 16 * 1024 * 1024}


async def test_spinning_forever_is_killed_at_the_wall_clock_limit(
    hostile: SubprocessWorker, bystander: SubprocessWorker
) -> None:
    with pytest.raises(WorkerTimeoutError, match=r"did not finish 'spin' within 0.5 s \(wall-clock limit\)"):
        await hostile.invoke("spin", {}, timeout=0.5)
    assert not hostile.running


@pytest.mark.slow
async def test_spinning_forever_is_killed_at_the_cpu_limit(
    make_worker: MakeWorker, bystander: SubprocessWorker
) -> None:
    worker = make_worker(policy=ConfinementPolicy(cpu_seconds=1, wall_clock_seconds=20))
    await worker.start()
    with pytest.raises(WorkerCrashedError, match=r"was killed by SIGXCPU \(CPU time limit 1 s exceeded\)"):
        await worker.invoke("spin", {})


async def test_writing_garbage_to_the_protocol_stream_kills_the_worker_with_a_clear_error(
    hostile: SubprocessWorker, bystander: SubprocessWorker
) -> None:
    with pytest.raises(WorkerProtocolError, match="wrote something that is not the worker protocol"):
        await hostile.invoke("garbage", {})
    assert not hostile.running


async def test_a_crash_names_the_signal_and_the_worker_restarts(
    hostile: SubprocessWorker, bystander: SubprocessWorker
) -> None:
    with pytest.raises(WorkerCrashedError, match=r"worker for 'hostile' \(pid \d+\) was killed by SIGABRT"):
        await hostile.invoke("crash", {})
    await hostile.start()
    assert (await hostile.invoke("fork", {}))["outcome"] == "denied"


async def test_another_extensions_memory_and_files_are_out_of_reach(
    hostile: SubprocessWorker, make_worker: MakeWorker
) -> None:
    victim = make_worker("symphony_test_echo:handle", name="victim", config={"token": "victim-secret"})
    info = await victim.start()
    assert victim.workdir is not None
    (victim.workdir / "notes.txt").write_text("victim-secret")
    for path in (f"/proc/{info.pid}/environ", f"/proc/{info.pid}/mem", str(victim.workdir / "notes.txt")):
        _denied(await hostile.invoke("read", {"path": path}))
    assert await victim.invoke("config", {}) == {"config": {"token": "victim-secret"}}
