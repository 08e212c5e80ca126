"""The data layer's wiring: ports ``data_access`` and ``permission_records`` (embedded or remote), its
pre-validators, its options and health.

Each port is made the first time someone asks for it: the embedded service
(SQLite under ``<data_dir>/data``, opened once per host for both) unless
``[components.data.options] url`` names a remote one.  The ``data`` component
closes them with the host.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from symphony.hookspecs import (
    ComponentOptionsSpec,
    ConfigurationError,
    DataError,
    HealthCheck,
    HealthStatus,
    PortUnavailableError,
    PreValidatorSpec,
    hookimpl,
)
from symphony.hookspecs.ports import HostContext, PreValidationPort

from .options import COMPONENT, DataOptions

if TYPE_CHECKING:  # httpx, ssl and the service are imported when the port is first asked for, not with every host
    import ssl

    import click

    from .client import DataClient
    from .embedded import EmbeddedService
    from .permission_records import ServicePermissionRecords

SYMPHONY_API = "^1.0"

#: The environment variable holding the token of a remote service when no token_file is set.
TOKEN_ENV = "SYMPHONY_DATA_TOKEN"

#: Each host's client, and the embedded service behind it if any, to close with the host.
_opened: weakref.WeakKeyDictionary[HostContext, tuple[DataClient, EmbeddedService | None]] = weakref.WeakKeyDictionary()
#: Each host's permission records, and the embedded service they had to open themselves if any, to close with it.
_records: weakref.WeakKeyDictionary[HostContext, tuple[ServicePermissionRecords, EmbeddedService | None]] = (
    weakref.WeakKeyDictionary()
)


def options_of(context: HostContext) -> DataOptions:
    """This host's ``[components.data.options]``; a bad value is a ConfigurationError saying what to write."""
    return DataOptions.from_options(context.component_config(COMPONENT).options)


def _pre_validation(context: HostContext) -> PreValidationPort | None:
    try:
        port: PreValidationPort = context.port("pre_validation")
    except PortUnavailableError:
        return None  # blocked by the distribution: the service still validates authoritatively
    return port


def _path(context: HostContext, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else context.data_dir / path


def trusted_authorities(context: HostContext, options: DataOptions) -> ssl.SSLContext | bool:
    """The system's certificate authorities, or only those of ``ca_cert`` (`symphony ui` trusts the same)."""
    if not options.ca_cert:
        return True
    import ssl

    path = _path(context, options.ca_cert)
    try:
        return ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as error:
        raise ConfigurationError(
            f"Cannot use {path} (components.data.options.ca_cert) as certificate authorities: {error};"
            " give a PEM file of CA certificates."
        ) from None


def _remote_token(context: HostContext, options: DataOptions) -> str:
    if options.token_file:
        path = _path(context, options.token_file)
        try:
            return path.read_text().strip()
        except OSError as error:
            raise ConfigurationError(
                f"Cannot read the data service's token from {path} (components.data.options.token_file):"
                f" {error.strerror}; create it with `symphony data tokens create` on the service."
            ) from None
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigurationError(
            f"components.data.options.url is {options.url!r} but no token is configured; set"
            f" components.data.options.token_file or the {TOKEN_ENV} environment variable."
        )
    return token


def open_client(context: HostContext) -> tuple[DataClient, EmbeddedService | None]:
    """The client this host's options call for: the embedded service (returned too), or the remote one."""
    from .client import DataClient

    options = options_of(context)
    pre_validation = _pre_validation(context)
    if options.url:
        token = _remote_token(context, options)
        verify = trusted_authorities(context, options)
        client = DataClient.remote(
            options.url, token, pre_validation=pre_validation, timeout=options.timeout, verify=verify
        )
        return client, None
    records = _records.get(context)  # the embedded service the permission records opened, if they came first
    service = records[1] if records is not None and records[1] is not None else _open_embedded(context, options)
    return service.client(transport=options.transport, pre_validation=pre_validation), service


def _open_embedded(context: HostContext, options: DataOptions) -> EmbeddedService:
    from .embedded import open_embedded
    from .service.rules import builtin_rules

    contributed = [rule for _plugin, rule in context.contributions("symphony_data_rules").values()]
    return open_embedded(context.data_dir / "data", options.database, builtin_rules() + contributed)


def open_records(context: HostContext) -> tuple[ServicePermissionRecords, EmbeddedService | None]:
    """Permission records at the remote service, or the embedded one (this host's if open; else opened, returned)."""
    from .direct import DirectTransport
    from .permission_records import ServicePermissionRecords

    options = options_of(context)
    if options.url:
        token = _remote_token(context, options)
        verify = trusted_authorities(context, options)
        return ServicePermissionRecords.remote(options.url, token, timeout=options.timeout, verify=verify), None
    opened = _opened.get(context)
    shared = opened[1] if opened is not None else None
    service = shared or _open_embedded(context, options)
    records = ServicePermissionRecords.direct(DirectTransport(service.service, service.token))
    return records, None if shared is not None else service


class DataLifecycle:
    """Closes the data client (and the embedded service's database) with the host, if the port was used."""

    name = COMPONENT
    depends_on: tuple[str, ...] = ()

    def __init__(self, context: HostContext) -> None:
        self._context = context

    async def start(self) -> None:
        """Nothing to start: the service opens when the port is first asked for."""

    async def stop(self) -> None:
        records = _records.pop(self._context, None)
        if records is not None:
            records[0].close()
            if records[1] is not None:
                records[1].close()
        opened = _opened.pop(self._context, None)
        if opened is not None:
            client, service = opened
            await client.aclose()
            if service is not None:
                service.close()

    async def health_check(self) -> HealthStatus:
        """The service's own answer (its database, schema revision) once the port is in use."""
        opened = _opened.get(self._context)
        if opened is None:
            return HealthStatus.ok("not used yet")
        client, service = opened
        where = "embedded" if service is not None else options_of(self._context).url
        try:
            health = await client.health()
        except DataError as error:
            return HealthStatus.failed(
                f"data service ({where}): {error}", fix="Start it, or fix components.data.options.url."
            )
        if health.get("status") != "ok":
            return HealthStatus.failed(
                f"data service ({where}): its {health.get('database')} database failed ({health.get('error')})",
                fix="Check that the database server is running and reachable from the data service.",
            )
        return HealthStatus.ok(
            f"{where}, {health.get('database')} at schema {health.get('schema_revision')}",
            database=health.get("database"),
            schema_revision=health.get("schema_revision"),
        )


@hookimpl(trylast=True)
def symphony_provide_data_access(context: HostContext) -> DataClient:
    client, _service = _opened[context] = open_client(context)
    return client


@hookimpl(trylast=True)
def symphony_provide_permission_records(context: HostContext) -> ServicePermissionRecords:
    records, _service = _records[context] = open_records(context)
    return records


@hookimpl
def symphony_components(context: HostContext) -> list[DataLifecycle]:
    return [DataLifecycle(context)]


@hookimpl
def symphony_component_options() -> list[ComponentOptionsSpec]:
    return [ComponentOptionsSpec(name=COMPONENT, options=DataOptions)]


@hookimpl
def symphony_pre_validators(context: HostContext) -> list[PreValidatorSpec]:
    from .prevalidate import pre_validators

    return pre_validators()


def _sqlite() -> HealthStatus:
    import sqlite3  # ~1.5 ms, for a health check: not for every command that loads the plugin

    connection = sqlite3.connect(":memory:")
    try:
        (journal,) = connection.execute("pragma journal_mode=wal").fetchone()
        (json_ok,) = connection.execute("select json_valid('{}')").fetchone()
    finally:
        connection.close()
    if not json_ok:
        return HealthStatus.failed("SQLite lacks the JSON functions", fix="Use a Python built with SQLite >= 3.38.")
    return HealthStatus.ok(f"SQLite {sqlite3.sqlite_version}", sqlite=sqlite3.sqlite_version, journal=journal)


@hookimpl
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    return [HealthCheck(name="database", check=_sqlite)]


@hookimpl
def symphony_register_commands(cli: Any, context: HostContext) -> None:
    from symphony.hookspecs.commands import lazy_command

    def data() -> click.Command:
        from .cli import data_commands

        return data_commands(context)

    def login() -> click.Command:
        from .cli import login_command

        return login_command(context)

    def logout() -> click.Command:
        from .cli import logout_command

        return logout_command(context)

    helps = {
        "data": "The data service: serve it, migrate its database, manage users, tokens, and read its audit log.",
        "login": "Check a token against the data service at URL and remember both for the `symphony data` commands.",
        "logout": "Forget the stored login: the data commands use this host's configuration again.",
    }
    for name, build in (("data", data), ("login", login), ("logout", logout)):
        cli.add_command(lazy_command(name, build, help=helps[name]))
