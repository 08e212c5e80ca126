"""``symphony conductor serve [--unix PATH]`` and ``symphony conductor status [--unix PATH] [--json]``.

User errors (a bad option, nothing listening at PATH, a conductor that cannot
start) are one line on standard error and exit 1, without a traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

import click
import msgspec

from symphony.hookspecs import (
    EndpointId,
    ErrorPayload,
    MessageEnvelope,
    RequestPayload,
    ResponsePayload,
    RetryPolicy,
    SymphonyError,
    TransportError,
)
from symphony.hookspecs.ports import AsyncComponent, ConductorPort, ConductorStatus

from ..ipc.transports import TransportConfig, UnixTransport
from .remote import RemoteConductor
from .serve import serve_stdio, serve_unix
from .wire import ENDPOINT, STATUS

__all__ = ["conductor_commands", "request_unix"]

T = TypeVar("T")


async def request_unix(path: str, method: str, params: dict[str, Any], *, token: str | None, timeout: float) -> Any:
    """One request to the conductor served at ``unix:PATH``; its result, or the error it answered."""
    config = TransportConfig(token=token, timeout=timeout, retry_policy=RetryPolicy(max_attempts=1))
    connection = await UnixTransport(config).connect(path)
    try:
        request = MessageEnvelope.create(
            RequestPayload(method=method, params=params), sender="cli", recipient=EndpointId(ENDPOINT)
        )
        await connection.send_envelope(request)
        async with asyncio.timeout(timeout):
            while True:
                reply = await connection.receive_envelope()
                if reply.header.correlation_id == request.header.message_id:
                    break
    finally:
        await connection.close()
    payload = reply.payload
    if isinstance(payload, ResponsePayload):
        return payload.result
    if isinstance(payload, ErrorPayload):
        raise payload.to_exception()
    raise TransportError(f"The conductor at unix:{path} answered {method!r} with a {type(payload).__name__}.")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine``; an expected failure becomes one line and exit 1."""
    try:
        return asyncio.run(coroutine)
    except (SymphonyError, OSError, TimeoutError) as error:
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise click.ClickException(text) from None


def _print_status(status: ConductorStatus) -> None:
    where = status.mode if status.pid is None else f"{status.mode}, pid {status.pid}"
    if status.mode == "process":
        where += f", {status.restarts} restart(s)"
    click.echo(f"conductor: {status.state} ({where})")
    if status.reason:
        click.echo(f"reason: {status.reason}")
    for run_id in status.active_runs:
        click.echo(f"  running {run_id}")


def conductor_commands(
    served: Callable[[], ConductorPort],
    configured: Callable[[], ConductorPort],
    components: Callable[[], Sequence[AsyncComponent]] = tuple,
) -> click.Group:
    """The ``conductor`` group: ``served()`` is what ``serve`` serves, ``configured()`` the host's port.

    ``components()`` are what ``serve`` runs while it serves, as a long-lived host.
    """

    @click.group("conductor")
    def conductor() -> None:
        """Serve a conductor in its own process, or ask one for its status."""

    @conductor.command("serve")
    @click.option("--unix", "path", metavar="PATH", help="Listen on this Unix socket instead of stdio.")
    @click.option("--token", envvar="SYMPHONY_BUS_TOKEN", help="Handshake token required of clients (with --unix).")
    @click.pass_context
    def serve(ctx: click.Context, path: str | None, token: str | None) -> None:
        """Run a conductor answering conductor.* requests over the IPC envelope.

        Without --unix it speaks on stdin/stdout, as the host's supervisor starts it
        (components.conductor.options.mode = "process"); with --unix PATH it serves
        clients on that socket until SIGINT or SIGTERM.
        """
        explicit = ctx.get_parameter_source("token") == click.core.ParameterSource.COMMANDLINE
        if token and explicit and path is None:  # from the environment it may be meant for the bus
            raise click.UsageError("--token applies to --unix only; the stdio conductor trusts its parent.")
        conductor = served()
        if path is None:
            _run(serve_stdio(conductor, components()))
        else:
            _run(serve_unix(conductor, path, token=token, components=components()))

    @conductor.command("status")
    @click.option("--unix", "path", metavar="PATH", help="Ask the conductor serving this Unix socket.")
    @click.option("--token", envvar="SYMPHONY_BUS_TOKEN", help="Handshake token (with --unix).")
    @click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds to wait (with --unix).")
    @click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON document.")
    def status(path: str | None, token: str | None, timeout: float, as_json: bool) -> None:
        """Idle or busy, the active runs, and in process mode the conductor's pid and restarts.

        Without --unix it asks this host's conductor (starting its process in process mode).
        """
        if path is not None:
            document = _run(request_unix(path, STATUS, {}, token=token, timeout=timeout))
            current = msgspec.convert(document, ConductorStatus)
        else:
            current = _run(_configured_status(configured()))
        if as_json:
            click.echo(msgspec.json.encode(current).decode())
        else:
            _print_status(current)

    return conductor


async def _configured_status(port: ConductorPort) -> ConductorStatus:
    if isinstance(port, RemoteConductor):
        await port.start()
        try:
            return await port.get_status()
        finally:
            await port.close()
    return await port.get_status()
