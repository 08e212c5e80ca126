"""A real peer process for the transport tests, run with ``sys.executable``.

::

    peer.py serve unix|tcp|shm ADDRESS [--token T] [--max-frame N] [--ring N] [TLS]
                                                                  echo server; prints "READY <address>"
    peer.py client unix|tcp ADDRESS N [--token T] [--codecs a,b] [TLS]
                                                                  sends N requests, prints one JSON line each
    peer.py stdio [--max-frame N]                                  echo server over its own stdin/stdout

The echo server answers a request with a response carrying
``{"method", "params", "codec"}`` and the request's id as correlation id, an
event with the same event, and a malformed frame with an error envelope.  The
request method ``die`` makes it exit on the spot, mid-request.  TLS options
(tcp only): ``--tls-cert PEM --tls-key PEM`` for a server, ``--tls-ca PEM
[--tls-server-name NAME]`` for a client; any of them turns TLS on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from typing import Any

from symphony.builtin_plugins.ipc.transports import (
    StreamConnection,
    TcpTransport,
    TransportConfig,
    UnixTransport,
    serve_stdio,
)
from symphony.builtin_plugins.ipc.transports.shm import ShmConnection, ShmTransport
from symphony.hookspecs import (
    ErrorPayload,
    EventPayload,
    MessageEnvelope,
    RequestPayload,
    ResponsePayload,
    SerializationError,
    TransportError,
)

NAME = "peer"


async def echo(connection: StreamConnection | ShmConnection) -> None:
    """Answer envelopes until the other side goes away."""
    try:
        while True:
            try:
                envelope = await connection.receive_envelope()
            except SerializationError as error:
                await connection.send_envelope(
                    MessageEnvelope.create(ErrorPayload.from_exception(error), sender=NAME, recipient="unknown")
                )
                if connection.broken:
                    return
                continue
            reply = answer(envelope, connection.codec)
            if reply is not None:
                await connection.send_envelope(reply)
    except TransportError:
        return
    finally:
        await connection.close()


def answer(envelope: MessageEnvelope, codec: str) -> MessageEnvelope | None:
    payload = envelope.payload
    sender = envelope.header.sender
    if isinstance(payload, RequestPayload):
        if payload.method == "die":
            os._exit(3)
        result = {"method": payload.method, "params": payload.params, "codec": codec}
        return MessageEnvelope.create(
            ResponsePayload(result=result), sender=NAME, recipient=sender, correlation_id=envelope.header.message_id
        )
    if isinstance(payload, EventPayload):
        return MessageEnvelope.create(payload, sender=NAME, recipient=sender)
    return None


def transport(kind: str, config: TransportConfig) -> UnixTransport | TcpTransport:
    return UnixTransport(config) if kind == "unix" else TcpTransport(config)


def tls_settings(args: argparse.Namespace) -> dict[str, Any]:
    given = {
        name: getattr(args, name)
        for name in ("tls_cert", "tls_key", "tls_ca", "tls_server_name")
        if getattr(args, name) is not None
    }
    return {"tls": True, **given} if given else {}


async def serve(args: argparse.Namespace) -> None:
    config = TransportConfig(token=args.token, max_frame_size=args.max_frame, **tls_settings(args))
    listener: Any
    if args.kind == "shm":
        listener = await ShmTransport(config, ring_capacity=args.ring).listen(args.address)
    else:
        listener = await transport(args.kind, config).listen(args.address)
    print("READY", listener.address, flush=True)
    tasks: set[asyncio.Task[None]] = set()
    while True:
        connection = await listener.accept()
        task = asyncio.create_task(echo(connection))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def client(args: argparse.Namespace) -> None:
    config = TransportConfig(token=args.token, codecs=tuple(args.codecs.split(",")), **tls_settings(args))
    connection = await transport(args.kind, config).connect(args.address)
    for number in range(args.count):
        request = MessageEnvelope.create(
            RequestPayload(method="add", params={"a": number, "b": 1}), sender=NAME, recipient="server"
        )
        await connection.send_envelope(request)
        reply = await connection.receive_envelope()
        line: dict[str, Any] = {
            "correlated": reply.header.correlation_id == request.header.message_id,
            "result": reply.payload.result if isinstance(reply.payload, ResponsePayload) else None,
            "codec": connection.codec,
        }
        print(json.dumps(line), flush=True)
    await connection.close()


async def stdio(args: argparse.Namespace) -> None:
    await echo(await serve_stdio(TransportConfig(max_frame_size=args.max_frame)))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    modes = parser.add_subparsers(dest="mode", required=True)
    serve_p = modes.add_parser("serve")
    serve_p.add_argument("kind", choices=["unix", "tcp", "shm"])
    serve_p.add_argument("address")
    serve_p.add_argument("--token")
    serve_p.add_argument("--max-frame", type=int, default=16 * 1024 * 1024)
    serve_p.add_argument("--ring", type=int, default=1024 * 1024, help="shm ring capacity in bytes")
    client_p = modes.add_parser("client")
    client_p.add_argument("kind", choices=["unix", "tcp"])
    client_p.add_argument("address")
    client_p.add_argument("count", type=int)
    client_p.add_argument("--token")
    client_p.add_argument("--codecs", default="msgpack,json")
    for sub in (serve_p, client_p):
        for option in ("--tls-cert", "--tls-key", "--tls-ca", "--tls-server-name"):
            sub.add_argument(option)
    stdio_p = modes.add_parser("stdio")
    stdio_p.add_argument("--max-frame", type=int, default=16 * 1024 * 1024)
    args = parser.parse_args(argv)
    runner = {"serve": serve, "client": client, "stdio": stdio}[args.mode]
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(runner(args))


if __name__ == "__main__":
    main(sys.argv[1:])
