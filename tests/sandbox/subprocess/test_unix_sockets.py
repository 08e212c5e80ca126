"""Unix-domain sockets from a confined worker: no way to reach a local service (issue 10, defect 1).

A real listening server (a thread here, a real ``symphony bus serve --unix`` in
the slow test) waits on a pathname and an abstract address; the hostile
extension tries every route to it.  The tests run as root in CI, so a denial
here is also a denial for a root host.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from symphony.sandbox.confine import ConfinementPolicy
from symphony.sandbox.subprocess import SubprocessWorker

MakeWorker = Callable[..., SubprocessWorker]
ESCAPES = "symphony_test_escapes:handle"


class UnixService:
    """A local service on a pathname and an abstract address; records every connection it accepts."""

    def __init__(self, directory: Path) -> None:
        self.path = str(directory / "service.sock")
        self.abstract = f"symphony-test-{uuid.uuid4().hex}"
        self.accepted: list[str] = []
        self.listeners = [self._listen(self.path), self._listen("\0" + self.abstract)]
        self.datagrams = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.datagram_path = str(directory / "datagrams.sock")
        self.datagrams.bind(self.datagram_path)
        self.datagrams.setblocking(False)
        self.threads = [threading.Thread(target=self._serve, args=(s,), daemon=True) for s in self.listeners]
        for thread in self.threads:
            thread.start()

    @staticmethod
    def _listen(address: str) -> socket.socket:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(address)
        server.listen()
        return server

    def _serve(self, server: socket.socket) -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return  # closed by close()
            with connection:
                self.accepted.append(repr(server.getsockname()))
                connection.sendall(b"hello from the host service\n")

    def received_datagrams(self) -> list[bytes]:
        received = []
        while True:
            try:
                received.append(self.datagrams.recv(1000))
            except BlockingIOError:
                return received

    def close(self) -> None:
        for listener in self.listeners:
            listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        self.datagrams.close()


@pytest.fixture
def service() -> Iterator[UnixService]:
    directory = Path(tempfile.mkdtemp(prefix="sym-unix-", dir="/tmp"))  # short: sun_path holds 108 bytes
    service = UnixService(directory)
    yield service
    service.close()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def escapes(make_worker: MakeWorker) -> SubprocessWorker:
    worker = make_worker(ESCAPES, name="escapes")
    await worker.start()
    return worker


def _denied(outcome: dict[str, Any]) -> None:
    assert outcome["outcome"] == "denied", outcome
    assert outcome["error"].startswith("PermissionError"), outcome


async def test_connecting_to_a_unix_socket_by_path_is_denied(escapes: SubprocessWorker, service: UnixService) -> None:
    _denied(await escapes.invoke("unix_connect", {"path": service.path}))
    assert service.accepted == []


@pytest.mark.parametrize("allow_network", [False, True], ids=["private-network", "host-network"])
async def test_connecting_to_an_abstract_unix_socket_is_denied(
    make_worker: MakeWorker, service: UnixService, allow_network: bool
) -> None:
    worker = make_worker(ESCAPES, name="escapes", policy=ConfinementPolicy(allow_network=allow_network))
    await worker.start()
    _denied(await worker.invoke("unix_connect", {"abstract": service.abstract}))
    assert service.accepted == []


async def test_connecting_to_a_unix_socket_by_path_is_denied_even_with_network_allowed(
    make_worker: MakeWorker, service: UnixService
) -> None:
    worker = make_worker(ESCAPES, name="escapes", policy=ConfinementPolicy(allow_network=True))
    await worker.start()
    _denied(await worker.invoke("unix_connect", {"path": service.path}))
    assert service.accepted == []


async def test_landlock_alone_keeps_abstract_sockets_of_the_host_out_of_reach(
    make_worker: MakeWorker, service: UnixService
) -> None:
    """The second wall: no seccomp filter and the host's network namespace, so only Landlock's scope (ABI 6) is left."""
    policy = ConfinementPolicy(allow_network=True, weaker_allowed=True, assume_unavailable=frozenset({"seccomp"}))
    worker = make_worker(ESCAPES, name="escapes", policy=policy)
    info = await worker.start()
    assert info.confinement.applied == ("rlimits", "landlock") and info.confinement.landlock_abi >= 6
    _denied(await worker.invoke("unix_connect", {"abstract": service.abstract}))
    assert service.accepted == []


async def test_a_datagram_socketpair_cannot_send_to_a_unix_socket_by_path(
    escapes: SubprocessWorker, service: UnixService
) -> None:
    _denied(await escapes.invoke("dgram_socketpair_sendto", {"path": service.datagram_path}))
    assert service.received_datagrams() == []


async def test_a_stream_socketpair_cannot_be_redirected_to_a_unix_socket(
    escapes: SubprocessWorker, service: UnixService
) -> None:
    for address in ({"path": service.path}, {"abstract": service.abstract}):
        outcome = await escapes.invoke("stream_socketpair_redirect", address)
        assert outcome["outcome"] == "denied", outcome
    assert service.accepted == []


async def test_the_worker_keeps_the_stream_socketpair_its_event_loop_needs(escapes: SubprocessWorker) -> None:
    assert await escapes.invoke("socketpair_round_trip", {}) == {"outcome": "allowed", "value": "self-pipe"}


async def test_a_connection_the_host_holds_open_is_not_inherited_by_the_worker(
    make_worker: MakeWorker, service: UnixService
) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as held:
        held.connect(service.path)
        held.set_inheritable(True)  # even a descriptor the host forgot to mark close-on-exec
        worker = make_worker(ESCAPES, name="escapes")
        await worker.start()
        outcome = await worker.invoke("socket_peers", {})
    assert outcome["outcome"] == "allowed"
    assert not [peer for peer in outcome["value"] if "service.sock" in peer], outcome


async def test_a_descriptor_cannot_be_taken_from_the_host_with_pidfd_getfd(
    escapes: SubprocessWorker, service: UnixService
) -> None:
    outcome = await escapes.invoke("pidfd_getfd", {"pid": os.getpid(), "fd": service.listeners[0].fileno()})
    _denied(outcome)


@pytest.mark.slow
async def test_a_running_symphony_bus_is_unreachable_from_the_worker(escapes: SubprocessWorker) -> None:
    directory = Path(tempfile.mkdtemp(prefix="sym-bus-", dir="/tmp"))
    path = directory / "bus.sock"
    symphony = str(Path(sys.executable).parent / "symphony")
    env = {**os.environ, "SYMPHONY_CACHE_DIR": str(directory / "cache"), "SYMPHONY_DATA_DIR": str(directory / "d")}
    bus = subprocess.Popen(
        [symphony, "bus", "serve", "--unix", str(path)], stdout=subprocess.PIPE, text=True, env=env, cwd=directory
    )
    try:
        assert bus.stdout is not None
        assert bus.stdout.readline().strip() == f"listening on unix:{path}"
        _denied(await escapes.invoke("unix_connect", {"path": str(path)}))
    finally:
        bus.send_signal(signal.SIGTERM)
        bus.wait(30)
        if bus.stdout is not None:
            bus.stdout.close()
        shutil.rmtree(directory, ignore_errors=True)
