"""``symphony bus serve|request|send|subscribe``: serve the host's bus on sockets, and poke at it.

``serve`` listens on the stream transports (``--unix PATH``, ``--tcp HOST:PORT``)
and hands each connection to a :class:`~.bus.server.BusServer`, which delivers
its envelopes to the host's ``message_bus`` port.

The builtin endpoint ``echo`` answers any method with ``{"method", "params"}``.
See docs/wire-format.md, "Serving the bus", for the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable
from functools import partial
from typing import Any, Final

import click
import msgspec

from symphony.hookspecs import (
    EndpointId,
    ErrorPayload,
    EventPayload,
    MessageEnvelope,
    RequestPayload,
    ResponsePayload,
    RetryPolicy,
    SymphonyError,
    TransportError,
    decode_bounded,
)
from symphony.hookspecs.ports import MessageBus

from .bus import BROADCAST
from .bus.server import SERVER, BusServer
from .transports import (
    StreamConnection,
    StreamListener,
    TcpTransport,
    TransportConfig,
    TransportConfigError,
    UnixTransport,
)
from .transports.tcp import parse_address as parse_tcp_address

__all__ = ["ECHO", "SERVER", "StopSignals", "bus_commands", "parse_address"]

log = logging.getLogger("symphony.ipc.cli")

#: The builtin endpoint that answers any request with its method and params.
ECHO: Final = EndpointId("echo")
CLIENT: Final = "cli"

_json = msgspec.json.Encoder()


def parse_address(address: str) -> tuple[str, str]:
    """``unix:PATH`` or ``tcp:HOST:PORT`` as ``(scheme, rest)``; click.BadParameter otherwise."""
    scheme, sep, rest = address.partition(":")
    if sep and rest and scheme == "unix":
        return scheme, rest
    if sep and scheme == "tcp" and rest.rpartition(":")[0]:
        with contextlib.suppress(TransportConfigError):
            parse_tcp_address(rest)
            return scheme, rest
    raise click.BadParameter(f"{address!r} is not an address: use unix:PATH or tcp:HOST:PORT", param_hint="ADDRESS")


def _transport(scheme: str, config: TransportConfig) -> UnixTransport | TcpTransport:
    return UnixTransport(config) if scheme == "unix" else TcpTransport(config)


def _key_values(pairs: tuple[str, ...], option: str) -> dict[str, Any]:
    """``k=v`` pairs; a value that parses as JSON is taken as such (``n=3``, ``ok=true``), else as a string."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint=option)
        try:
            result[key] = decode_bounded(
                partial(json.loads, value),
                what=f"The value of {key!r}",
                error=partial(click.BadParameter, param_hint=option),
            )
        except ValueError:
            result[key] = value
    return result


def _text(value: Any) -> str:
    return value if isinstance(value, str) else _json.encode(value).decode()


# -- serve ---------------------------------------------------------------------------------


async def _echo(envelope: MessageEnvelope) -> dict[str, Any]:
    payload = envelope.payload
    assert isinstance(payload, RequestPayload)
    return {"method": payload.method, "params": payload.params}


class StopSignals:
    """SIGINT and SIGTERM set ``stopped`` instead of ending the process, until :meth:`restore`.

    For servers that must close their listeners and sockets cleanly on either signal.
    """

    _SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.stopped = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        for signum in self._SIGNALS:
            self._loop.add_signal_handler(signum, self.stopped.set)

    def restore(self) -> None:
        for signum in self._SIGNALS:
            self._loop.remove_signal_handler(signum)


async def serve(
    bus: MessageBus, addresses: list[tuple[str, str]], token: str | None, tls: tuple[str, str] | None = None
) -> None:
    """Start ``bus`` (any ``message_bus`` provider), listen on ``addresses`` until SIGINT or SIGTERM, stop it.

    Prints ``listening on ADDRESS`` for each address.
    ``tls`` (certificate, key) makes the TCP listeners speak TLS.
    """
    config = TransportConfig(token=token)
    tcp_config = TransportConfig(token=token, tls=True, tls_cert=tls[0], tls_key=tls[1]) if tls else config
    await bus.start()
    echo = False
    with contextlib.suppress(TransportError):  # a distribution's bus may already have one
        bus.register_endpoint(ECHO, _echo)
        echo = True
    server = BusServer(bus)
    listeners: list[StreamListener] = []
    signals = StopSignals()
    try:
        for scheme, rest in addresses:
            listener = await _transport(scheme, tcp_config if scheme == "tcp" else config).listen(rest)
            listeners.append(listener)
            server.spawn(server.accept_from(listener))
            click.echo(f"listening on {scheme}:{listener.address}")
        sys.stdout.flush()
        await signals.stopped.wait()
    finally:
        signals.restore()
        for listener in listeners:
            await listener.close()
        await server.close()
        if echo:
            bus.unregister_endpoint(ECHO)
        await bus.stop()


# -- clients -------------------------------------------------------------------------------


async def _connect(address: str, token: str | None, timeout: float, tls_ca: str | None = None) -> StreamConnection:
    scheme, rest = parse_address(address)
    tls: dict[str, Any] = {"tls": True, "tls_ca": tls_ca} if tls_ca and scheme == "tcp" else {}
    config = TransportConfig(token=token, timeout=timeout, retry_policy=RetryPolicy(max_attempts=1), **tls)
    return await _transport(scheme, config).connect(rest)


async def _request(connection: StreamConnection, request: MessageEnvelope, timeout: float) -> MessageEnvelope:
    """Send ``request`` and return its answer, skipping anything else (events of a subscription)."""
    await connection.send_envelope(request)
    async with asyncio.timeout(timeout):
        while True:
            reply = await connection.receive_envelope()
            if reply.header.correlation_id == request.header.message_id:
                return reply


def _fail(error: BaseException) -> click.ClickException:
    if isinstance(error, TimeoutError) and not str(error):
        return click.ClickException("no response in time")
    return click.ClickException(str(error).splitlines()[0] if str(error) else type(error).__name__)


def _run(coroutine: Any) -> Any:
    """Run a client coroutine; a failure exits 1 with one line."""
    try:
        return asyncio.run(coroutine)
    except (SymphonyError, OSError, TimeoutError) as error:
        raise _fail(error) from None


def _address_argument(ctx: click.Context, param: click.Parameter, value: str) -> str:
    parse_address(value)
    return value


_TOKEN = click.option("--token", envvar="SYMPHONY_BUS_TOKEN", help="Handshake token (env SYMPHONY_BUS_TOKEN).")
_TLS_CA = click.option(
    "--tls-ca", envvar="SYMPHONY_BUS_TLS_CA", metavar="PEM", help="Speak TLS to a tcp: address, trusting this CA."
)
_TIMEOUT = click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds to wait.")
_ADDRESS = click.argument("address", callback=_address_argument)


@click.command("request")
@_ADDRESS
@click.argument("method")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="A parameter (JSON or string).")
@click.option("--to", "recipient", default=SERVER, show_default=True, help="The endpoint to ask.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole response envelope as JSON.")
@_TOKEN
@_TLS_CA
@_TIMEOUT
def request_command(
    *,
    address: str,
    method: str,
    params: tuple[str, ...],
    recipient: str,
    as_json: bool,
    token: str | None,
    tls_ca: str | None,
    timeout: float,
) -> None:
    """Send one request to ADDRESS and print the result; exit 1 if it fails."""
    envelope = MessageEnvelope.create(
        RequestPayload(method=method, params=_key_values(params, "--param")), sender=CLIENT, recipient=recipient
    )

    async def run() -> MessageEnvelope:
        connection = await _connect(address, token, timeout, tls_ca)
        try:
            return await _request(connection, envelope, timeout)
        finally:
            await connection.close()

    reply = _run(run())
    if as_json:
        click.echo(_json.encode(reply))
    payload = reply.payload
    if isinstance(payload, ErrorPayload):
        raise click.ClickException(f"[{payload.category}] {payload.message}")
    if not as_json and isinstance(payload, ResponsePayload):
        click.echo(_text(payload.result))


@click.command("send")
@_ADDRESS
@click.argument("topic")
@click.option("--data", "data", multiple=True, metavar="KEY=VALUE", help="An event field (JSON or string).")
@_TOKEN
@_TLS_CA
@_TIMEOUT
def send_command(
    *, address: str, topic: str, data: tuple[str, ...], token: str | None, tls_ca: str | None, timeout: float
) -> None:
    """Publish one event on TOPIC through ADDRESS."""
    envelope = MessageEnvelope.create(
        EventPayload(topic=topic, data=_key_values(data, "--data")), sender=CLIENT, recipient=BROADCAST
    )

    async def run() -> None:
        connection = await _connect(address, token, timeout, tls_ca)
        try:
            await connection.send_envelope(envelope)
        finally:
            await connection.close()

    _run(run())


@click.command("subscribe")
@_ADDRESS
@click.argument("pattern")
@click.option("--count", type=click.IntRange(min=1), help="Exit after this many events.")
@click.option("--json", "as_json", is_flag=True, help="Print each event envelope as one JSON line.")
@_TOKEN
@_TLS_CA
@_TIMEOUT
def subscribe_command(
    *,
    address: str,
    pattern: str,
    count: int | None,
    as_json: bool,
    token: str | None,
    tls_ca: str | None,
    timeout: float,
) -> None:
    """Print events matching PATTERN (``*`` one segment, ``>`` the rest) as they arrive.

    Runs until --count events arrived or until interrupted; "subscribed" goes to standard error.
    """
    subscribe = MessageEnvelope.create(
        RequestPayload(method="subscribe", params={"pattern": pattern}), sender=CLIENT, recipient=SERVER
    )

    async def run() -> None:
        connection = await _connect(address, token, timeout, tls_ca)
        try:
            reply = await _request(connection, subscribe, timeout)
            if isinstance(reply.payload, ErrorPayload):
                raise reply.payload.to_exception()
            click.echo(f"subscribed to {pattern!r} on {address}", err=True)
            seen = 0
            while count is None or seen < count:
                envelope = await connection.receive_envelope()
                payload = envelope.payload
                if not isinstance(payload, EventPayload):
                    continue
                seen += 1
                if as_json:
                    click.echo(_json.encode(envelope))
                else:
                    click.echo(f"{payload.topic} {_text(payload.data)}")
                sys.stdout.flush()
        finally:
            await connection.close()

    with contextlib.suppress(KeyboardInterrupt):
        _run(run())


def bus_commands(bus_of: Callable[[], MessageBus]) -> click.Group:
    """The ``bus`` group; ``bus_of`` returns the host's message_bus when ``serve`` runs."""

    @click.group()
    def bus() -> None:
        """Serve the message bus on sockets, and send, request or subscribe for debugging.

        ADDRESS is unix:PATH or tcp:HOST:PORT.
        """

    @bus.command("serve")
    @click.option("--unix", "unix_paths", multiple=True, metavar="PATH", help="Listen on a Unix socket (owner-only).")
    @click.option("--tcp", "tcp_addresses", multiple=True, metavar="HOST:PORT", help="Listen on TCP (port 0: any).")
    @_TOKEN
    @click.option("--tls-cert", metavar="PEM", help="TLS certificate for the TCP listeners (with --tls-key).")
    @click.option("--tls-key", metavar="PEM", help="The certificate's private key.")
    def serve_command(
        unix_paths: tuple[str, ...],
        tcp_addresses: tuple[str, ...],
        token: str | None,
        tls_cert: str | None,
        tls_key: str | None,
    ) -> None:
        """Deliver requests and events from connections to this host's bus until SIGINT/SIGTERM."""
        if (tls_cert is None) != (tls_key is None):
            raise click.UsageError("give --tls-cert and --tls-key together")
        addresses = [("unix", path) for path in unix_paths]
        for address in tcp_addresses:
            addresses.append(parse_address(f"tcp:{address}"))
        if not addresses:
            raise click.UsageError("give at least one of --unix PATH and --tcp HOST:PORT")
        try:
            tls = (tls_cert, tls_key) if tls_cert and tls_key else None
            asyncio.run(serve(bus_of(), addresses, token, tls))
        except SymphonyError as error:
            raise _fail(error) from None

    bus.add_command(request_command)
    bus.add_command(send_command)
    bus.add_command(subscribe_command)
    return bus
