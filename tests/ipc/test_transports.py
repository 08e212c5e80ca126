"""Unix, TCP and stdio transports across real processes and real sockets.

The peer is ``tests/ipc/peer.py`` run with this interpreter.  Every wait is
bounded by ``asyncio.wait_for`` so a regression shows up as a failure, not a hang.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import struct
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.ipc.transports import (
    StdioTransport,
    StreamConnection,
    StreamListener,
    TcpTransport,
    TransportConfig,
    TransportConfigError,
    UnixTransport,
    plugin,
)
from symphony.hookspecs import (
    PROTOCOL_VERSION,
    ConfigurationError,
    ErrorPayload,
    MessageEnvelope,
    RequestPayload,
    ResponsePayload,
    RetryPolicy,
    SerializationError,
    TransportError,
)
from symphony.hookspecs.ports import Connection, Listener, Transport
from symphony.hookspecs.wire.handshake import HandshakeRefusedError
from symphony.host import Host, Settings

PEER = Path(__file__).with_name("peer.py")
WAIT = 10.0


def request(method: str = "add", **params: Any) -> MessageEnvelope:
    return MessageEnvelope.create(RequestPayload(method=method, params=params), sender="test", recipient="peer")


@asynccontextmanager
async def peer_server(kind: str, address: str, *options: str) -> AsyncIterator[str]:
    """Run ``peer.py serve`` and yield the address it listens on."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(PEER), "serve", kind, address, *options, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), WAIT)
        assert line.startswith(b"READY "), line
        yield line.split()[1].decode()
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def round_trip(connection: StreamConnection, envelope: MessageEnvelope) -> MessageEnvelope:
    await connection.send_envelope(envelope)
    return await asyncio.wait_for(connection.receive_envelope(), WAIT)


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


async def read_raw_frame(reader: asyncio.StreamReader) -> bytes:
    (length,) = struct.unpack(">I", await asyncio.wait_for(reader.readexactly(4), WAIT))
    return await asyncio.wait_for(reader.readexactly(length), WAIT)


async def raw_hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, **hello: Any) -> dict[str, Any]:
    """Speak the handshake by hand, as a client in another language would (docs/wire-format.md)."""
    body = {"symphony": PROTOCOL_VERSION, "codecs": ["msgpack", "json"], "token": None} | hello
    writer.write(frame(json.dumps(body).encode()))
    await writer.drain()
    reply: dict[str, Any] = json.loads(await read_raw_frame(reader))
    return reply


async def assert_closed_by_peer(reader: asyncio.StreamReader) -> None:
    assert await asyncio.wait_for(reader.read(), WAIT) == b""


# --- round trips across processes ------------------------------------------------


async def test_a_request_over_unix_gets_a_correlated_response_from_another_process(tmp_path: Path) -> None:
    async with peer_server("unix", str(tmp_path / "peer.sock")) as address:
        connection = await UnixTransport().connect(address)
        sent = request(a=1, b=2)
        reply = await round_trip(connection, sent)
        await connection.close()
    assert reply.header.correlation_id == sent.header.message_id
    assert isinstance(reply.payload, ResponsePayload)
    assert reply.payload.result["params"] == {"a": 1, "b": 2}


async def test_a_request_over_tcp_gets_a_correlated_response_from_another_process() -> None:
    async with peer_server("tcp", "127.0.0.1:0") as address:
        connection = await TcpTransport().connect(address)
        sent = request(a=1)
        reply = await round_trip(connection, sent)
        await connection.close()
    assert reply.header.correlation_id == sent.header.message_id
    assert isinstance(reply.payload, ResponsePayload)


async def test_a_request_over_stdio_gets_a_correlated_response_from_the_child() -> None:
    connection = await StdioTransport().spawn([sys.executable, str(PEER), "stdio"])
    sent = request(a=1)
    reply = await round_trip(connection, sent)
    await connection.close()
    assert reply.header.correlation_id == sent.header.message_id
    assert isinstance(reply.payload, ResponsePayload)
    assert connection.process.returncode == 0


async def test_a_client_process_gets_correlated_responses_from_an_in_process_tcp_listener() -> None:
    listener = await TcpTransport().listen("127.0.0.1:0")
    client = await asyncio.create_subprocess_exec(
        sys.executable, str(PEER), "client", "tcp", listener.address, "3", stdout=asyncio.subprocess.PIPE
    )
    connection = await asyncio.wait_for(listener.accept(), WAIT)
    for _ in range(3):
        incoming = await asyncio.wait_for(connection.receive_envelope(), WAIT)
        assert isinstance(incoming.payload, RequestPayload)
        total = incoming.payload.params["a"] + incoming.payload.params["b"]
        await connection.send_envelope(
            MessageEnvelope.create(
                ResponsePayload(result=total),
                sender="test",
                recipient=incoming.header.sender,
                correlation_id=incoming.header.message_id,
            )
        )
    out, _ = await asyncio.wait_for(client.communicate(), WAIT)
    await connection.close()
    await listener.close()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(line["correlated"], line["result"]) for line in lines] == [(True, 1), (True, 2), (True, 3)]


# --- codec negotiation -----------------------------------------------------------


async def test_msgpack_is_negotiated_by_default(tmp_path: Path) -> None:
    async with peer_server("unix", str(tmp_path / "peer.sock")) as address:
        connection = await UnixTransport().connect(address)
        reply = await round_trip(connection, request())
        await connection.close()
    assert connection.codec == "msgpack"
    assert isinstance(reply.payload, ResponsePayload) and reply.payload.result["codec"] == "msgpack"


async def test_json_is_negotiated_when_the_client_offers_only_json(tmp_path: Path) -> None:
    async with peer_server("unix", str(tmp_path / "peer.sock")) as address:
        connection = await UnixTransport(TransportConfig(codecs=("json",))).connect(address)
        reply = await round_trip(connection, request())
        await connection.close()
    assert connection.codec == "json"
    assert isinstance(reply.payload, ResponsePayload) and reply.payload.result["codec"] == "json"


async def test_a_client_with_no_common_codec_is_refused_naming_both_lists(tmp_path: Path) -> None:
    async with peer_server("unix", str(tmp_path / "peer.sock")) as address:
        reader, writer = await asyncio.open_unix_connection(address)
        reply = await raw_hello(reader, writer, codecs=["cbor"])
        await assert_closed_by_peer(reader)
        writer.close()
    assert "no common codec" in reply["error"] and "cbor" in reply["error"] and "msgpack" in reply["error"]


# --- malformed and oversized frames ----------------------------------------------


async def test_a_malformed_frame_gets_an_error_reply_and_the_connection_still_works(tmp_path: Path) -> None:
    async with peer_server("unix", str(tmp_path / "peer.sock")) as address:
        connection = await UnixTransport().connect(address)
        await connection.send(b"\xc1 this is not msgpack")
        error = await asyncio.wait_for(connection.receive_envelope(), WAIT)
        reply = await round_trip(connection, request())
        await connection.close()
    assert isinstance(error.payload, ErrorPayload)
    assert error.payload.category == "ipc.serialization" and "malformed msgpack envelope" in error.payload.message
    assert isinstance(reply.payload, ResponsePayload)


async def test_a_malformed_envelope_raises_serialization_error_and_the_next_frame_still_decodes(
    tmp_path: Path,
) -> None:
    listener = await UnixTransport().listen(str(tmp_path / "s.sock"))
    client = await UnixTransport().connect(listener.address)
    server = await asyncio.wait_for(listener.accept(), WAIT)
    await server.send(b'{"not": "an envelope"}')
    await server.send_envelope(request())
    with pytest.raises(SerializationError, match="malformed msgpack envelope"):
        await asyncio.wait_for(client.receive_envelope(), WAIT)
    after = await asyncio.wait_for(client.receive_envelope(), WAIT)
    for connection in (client, server):
        await connection.close()
    await listener.close()
    assert isinstance(after.payload, RequestPayload)


async def test_a_json_envelope_of_the_wrong_shape_is_named_in_the_error(tmp_path: Path) -> None:
    config = TransportConfig(codecs=("json",))
    listener = await UnixTransport(config).listen(str(tmp_path / "s.sock"))
    client = await UnixTransport(config).connect(listener.address)
    server = await asyncio.wait_for(listener.accept(), WAIT)
    await server.send(b'{"header": {"message_id": 5}, "payload": {"kind": "request", "method": "x"}}')
    with pytest.raises(SerializationError, match=r"\$\.header"):
        await asyncio.wait_for(client.receive_envelope(), WAIT)
    for connection in (client, server):
        await connection.close()
    await listener.close()


async def test_an_oversized_length_prefix_is_refused_without_reading_the_payload_and_the_peer_closes(
    tmp_path: Path,
) -> None:
    async with peer_server("unix", str(tmp_path / "peer.sock"), "--max-frame", "1024") as address:
        reader, writer = await asyncio.open_unix_connection(address)
        assert (await raw_hello(reader, writer, codecs=["json"]))["codec"] == "json"
        writer.write(struct.pack(">I", 1 << 30))  # announces 1 GiB and sends none of it
        await writer.drain()
        error = json.loads(await read_raw_frame(reader))
        await assert_closed_by_peer(reader)
        writer.close()
    assert error["payload"]["kind"] == "error" and error["payload"]["category"] == "ipc.serialization"
    assert "at most 1024 bytes" in error["payload"]["message"] and str(1 << 30) in error["payload"]["message"]


# --- who may connect ---------------------------------------------------------------


async def test_a_wrong_token_is_refused_in_the_handshake_with_the_reason(tmp_path: Path) -> None:
    async with peer_server("tcp", "127.0.0.1:0", "--token", "s3cret") as address:
        with pytest.raises(HandshakeRefusedError, match="invalid token"):
            await TcpTransport(TransportConfig(token="guess")).connect(address)
        accepted = await TcpTransport(TransportConfig(token="s3cret")).connect(address)
        await accepted.close()


async def test_refused_tokens_are_counted_by_the_listener_and_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    async with await TcpTransport(TransportConfig(token="s3cret")).listen("127.0.0.1:0") as listener:
        with pytest.raises(HandshakeRefusedError, match="invalid token"):
            await TcpTransport(TransportConfig(token="guess")).connect(listener.address)
        with pytest.raises(HandshakeRefusedError, match="token is required"):
            await TcpTransport().connect(listener.address)
    assert listener.refusals.by_reason == {"token": 2} and listener.refusals.total == 2
    assert "refused connection" in caplog.text and "guess" not in caplog.text and "s3cret" not in caplog.text


async def test_a_wrong_protocol_version_is_refused_naming_both_versions(tmp_path: Path) -> None:
    async with peer_server("unix", str(tmp_path / "peer.sock")) as address:
        reader, writer = await asyncio.open_unix_connection(address)
        reply = await raw_hello(reader, writer, symphony=99)
        await assert_closed_by_peer(reader)
        writer.close()
    assert reply["error"] == f"protocol version mismatch: client speaks 99, server speaks {PROTOCOL_VERSION}"


async def test_a_wrong_protocol_version_is_counted(tmp_path: Path) -> None:
    async with await UnixTransport().listen(str(tmp_path / "s.sock")) as listener:
        reader, writer = await asyncio.open_unix_connection(listener.address)
        await raw_hello(reader, writer, symphony=0)
        writer.close()
    assert listener.refusals.by_reason == {"version": 1}


async def test_a_malformed_handshake_gets_an_error_reply_and_a_clean_close(tmp_path: Path) -> None:
    async with await UnixTransport().listen(str(tmp_path / "s.sock")) as listener:
        reader, writer = await asyncio.open_unix_connection(listener.address)
        writer.write(frame(b'{"symphony": "one", "codecs": []}'))
        reply = json.loads(await read_raw_frame(reader))
        await assert_closed_by_peer(reader)
        writer.close()
    assert "malformed handshake" in reply["error"] and "$.symphony" in reply["error"]
    assert listener.refusals.by_reason == {"malformed": 1}


async def test_a_silent_client_is_dropped_after_the_handshake_timeout(tmp_path: Path) -> None:
    config = TransportConfig(timeout=0.2)
    async with await UnixTransport(config).listen(str(tmp_path / "s.sock")) as listener:
        reader, writer = await asyncio.open_unix_connection(listener.address)
        reply = json.loads(await read_raw_frame(reader))
        await assert_closed_by_peer(reader)
        writer.close()
    assert reply == {"error": "no handshake within 0.2 s"} and listener.refusals.by_reason == {"timeout": 1}


async def test_the_unix_socket_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    async with await UnixTransport().listen(str(path)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.exists()


async def test_a_unix_peer_whose_uid_is_not_allowed_is_refused_and_counted(tmp_path: Path) -> None:
    config = TransportConfig(allowed_uids=(os.getuid() + 1,))
    async with await UnixTransport(config).listen(str(tmp_path / "s.sock")) as listener:
        with pytest.raises(HandshakeRefusedError, match=f"peer uid {os.getuid()} is not allowed"):
            await UnixTransport().connect(listener.address)
    assert listener.refusals.by_reason == {"peer_uid": 1}


async def test_tcp_refuses_to_listen_beyond_loopback_without_a_token_and_tls_naming_both() -> None:
    with pytest.raises(TransportConfigError, match="non-loopback") as caught:
        await TcpTransport().listen("0.0.0.0:0")
    assert isinstance(caught.value, ConfigurationError)
    assert "token" in caught.value.message and "tls: true" in caught.value.message


async def test_tcp_connections_have_nagle_disabled_on_both_ends() -> None:
    async with await TcpTransport().listen("127.0.0.1:0") as listener:
        client = await TcpTransport().connect(listener.address)
        server = await asyncio.wait_for(listener.accept(), WAIT)
        flags = [
            c.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for c in (client, server)
        ]
        for connection in (client, server):
            await connection.close()
    assert all(flags)


# --- failures ----------------------------------------------------------------------


async def test_a_unix_peer_that_dies_mid_request_gives_transport_error(tmp_path: Path) -> None:
    async with peer_server("unix", str(tmp_path / "peer.sock")) as address:
        connection = await UnixTransport().connect(address)
        await connection.send_envelope(request("die"))
        with pytest.raises(TransportError, match="peer closed"):
            await asyncio.wait_for(connection.receive_envelope(), WAIT)
        await connection.close()


async def test_a_stdio_child_that_dies_mid_request_gives_transport_error() -> None:
    connection = await StdioTransport().spawn([sys.executable, str(PEER), "stdio"])
    await connection.send_envelope(request("die"))
    with pytest.raises(TransportError, match="peer closed"):
        await asyncio.wait_for(connection.receive_envelope(), WAIT)
    await connection.close()
    assert connection.process.returncode == 3


async def test_connect_retries_per_the_policy_then_names_the_address(tmp_path: Path) -> None:
    config = TransportConfig(retry_policy=RetryPolicy(max_attempts=3, backoff_initial=0.01))
    missing = str(tmp_path / "nobody.sock")
    with pytest.raises(TransportError, match=r"cannot connect to .*nobody\.sock after 3 attempt\(s\)"):
        await asyncio.wait_for(UnixTransport(config).connect(missing), WAIT)


async def test_connect_succeeds_when_the_server_appears_during_the_retries(tmp_path: Path) -> None:
    path = str(tmp_path / "late.sock")
    config = TransportConfig(retry_policy=RetryPolicy(max_attempts=20, backoff_initial=0.05, backoff_multiplier=1.0))
    connecting = asyncio.create_task(UnixTransport(config).connect(path))
    await asyncio.sleep(0.2)
    async with await UnixTransport().listen(path) as listener:
        connection = await asyncio.wait_for(connecting, WAIT)
        accepted = await asyncio.wait_for(listener.accept(), WAIT)
        await connection.close()
        await accepted.close()


async def test_stdio_cannot_listen() -> None:
    with pytest.raises(TransportError, match="serve_stdio"):
        await StdioTransport().listen("anything")


# --- the plugin ----------------------------------------------------------------------


async def test_the_plugin_contributes_unix_tcp_and_stdio_transports_that_satisfy_the_ports(tmp_path: Path) -> None:
    host = Host(Settings(data_dir=tmp_path / "d", cache_dir=tmp_path / "c"), plugins=(plugin,), discover_plugins=False)
    found = host.load().contributions("symphony_transports")
    assert sorted(found) == ["shm", "stdio", "tcp", "unix"]
    transports = {name: spec.factory({"timeout": 2.0}) for name, (_, spec) in found.items()}
    assert all(isinstance(t, Transport) for t in transports.values())
    async with await transports["unix"].listen(str(tmp_path / "p.sock")) as listener:
        assert isinstance(listener, (Listener, StreamListener))
        connection = await transports["unix"].connect(listener.address)
        assert isinstance(connection, Connection)
        await connection.close()
