"""TLS for the TCP transport, with real certificates from a throwaway CA (trustme).

The server presents a certificate for ``127.0.0.1``/``localhost`` signed by
the test CA; clients verify it against ``tls_ca`` with host-name checking.
Who may listen beyond loopback (token and TLS both) is checked on ``0.0.0.0``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

from symphony.builtin_plugins.ipc.transports import TcpTransport, TlsError, TransportConfig, TransportConfigError
from symphony.hookspecs import MessageEnvelope, RequestPayload, ResponsePayload, RetryPolicy, TransportError
from symphony.hookspecs.wire.handshake import HandshakeRefusedError

PEER = Path(__file__).with_name("peer.py")
WAIT = 10.0


@dataclass(frozen=True)
class Pki:
    ca: str
    cert: str
    key: str
    other_ca: str  # a CA that signed nothing here: trusting only it must fail
    named_cert: str  # a certificate for "bus.symphony.test" only
    named_key: str


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    base = tmp_path_factory.mktemp("pki")
    ca, other = trustme.CA(), trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    named = ca.issue_cert("bus.symphony.test")
    files = {
        "ca": ca.cert_pem,
        "cert": leaf.cert_chain_pems[0],
        "key": leaf.private_key_pem,
        "other_ca": other.cert_pem,
        "named_cert": named.cert_chain_pems[0],
        "named_key": named.private_key_pem,
    }
    paths = {}
    for name, blob in files.items():
        blob.write_to_path(str(base / f"{name}.pem"))
        paths[name] = str(base / f"{name}.pem")
    return Pki(**paths)


def server_config(pki: Pki, **extra: Any) -> TransportConfig:
    return TransportConfig(tls=True, tls_cert=pki.cert, tls_key=pki.key, **extra)


def client_config(pki: Pki, **extra: Any) -> TransportConfig:
    settings: dict[str, Any] = {"tls": True, "tls_ca": pki.ca, "retry_policy": RetryPolicy(max_attempts=1)} | extra
    return TransportConfig(**settings)


async def until(condition: Callable[[], bool]) -> None:
    """Wait (bounded) for the listener's side of a failed handshake to be counted."""
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.01)


def request(**params: Any) -> MessageEnvelope:
    return MessageEnvelope.create(RequestPayload(method="add", params=params), sender="test", recipient="peer")


@asynccontextmanager
async def tls_peer(pki: Pki, *options: str) -> AsyncIterator[str]:
    """``peer.py serve tcp`` with TLS in another process; yields its address."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PEER),
        "serve",
        "tcp",
        "127.0.0.1:0",
        "--tls-cert",
        pki.cert,
        "--tls-key",
        pki.key,
        *options,
        stdout=asyncio.subprocess.PIPE,
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


# --- request/response over TLS -----------------------------------------------------


async def test_a_request_over_tls_gets_a_correlated_response_from_another_process(pki: Pki) -> None:
    async with tls_peer(pki) as address:
        connection = await TcpTransport(client_config(pki)).connect(address)
        sent = request(a=1, b=2)
        await connection.send_envelope(sent)
        reply = await asyncio.wait_for(connection.receive_envelope(), WAIT)
        await connection.close()
    assert reply.header.correlation_id == sent.header.message_id
    assert isinstance(reply.payload, ResponsePayload) and reply.payload.result["params"] == {"a": 1, "b": 2}


async def test_a_client_process_talks_to_an_in_process_tls_listener_with_a_token(pki: Pki) -> None:
    listener = await TcpTransport(server_config(pki, token="s3cret")).listen("127.0.0.1:0")
    client = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PEER),
        "client",
        "tcp",
        listener.address,
        "2",
        "--token",
        "s3cret",
        "--tls-ca",
        pki.ca,
        stdout=asyncio.subprocess.PIPE,
    )
    connection = await asyncio.wait_for(listener.accept(), WAIT)
    for _ in range(2):
        incoming = await asyncio.wait_for(connection.receive_envelope(), WAIT)
        assert isinstance(incoming.payload, RequestPayload)
        await connection.send_envelope(
            MessageEnvelope.create(
                ResponsePayload(result=incoming.payload.params["a"] + 10),
                sender="test",
                recipient=incoming.header.sender,
                correlation_id=incoming.header.message_id,
            )
        )
    out, _ = await asyncio.wait_for(client.communicate(), WAIT)
    await connection.close()
    await listener.close()
    assert [json.loads(line)["result"] for line in out.splitlines()] == [10, 11]
    assert connection.peer.startswith("127.0.0.1:")


async def test_the_client_sees_the_verified_server_certificate(pki: Pki) -> None:
    async with await TcpTransport(server_config(pki)).listen("127.0.0.1:0") as listener:
        client = await TcpTransport(client_config(pki)).connect(listener.address)
        server = await asyncio.wait_for(listener.accept(), WAIT)
        names = client.get_extra_info("peercert")["subjectAltName"]
        version = client.get_extra_info("ssl_object").version()
        for connection in (client, server):
            await connection.close()
    assert ("IP Address", "127.0.0.1") in names and version in ("TLSv1.2", "TLSv1.3")


async def test_a_large_frame_crosses_tls_intact(pki: Pki) -> None:
    async with await TcpTransport(server_config(pki)).listen("127.0.0.1:0") as listener:
        client = await TcpTransport(client_config(pki)).connect(listener.address)
        server = await asyncio.wait_for(listener.accept(), WAIT)
        big = bytes(range(256)) * 8192  # 2 MiB, many TLS records
        sending = asyncio.ensure_future(client.send(big))
        assert await asyncio.wait_for(server.receive(), WAIT) == big
        await sending
        for connection in (client, server):
            await connection.close()


async def test_the_server_name_to_verify_can_differ_from_the_address_dialled(pki: Pki) -> None:
    config = TransportConfig(tls=True, tls_cert=pki.named_cert, tls_key=pki.named_key)
    async with await TcpTransport(config).listen("127.0.0.1:0") as listener:
        client = await TcpTransport(client_config(pki, tls_server_name="bus.symphony.test")).connect(listener.address)
        await client.close()


# --- who is refused ----------------------------------------------------------------


async def test_a_client_that_does_not_trust_the_ca_is_refused_with_a_clear_error(pki: Pki) -> None:
    async with await TcpTransport(server_config(pki)).listen("127.0.0.1:0") as listener:
        with pytest.raises(TlsError, match=r"certificate of .* was rejected: .*set tls_ca") as caught:
            await TcpTransport(client_config(pki, tls_ca=pki.other_ca)).connect(listener.address)
        await until(lambda: listener.refusals.total == 1)
    assert "other_ca.pem" in caught.value.message
    assert listener.refusals.by_reason == {"tls": 1}


async def test_a_certificate_for_another_host_name_is_refused_naming_tls_server_name(pki: Pki) -> None:
    config = TransportConfig(tls=True, tls_cert=pki.named_cert, tls_key=pki.named_key)
    async with await TcpTransport(config).listen("127.0.0.1:0") as listener:
        with pytest.raises(TlsError, match="tls_server_name"):
            await TcpTransport(client_config(pki)).connect(listener.address)


async def test_a_plain_client_is_refused_by_a_tls_listener_and_counted(pki: Pki) -> None:
    async with await TcpTransport(server_config(pki)).listen("127.0.0.1:0") as listener:
        with pytest.raises(TransportError, match=r"if the listener at .* requires TLS, set tls: true"):
            await TcpTransport(TransportConfig(timeout=2.0)).connect(listener.address)
        await until(lambda: listener.refusals.total == 1)
    assert listener.refusals.by_reason == {"tls": 1}


async def test_a_tls_client_dialling_a_plain_listener_gets_a_tls_error(pki: Pki) -> None:
    async with await TcpTransport().listen("127.0.0.1:0") as listener:
        with pytest.raises(TlsError, match=r"TLS handshake with .* failed"):
            await TcpTransport(client_config(pki)).connect(listener.address)


async def test_a_wrong_token_over_tls_is_still_refused_in_the_handshake(pki: Pki) -> None:
    async with await TcpTransport(server_config(pki, token="s3cret")).listen("127.0.0.1:0") as listener:
        with pytest.raises(HandshakeRefusedError, match="invalid token"):
            await TcpTransport(client_config(pki, token="guess")).connect(listener.address)
    assert listener.refusals.by_reason == {"token": 1}


# --- beyond loopback: token and TLS both ---------------------------------------------


async def test_beyond_loopback_a_token_without_tls_is_refused_naming_tls() -> None:
    with pytest.raises(TransportConfigError, match="non-loopback") as caught:
        await TcpTransport(TransportConfig(token="s3cret")).listen("0.0.0.0:0")
    assert "TLS (tls: true" in caught.value.message and "token" not in caught.value.message.split("configure")[1]


async def test_beyond_loopback_tls_without_a_token_is_refused_naming_the_token(pki: Pki) -> None:
    with pytest.raises(TransportConfigError, match=r"configure a token \(token: \.\.\.\), or listen on 127\.0\.0\.1"):
        await TcpTransport(server_config(pki)).listen("0.0.0.0:0")


async def test_beyond_loopback_a_listener_with_token_and_tls_accepts_verified_clients(pki: Pki) -> None:
    async with await TcpTransport(server_config(pki, token="s3cret")).listen("0.0.0.0:0") as listener:
        port = listener.address.rpartition(":")[2]
        connection = await TcpTransport(client_config(pki, token="s3cret")).connect(f"127.0.0.1:{port}")
        accepted = await asyncio.wait_for(listener.accept(), WAIT)
        await connection.send(b"over tls")
        assert await asyncio.wait_for(accepted.receive(), WAIT) == b"over tls"
        for each in (connection, accepted):
            await each.close()


# --- configuration errors ---------------------------------------------------------------


def test_tls_settings_without_tls_enabled_are_refused_naming_the_switch(pki: Pki) -> None:
    with pytest.raises(TransportConfigError, match="tls_ca set but tls is false; set tls: true"):
        TransportConfig(tls_ca=pki.ca)


def test_a_key_without_a_certificate_is_refused() -> None:
    with pytest.raises(TransportConfigError, match="tls_key is set without tls_cert"):
        TransportConfig(tls=True, tls_key="/tmp/key.pem")


async def test_a_tls_listener_without_a_certificate_is_refused_naming_tls_cert() -> None:
    with pytest.raises(TransportConfigError, match="tls_cert is not set"):
        await TcpTransport(TransportConfig(tls=True)).listen("127.0.0.1:0")


async def test_a_missing_certificate_file_is_named(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(TransportConfigError, match=r"tls_cert '.*nope\.pem' does not exist"):
        await TcpTransport(TransportConfig(tls=True, tls_cert=missing)).listen("127.0.0.1:0")


async def test_a_certificate_with_the_wrong_key_is_refused_as_a_mismatched_pair(pki: Pki) -> None:
    with pytest.raises(TransportConfigError, match="matching PEM pair"):
        await TcpTransport(TransportConfig(tls=True, tls_cert=pki.cert, tls_key=pki.named_key)).listen("127.0.0.1:0")


async def test_a_missing_ca_bundle_is_named(tmp_path: Path) -> None:
    with pytest.raises(TransportConfigError, match="tls_ca"):
        await TcpTransport(TransportConfig(tls=True, tls_ca=str(tmp_path / "ca.pem"))).connect("127.0.0.1:9")


def test_tls_settings_load_from_a_settings_mapping(pki: Pki) -> None:
    transport = TcpTransport({"tls": True, "tls_ca": pki.ca, "tls_server_name": "bus.symphony.test"})
    assert transport.config.tls and transport.config.tls_server_name == "bus.symphony.test"
