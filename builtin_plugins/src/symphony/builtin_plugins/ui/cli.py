"""``symphony ui``: serve the console, print its one-time login link, open it in a browser.

User errors (a non-loopback host without TLS, a port in use, a missing project)
are one line on standard error and exit 1, without a traceback.
"""

from __future__ import annotations

import os
import sys
import threading
import webbrowser
from pathlib import Path
from typing import Any

import click

from symphony.hookspecs import ConfigurationError
from symphony.hookspecs.ports import (
    ArtifactHistory,
    ArtifactStorePort,
    ConductorPort,
    DagTrackerPort,
    DataAccessPort,
    HostContext,
    PermissionRecordsPort,
    PoolManagerPort,
    PortName,
    RunLogs,
    RunRetry,
    port_as,
)

from ..data.options import COMPONENT as DATA
from ..data.options import DataOptions
from ..data.plugin import trusted_authorities
from ..data.server import check_bind, serve
from ..workflow.plugin import catalogue_of, limits_of
from .api import Api
from .app import create_app
from .auth import Gate, TokenCheck
from .events import EventHub
from .extensions import ExtensionViews
from .runs import RunViews
from .tokens import DatabaseTokens, RemoteTokens
from .workflows import ProjectWorkflows

__all__ = ["ui_command"]


def _tokens(context: HostContext) -> DatabaseTokens | RemoteTokens:
    """Bearer tokens are the data service's: the remote one's, or the embedded one's database."""
    options = DataOptions.from_options(context.component_config(DATA).options)
    if options.url:
        return RemoteTokens(options.url, verify=trusted_authorities(context, options), timeout=options.timeout)
    context.port("data_access")  # opens (and first time migrates) the embedded service, so its database exists
    return DatabaseTokens(options.database or f"sqlite:///{context.data_dir / 'data' / 'service.db'}")


def _api(context: HostContext, project: Path, tokens: TokenCheck) -> Api:
    def port(name: PortName, protocol: type[object]) -> Any:
        return port_as(context, name, protocol, user="symphony ui")

    hub = EventHub()

    def runs() -> RunViews:
        return RunViews(
            records=port("data_access", DataAccessPort),
            conductor=port("conductor", ConductorPort),
            tracker=port("dag_tracker", DagTrackerPort),
            catalogue=lambda: catalogue_of(context),
            hub=hub,
            retrier=lambda: port("dag_tracker", RunRetry),
            logs=lambda: port("dag_tracker", RunLogs),
        )

    return Api(
        gate=Gate(tokens),
        workflows=ProjectWorkflows(project, lambda: catalogue_of(context), lambda: limits_of(context)),
        runs=runs,
        extensions=lambda: ExtensionViews(context, port("permission_records", PermissionRecordsPort)),
        artifacts=lambda: port("artifact_store", ArtifactStorePort),
        history=lambda: port("artifact_store", ArtifactHistory),
        pool=lambda: port("pool_manager", PoolManagerPort),
        hub=hub,
    )


def _graphical() -> bool:
    """Whether a graphical browser can open: off Linux and the BSDs, or with a display (a text browser would take
    over the terminal the console prints to)."""
    if sys.platform == "darwin" or sys.platform.startswith("win"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def ui_command(context: HostContext) -> click.Command:
    @click.command("ui")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (TLS beyond loopback).")
    @click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0 picks a free port.")
    @click.option("--open/--no-open", "open_browser", default=True, help="Open the login link in a browser.")
    @click.option(
        "--project",
        type=click.Path(path_type=Path, file_okay=False, exists=True),
        default=".",
        help="The directory whose workflow files the console shows (default: this one).",
    )
    @click.option("--tls-cert", type=click.Path(path_type=Path), default=None, help="PEM certificate (with --tls-key).")
    @click.option("--tls-key", type=click.Path(path_type=Path), default=None, help="PEM private key (with --tls-cert).")
    def ui(
        *, host: str, port: int, open_browser: bool, project: Path, tls_cert: Path | None, tls_key: Path | None
    ) -> None:
        """Serve the web console: workflows, live runs, extensions, artifacts and the model pool.

        Prints a one-time login link for you (the local user, as admin); others use a data
        service token (`Authorization: Bearer`). Listens on loopback unless given TLS.
        Stop it with Ctrl-C.
        """
        try:
            check_bind(host, tls_cert, tls_key)
            tokens = _tokens(context)
            api = _api(context, project.resolve(), tokens)
            app = create_app(context, api, secure=tls_cert is not None)

            def listening(url: str) -> None:
                link = f"{url}/?login={api.gate.login_code}"
                click.echo(f"Symphony console: {link}")
                sys.stdout.flush()
                if open_browser and _graphical():
                    threading.Thread(target=webbrowser.open, args=(link,), daemon=True).start()

            try:
                serve(app, host=host, port=port, tls_cert=tls_cert, tls_key=tls_key, on_listening=listening)
            finally:
                tokens.close()
        except ConfigurationError as error:
            raise click.ClickException(str(error)) from None

    return ui
