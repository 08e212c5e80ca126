"""``symphony mcp serve``: offer the workflows under PATHS to MCP clients, over stdio or streamable HTTP."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from symphony.hookspecs import ValidationReport, Workflow
from symphony.hookspecs.ports import HostContext

from ..workflow.catalogue import Catalogue
from .exposed import Exposed, expose

if TYPE_CHECKING:
    from mcp.server import Server

__all__ = ["mcp_commands"]

_TOKEN_VARIABLE = "SYMPHONY_MCP_TOKEN"
_TOKEN_LENGTH = 16
_TOKEN_SHAPE = re.compile(rf"[\x21-\x7e]{{{_TOKEN_LENGTH},}}")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("symphony-builtins")
    except PackageNotFoundError:
        return "0"


def _offered(
    paths: tuple[Path, ...],
    catalogue: Catalogue,
    check: Callable[[Workflow], ValidationReport],
    *,
    nodes: tuple[str, ...],
) -> dict[str, Exposed]:
    """The workflows to offer; a --node that cannot be is a usage error, since the user asked for it by name."""
    exposed, skipped = expose(paths or (Path.cwd(),), catalogue, check, nodes=nodes)
    refused = [item for item in skipped if item.node]
    if refused:
        reasons = "; ".join(f"{item.source}: {item.reason}" for item in refused)
        raise click.UsageError(f"--node cannot be offered: {reasons}. Drop it, or name an installed node.")
    for item in skipped:
        click.echo(f"mcp serve: not offered: {item.source}: {item.reason}", err=True)
    names = ", ".join(sorted(exposed)) or "none"
    click.echo(f"mcp serve: {len(exposed)} workflow(s) offered as tools: {names}", err=True)
    return exposed


async def _serve_stdio(server: Server[Any]) -> None:
    import anyio
    from mcp.server.stdio import stdio_server

    from .stdio import bounded_stdin

    stdin, restore = bounded_stdin()
    try:
        async with stdio_server(stdin=anyio.wrap_file(stdin)) as (read, write):
            await server.run(read, write, server.create_initialization_options())
    finally:
        restore()


async def _serve_http(
    server: Server[Any],
    *,
    host: str,
    sock: socket.socket,
    token: str,
    tls: tuple[Path, Path] | None,
) -> None:
    import uvicorn

    from .http import bearer_guard

    app = bearer_guard(server.streamable_http_app(host=host), token)
    address = sock.getsockname()
    scheme = "https" if tls else "http"
    where = f"[{address[0]}]" if ":" in address[0] else address[0]
    click.echo(f"mcp serve: listening on {scheme}://{where}:{address[1]}/mcp", err=True)
    ssl = {"ssl_certfile": str(tls[0]), "ssl_keyfile": str(tls[1])} if tls else {}
    config = uvicorn.Config(app, log_level="warning", lifespan="on", **ssl)  # type: ignore[arg-type]
    await uvicorn.Server(config).serve(sockets=[sock])


def _token(token_file: Path | None) -> tuple[str, bool]:
    """The bearer token: from the file, else $SYMPHONY_MCP_TOKEN, else a new one (printed); and whether it is new."""
    if token_file is not None:
        try:
            lines = token_file.read_text(encoding="utf-8").strip().splitlines()
        except OSError as error:
            raise click.BadParameter(f"cannot read {token_file}: {error.strerror}", param_hint="--token-file") from None
        except UnicodeDecodeError:
            raise click.BadParameter(f"{token_file} is not UTF-8 text.", param_hint="--token-file") from None
        if not lines:
            raise click.BadParameter(
                f"{token_file} is empty; put the token on its first line.", param_hint="--token-file"
            )
        if token_file.stat().st_mode & 0o044:
            click.echo(f"mcp serve: warning: other users may read {token_file}; chmod 600 it.", err=True)
        return _checked(lines[0].strip(), f"the first line of {token_file}"), False
    if os.environ.get(_TOKEN_VARIABLE):
        return _checked(os.environ[_TOKEN_VARIABLE].strip(), f"${_TOKEN_VARIABLE}"), False
    return secrets.token_urlsafe(32), True


def _checked(token: str, where: str) -> str:
    """``token`` when a client can send it in an Authorization header (visible ASCII, no spaces) and is not short."""
    if _TOKEN_SHAPE.fullmatch(token) is None:
        raise click.UsageError(
            f"{where} cannot be sent as a bearer token: use {_TOKEN_LENGTH} or more visible ASCII characters without"
            " spaces (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')."
        )
    return token


def _bound(host: str, port: int) -> socket.socket:
    from .http import listening_socket

    try:
        return listening_socket(host, port)
    except OSError as error:
        raise click.ClickException(f"cannot serve on {host}:{port}: {error.strerror or error}") from None


def mcp_commands(
    context: HostContext, catalogue: Callable[[], Catalogue], check: Callable[[Workflow], ValidationReport]
) -> click.Group:
    """``symphony mcp``; ``check`` validates a workflow against the installed nodes (permissions included)."""

    @click.group("mcp")
    def mcp() -> None:
        """Offer this project's workflows to AI assistants over the Model Context Protocol."""

    @mcp.command("serve")
    @click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
    @click.option("--http", "use_http", is_flag=True, help="Serve streamable HTTP instead of stdio.")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind with --http.")
    @click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="Port with --http.")
    @click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), help="The bearer token (--http).")
    @click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="TLS certificate.")
    @click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="TLS private key.")
    @click.option(
        "--node",
        "nodes",
        multiple=True,
        metavar="NAME",
        help="Offer the instrument or operator NAME alone too, as tool node.NAME (repeatable).",
    )
    def serve(
        *,
        paths: tuple[Path, ...],
        use_http: bool,
        host: str,
        port: int,
        token_file: Path | None,
        tls_cert: Path | None,
        tls_key: Path | None,
        nodes: tuple[str, ...],
    ) -> None:
        """Offer the valid workflows in PATHS (files or directories; default .) as MCP tools.

        Over stdio by default, for an assistant that starts this command. With
        --http, streamable HTTP at /mcp: every request needs 'Authorization:
        Bearer TOKEN' (from --token-file, else $SYMPHONY_MCP_TOKEN, else a new
        token printed at start); an address other than loopback needs --tls-cert
        and --tls-key.
        """
        from ..ipc.transports.tcp import is_loopback
        from .server import build_server

        if (tls_cert is None) != (tls_key is None):
            raise click.UsageError("Give both --tls-cert and --tls-key, or neither.")
        tls = (tls_cert, tls_key) if tls_cert is not None and tls_key is not None else None
        if use_http and not is_loopback(host) and tls is None:
            raise click.UsageError(
                f"--host {host} is reachable from other machines: serve it with --tls-cert and --tls-key,"
                " or bind a loopback address (127.0.0.1, ::1)."
            )
        if not use_http and (tls is not None or token_file is not None):
            raise click.UsageError("--token-file, --tls-cert and --tls-key are for --http; stdio needs none.")
        token, new = _token(token_file) if use_http else ("", False)
        server = build_server(context, _offered(paths, catalogue(), check, nodes=nodes), _version())
        if new:
            click.echo(f"mcp serve: bearer token (send as 'Authorization: Bearer <token>'): {token}", err=True)
        sys.stderr.flush()
        try:
            if use_http:
                sock = _bound(host, port)
                with sock:
                    asyncio.run(_serve_http(server, host=host, sock=sock, token=token, tls=tls))
            else:
                asyncio.run(_serve_stdio(server))
        except KeyboardInterrupt:
            raise SystemExit(130) from None

    return mcp
