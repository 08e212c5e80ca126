"""``symphony data serve|migrate|import-runs|import-permissions|users|tokens|audit`` and ``symphony login|logout``.

The management commands are clients of the data service like any other: they go
through ``DataClient``, so the service's RBAC, rules and audit apply to them too.
Which service: ``--database URL`` (that database, in this process, as its local
admin), else ``--url URL``, else the stored login (``symphony login``), else this
host's ``[components.data.options]`` (the embedded service unless ``url`` is set).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import ssl
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import msgspec

from symphony.hookspecs import ConfigurationError, PortUnavailableError, UserId
from symphony.hookspecs.ports import CreateTokenRequest, CreateUserRequest, HostContext, PreValidationPort

from .credentials import Login, forget, login_file, read_login, store

if TYPE_CHECKING:
    from .client import DataClient
    from .embedded import EmbeddedService
    from .legacy import LegacyStore

__all__ = ["data_commands", "login_command", "logout_command"]

T = TypeVar("T")

#: The token of ``--url`` when no login for that URL is stored.
TOKEN_ENV = "SYMPHONY_DATA_TOKEN"
#: The database of ``serve``, ``migrate`` and ``--database`` when the option is not given (keeps passwords off argv).
DATABASE_ENV = "SYMPHONY_DATA_DATABASE"


def _echo_json(document: Any) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(document), indent=2).decode())


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable database URL>"


def _default_database(context: HostContext) -> str:
    from .embedded import DATABASE_FILE
    from .plugin import options_of

    configured = options_of(context).database
    return configured or f"sqlite:///{context.data_dir / 'data' / DATABASE_FILE}"


def _checked(url: str) -> str:
    """``url`` if it names a database the service runs on; otherwise an error that does not repeat it (passwords)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        backend = make_url(url).get_backend_name()
    except (ArgumentError, ValueError):
        raise ConfigurationError(
            f"The database ({DATABASE_ENV} or --database) is not a database URL; write sqlite:///PATH"
            " or postgresql://USER@HOST/NAME."
        ) from None
    if backend not in {"sqlite", "postgresql"}:
        raise ConfigurationError(
            f"The data service runs on SQLite or PostgreSQL, not {backend}; write sqlite:///PATH"
            " or postgresql://USER@HOST/NAME."
        )
    return url


def _database_error(url: str, error: Exception) -> ConfigurationError:
    if isinstance(error, ImportError):
        return ConfigurationError(
            f"{_redacted(url)} needs a driver that is not installed ({error.name}):"
            " pip install 'symphony-builtins[postgres]'."
        )
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return ConfigurationError(
        f"Cannot use the database {_redacted(url)}: {reason}. Check the URL (--database or {DATABASE_ENV})"
        " and that the database server is running."
    )


def _migrated(url: str) -> str:
    """Migrate ``url`` to the newest schema; a database that cannot be reached is one clear line."""
    from sqlalchemy.exc import SQLAlchemyError

    from .service.migrate import migrate

    _checked(url)
    if url.startswith("sqlite:///"):  # a SQLite file's directory is ours to make, like the embedded service's
        Path(url.removeprefix("sqlite:///")).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        return migrate(url)
    except (SQLAlchemyError, ImportError) as error:
        raise _database_error(url, error) from None


def _rules(context: HostContext) -> list[Any]:
    from .service.rules import builtin_rules

    return builtin_rules() + [rule for _plugin, rule in context.contributions("symphony_data_rules").values()]


def _pre_validation(context: HostContext) -> PreValidationPort | None:
    try:
        port: PreValidationPort = context.port("pre_validation")
    except PortUnavailableError:
        return None
    return port


def _service_url(url: str) -> str:
    """``url`` without a trailing slash, if tokens sent to it cannot be read on the way (https, or loopback)."""
    import httpx

    from .server import is_loopback

    try:
        parsed = httpx.URL(url.rstrip("/"))
    except httpx.InvalidURL as error:
        raise ConfigurationError(f"{url!r} is not a URL ({error}); write https://HOST[:PORT].") from None
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise ConfigurationError(f"{url!r} is not an http(s) URL; write https://HOST[:PORT].")
    if parsed.scheme == "http" and not is_loopback(parsed.host):
        raise ConfigurationError(
            f"Refusing to send a token to {url} in clear text; use https:// (plain http only on loopback)."
        )
    return str(parsed)


def _verify(ca_cert: str) -> Any:
    return ssl.create_default_context(cafile=ca_cert) if ca_cert else True


class Target:
    """Which data service a command talks to (the options every client command shares)."""

    def __init__(self, context: HostContext, url: str | None, database: str | None) -> None:
        self.context = context
        self.url = url
        self.database = database

    def client(self) -> tuple[DataClient, EmbeddedService | None]:
        """The client, and the embedded service behind it when there is one (closed after the client)."""
        from .client import DataClient

        pre = _pre_validation(self.context)
        if self.database:
            return self._embedded(self.database, pre)
        login = read_login()
        if self.url:
            url = _service_url(self.url)
            if login is not None and login.url == url:
                return DataClient.remote(url, login.token, pre_validation=pre, verify=_verify(login.ca_cert)), None
            token = os.environ.get(TOKEN_ENV, "").strip()
            if not token:
                raise ConfigurationError(f"No token for {url}: run `symphony login {url}` or set {TOKEN_ENV}.")
            return DataClient.remote(url, token, pre_validation=pre), None
        if login is not None:
            return DataClient.remote(login.url, login.token, pre_validation=pre, verify=_verify(login.ca_cert)), None
        from .plugin import open_client

        return open_client(self.context)

    def _embedded(self, database: str, pre: PreValidationPort | None) -> tuple[DataClient, EmbeddedService]:
        """``database`` served in this process (called directly), as the local admin (its token kept apart)."""
        service = _database_service(self.context, database)
        return service.client(pre_validation=pre), service

    def run(self, use: Callable[[DataClient], Awaitable[T]]) -> T:
        """Open the client, make the calls, close it (and the embedded service's database)."""

        async def main() -> T:
            client, service = self.client()
            try:
                return await use(client)
            finally:
                await client.aclose()
                if service is not None:
                    service.close()

        return asyncio.run(main())


def _target_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON document.")(command)
    command = click.option(
        "--database",
        envvar=DATABASE_ENV,
        default=None,
        help=f"Work on this database directly, as its local admin (SQLAlchemy URL; or ${DATABASE_ENV}).",
    )(command)
    return click.option("--url", default=None, help="The data service at this URL (default: the login, else config).")(
        command
    )


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> None:
    if not rows:
        click.echo("(none)")
        return
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _page_out(page: Any, as_json: bool, header: Sequence[str], row: Callable[[Any], Sequence[str]]) -> None:
    if as_json:
        _echo_json(page)
        return
    _table([row(item) for item in page.items], header)
    if page.next_cursor:
        click.echo(f"more: --cursor {page.next_cursor}")


def _one_out(record: Any, as_json: bool) -> None:
    if as_json:
        _echo_json(record)
        return
    for name, value in msgspec.structs.asdict(record).items():
        click.echo(f"{name}: {'-' if value is None else value}")


def _serve_command(context: HostContext) -> click.Command:
    @click.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (non-loopback needs TLS).")
    @click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
    @click.option("--database", envvar=DATABASE_ENV, default=None, help=f"SQLAlchemy URL (or ${DATABASE_ENV}).")
    @click.option("--tls-cert", type=click.Path(path_type=Path), default=None, help="PEM certificate (chain).")
    @click.option("--tls-key", type=click.Path(path_type=Path), default=None, help="PEM private key.")
    @click.option("--json", "as_json", is_flag=True, help="Announce the URL as a JSON line.")
    def serve(
        *, host: str, port: int, database: str | None, tls_cert: Path | None, tls_key: Path | None, as_json: bool
    ) -> None:
        """Serve the data service over HTTP until SIGTERM/SIGINT, after migrating its database."""
        from .server import check_bind
        from .server import serve as run_server
        from .service.app import create_app
        from .service.settings import ServiceSettings

        check_bind(host, tls_cert, tls_key)  # before touching the database
        url = database or _default_database(context)
        revision = _migrated(url)

        def announce(listening: str) -> None:
            if as_json:
                click.echo(msgspec.json.encode({"url": listening, "schema_revision": revision}).decode())
            else:
                click.echo(f"listening on {listening}")

        app = create_app(ServiceSettings(database=url), _rules(context))
        run_server(app, host=host, port=port, tls_cert=tls_cert, tls_key=tls_key, on_listening=announce)

    return serve


def _database_service(context: HostContext, database: str | None) -> EmbeddedService:
    """The service over ``database`` (default: this host's own), opened here as its local admin.

    A host configured for a remote service (``components.data.options.url``) names no database of its own.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from .embedded import open_embedded
    from .plugin import options_of

    if database:
        directory = context.data_dir / "data" / "databases" / hashlib.sha256(database.encode()).hexdigest()[:16]
    elif options_of(context).url:
        raise ConfigurationError(
            f"This host uses the data service at {options_of(context).url}, whose database is not here; run the"
            f" command with --database URL (or {DATABASE_ENV}) where that database can be reached."
        )
    else:
        directory, database = context.data_dir / "data", options_of(context).database
    try:
        return open_embedded(directory, _checked(database) if database else "", _rules(context))
    except (SQLAlchemyError, ImportError) as error:
        raise _database_error(database, error) from None


def _users_group(context: HostContext) -> click.Group:
    @click.group("users")
    def users() -> None:
        """Manage the data service's users (admin only)."""

    @users.command("add")
    @click.argument("name")
    @click.option("--email", required=True, help="Unique per service.")
    @click.option("--role", type=click.Choice(["admin", "editor", "viewer", "service"]), default="viewer")
    @_target_options
    def add(*, name: str, email: str, role: str, url: str | None, database: str | None, as_json: bool) -> None:
        """Create a user (then give it a token: `symphony data tokens create --user ID`)."""
        request = CreateUserRequest(name=name, email=email, role=role)
        _one_out(Target(context, url, database).run(lambda client: client.create_user(request)), as_json)

    @users.command("list")
    @click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
    @click.option("--cursor", default=None, help="Continue after the previous page (its `more:` line).")
    @_target_options
    def list_(limit: int, cursor: str | None, url: str | None, database: str | None, as_json: bool) -> None:
        """List users, a page at a time."""
        page = Target(context, url, database).run(lambda client: client.list_users(limit=limit, cursor=cursor))
        _page_out(page, as_json, ("ID", "NAME", "EMAIL", "ROLE"), lambda u: (u.id, u.name, u.email, u.role))

    @users.command("show")
    @click.argument("user_id", metavar="ID")
    @_target_options
    def show(user_id: str, url: str | None, database: str | None, as_json: bool) -> None:
        """Show one user."""
        from symphony.hookspecs import NotFoundError

        user = Target(context, url, database).run(lambda client: client.get_user(UserId(user_id)))
        if user is None:
            raise NotFoundError(f"No user {user_id!r}; `symphony data users list` shows the ids.")
        _one_out(user, as_json)

    return users


def _tokens_group(context: HostContext) -> click.Group:
    @click.group("tokens")
    def tokens() -> None:
        """Create, list and revoke API tokens (a token is shown once, when created)."""

    @tokens.command("create")
    @click.option("--name", required=True, help="What the token is for (shown in listings).")
    @click.option("--expires-in", type=click.FloatRange(min=1), default=None, help="Lifetime in seconds.")
    @click.option("--user", "user_id", default=None, help="For this user (admin only; default: yourself).")
    @_target_options
    def create(
        *,
        name: str,
        expires_in: float | None,
        user_id: str | None,
        url: str | None,
        database: str | None,
        as_json: bool,
    ) -> None:
        """Create a token; it is printed once and stored only as a hash."""
        request = CreateTokenRequest(
            name=name, expires_in=expires_in, user_id=None if user_id is None else UserId(user_id)
        )
        made = Target(context, url, database).run(lambda client: client.create_token(request))
        if as_json:
            _echo_json(made)
            return
        click.echo(f"id: {made.id}\nname: {made.name}\nexpires_at: {made.expires_at or 'never'}")
        click.echo(f"token: {made.token}")
        click.echo("Store the token now: it cannot be shown again.", err=True)

    @tokens.command("list")
    @click.option("--user", "user_id", default=None, help="This user's tokens (admin only; default: yours).")
    @click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
    @click.option("--cursor", default=None, help="Continue after the previous page (its `more:` line).")
    @_target_options
    def list_(
        *, user_id: str | None, limit: int, cursor: str | None, url: str | None, database: str | None, as_json: bool
    ) -> None:
        """List tokens (never their secrets)."""
        page = Target(context, url, database).run(
            lambda client: client.list_tokens(
                user_id=None if user_id is None else UserId(user_id), limit=limit, cursor=cursor
            )
        )

        def row(t: Any) -> tuple[str, ...]:
            expires = t.expires_at.isoformat() if t.expires_at else "never"
            return (t.id, t.name, t.user_id, expires, "revoked" if t.revoked else "active")

        _page_out(page, as_json, ("ID", "NAME", "USER", "EXPIRES", "STATE"), row)

    @tokens.command("revoke")
    @click.argument("token_id", metavar="ID")
    @_target_options
    def revoke(token_id: str, url: str | None, database: str | None, as_json: bool) -> None:
        """Revoke a token: it is refused from now on."""
        Target(context, url, database).run(lambda client: client.revoke_token(token_id))
        if as_json:
            _echo_json({"revoked": token_id})
        else:
            click.echo(f"revoked {token_id}")

    return tokens


def _audit_group(context: HostContext) -> click.Group:
    @click.group("audit")
    def audit() -> None:
        """Read the data service's append-only audit log (admin only)."""

    @audit.command("list")
    @click.option("--resource", default=None, help="Only this kind of resource (user, token, workflow, ...).")
    @click.option("--actor", default=None, help="Only writes by this identity id.")
    @click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
    @click.option("--cursor", default=None, help="Continue after the previous page (its `more:` line).")
    @_target_options
    def list_(
        *,
        resource: str | None,
        actor: str | None,
        limit: int,
        cursor: str | None,
        url: str | None,
        database: str | None,
        as_json: bool,
    ) -> None:
        """List audit records, a page at a time: who did what to which record, when."""
        page = Target(context, url, database).run(
            lambda client: client.list_audit(limit=limit, cursor=cursor, resource=resource, actor=actor)
        )
        _page_out(
            page,
            as_json,
            ("AT", "ACTOR", "ACTION", "RESOURCE", "ID"),
            lambda r: (r.at.isoformat(timespec="seconds"), r.actor, r.action, r.resource, r.resource_id),
        )

    return audit


def data_commands(context: HostContext) -> click.Group:
    """The ``data`` group."""

    @click.group("data")
    def data() -> None:
        """The data service: serve it, migrate its database, manage users, tokens, and read its audit log."""

    @data.command("migrate")
    @click.option("--database", envvar=DATABASE_ENV, default=None, help=f"SQLAlchemy URL (or ${DATABASE_ENV}).")
    @click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON document.")
    def migrate(database: str | None, as_json: bool) -> None:
        """Bring the database to the newest schema (the default: this host's embedded database)."""
        url = database or _default_database(context)
        revision = _migrated(url)
        if as_json:
            _echo_json({"database": _redacted(url), "schema_revision": revision})
        else:
            click.echo(f"{_redacted(url)} is at schema revision {revision}")

    @data.command("import-runs")
    @click.argument("path", type=click.Path(path_type=Path))
    @click.option("--database", envvar=DATABASE_ENV, default=None, help=f"SQLAlchemy URL (or ${DATABASE_ENV}).")
    @click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON document.")
    def import_runs(path: Path, database: str | None, as_json: bool) -> None:
        """Import the runs of an old runs.db (the DAG tracker's own store) into the data service, as its local admin.

        Runs already present are skipped, so importing a file twice is harmless; the file is left as it is.
        """
        from .import_runs import LegacyRuns, import_runs_file

        imported = _import(context, database, path, LegacyRuns, import_runs_file)
        if as_json:
            _echo_json({"path": str(path), **dataclasses.asdict(imported)})
            return
        click.echo(
            f"imported {imported.runs} runs ({imported.skipped} already present), {imported.nodes} checkpoints and"
            f" {imported.cache_entries} cache entries from {path}"
        )

    @data.command("import-permissions")
    @click.argument("path", type=click.Path(path_type=Path))
    @click.option("--database", envvar=DATABASE_ENV, default=None, help=f"SQLAlchemy URL (or ${DATABASE_ENV}).")
    @click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON document.")
    def import_permissions(path: Path, database: str | None, as_json: bool) -> None:
        """Import an old permissions.db (grants, trust marks, decisions) into the data service, as its local admin's.

        Records already present are kept, so importing a file twice is harmless; the file is left as it is.
        """
        from .import_permissions import LegacyPermissions, import_permissions_file

        imported = _import(context, database, path, LegacyPermissions, import_permissions_file)
        if as_json:
            _echo_json({"path": str(path), **dataclasses.asdict(imported)})
            return
        click.echo(
            f"imported {imported.grants} grants, {imported.trust_marks} trust marks and {imported.decisions} decisions"
            f" ({imported.skipped} already present) from {path}"
        )

    data.add_command(_serve_command(context))
    data.add_command(_users_group(context))
    data.add_command(_tokens_group(context))
    data.add_command(_audit_group(context))
    return data


def _import(
    context: HostContext,
    database: str | None,
    path: Path,
    store: Callable[[Path], LegacyStore],
    import_file: Callable[..., T],
) -> T:
    """``import_file`` of the old store at ``path`` as the database's local admin; a missing or foreign file is
    refused (by opening it as ``store``) before any database is opened."""
    store(path).close()
    service = _database_service(context, database)
    try:
        return import_file(service.url, path, token=service.token)
    finally:
        service.close()


def login_command(context: HostContext) -> click.Command:
    @click.command("login")
    @click.argument("url")
    @click.option("--token", default=None, help="The token (default: asked for, not echoed).")
    @click.option("--ca-cert", type=click.Path(exists=True, dir_okay=False), default=None, help="CA to trust (PEM).")
    @click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON document.")
    def login(url: str, token: str | None, ca_cert: str | None, as_json: bool) -> None:
        """Check a token against the data service at URL and remember both for the `symphony data` commands."""
        from .client import DataClient

        url = _service_url(url)
        if token is None:
            token = click.prompt("Token", hide_input=True)
        token = token.strip()
        if not token:
            raise click.BadParameter("is empty", param_hint="--token")
        ca = str(Path(ca_cert).resolve()) if ca_cert else ""

        async def whoami() -> Any:
            async with DataClient.remote(url, token, verify=_verify(ca)) as client:
                return await client.me()

        me = asyncio.run(whoami())
        path = store(Login(url=url, token=token, ca_cert=ca))
        if as_json:
            _echo_json({"url": url, "user": me, "stored": str(path)})
        else:
            click.echo(f"logged in to {url} as {me.name} ({me.role}); token stored in {path}")

    return login


def logout_command(context: HostContext) -> click.Command:
    @click.command("logout")
    @click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON document.")
    def logout(as_json: bool) -> None:
        """Forget the stored login: the data commands use this host's configuration again."""
        removed = forget()
        if as_json:
            _echo_json({"logged_out": removed, "file": str(login_file())})
        else:
            click.echo("logged out" if removed else "not logged in")

    return logout
