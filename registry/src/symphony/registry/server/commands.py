"""``symphony registry init|serve|publisher|keys|yank``: run a private index and manage what it signs.

Every command that changes the index takes the registry directory's lock, so
it is safe while ``serve`` runs.
"""

from __future__ import annotations

import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Final

import click

from .._cli import user_errors
from .repository import EXPIRY, ROLES, Repository

__all__ = ["init", "keys", "publisher", "serve", "yank"]

_DIR = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
#: waitress threads: uploads and downloads are I/O bound; eight keep a slow client from blocking the index.
_THREADS: Final = 8


def _open(directory: Path) -> Repository:
    with user_errors():
        return Repository.open(directory)


@click.command()
@_DIR
def init(directory: Path) -> None:
    """Create a registry in DIRECTORY: keys, signed empty metadata, and root.json to hand to users."""
    with user_errors(f"Cannot create a registry in {directory}", "Choose a new or empty directory you can write to."):
        Repository.create(directory)
    click.echo(f"Created a registry in {directory}.")
    click.echo(f"Give users {directory / 'root.json'}: it is the trust anchor their client pins.")
    click.echo(f"The private keys are in {directory / 'keys'}; keep the root key offline in production.")


def _renew_forever(repository: Repository, interval: float, stop: threading.Event) -> None:
    """Re-sign timestamp (and any online role) before it expires, for as long as the server runs."""
    while not stop.wait(interval):
        try:
            repository.renew()
        except Exception as error:  # a dead renewer would let the index freeze; the next round retries
            click.echo(f"could not re-sign the registry's metadata: {error}", err=True)


@click.command()
@_DIR
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option(
    "--timestamp-expiry",
    type=click.IntRange(2),
    default=int(EXPIRY["timestamp"].total_seconds()),
    show_default=True,
    help="Seconds a signed timestamp is valid; it is re-signed when half of that has passed.",
)
@click.option(
    "--passwords",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="An htpasswd file: uploads and signatures need one of its logins.",
)
@click.option("--no-auth", is_flag=True, help="Accept uploads from anyone who can connect (loopback tests only).")
@click.option(
    "--max-upload",
    type=click.IntRange(1024),
    default=100 * 1024 * 1024,
    show_default=True,
    help="The largest upload accepted, in bytes.",
)
def serve(
    directory: Path,
    *,
    host: str,
    port: int,
    timestamp_expiry: int,
    passwords: Path | None,
    no_auth: bool,
    max_upload: int,
) -> None:
    """Serve the registry in DIRECTORY: a PEP 503 index at /simple/, uploads at /, TUF metadata at /tuf/."""
    if (passwords is None) == (not no_auth):
        raise click.UsageError("give --passwords FILE (htpasswd) to protect uploads, or --no-auth to accept any")
    from waitress.server import create_server

    from .app import make_app

    with user_errors():
        repository = Repository.open(directory, timestamp_expiry=timedelta(seconds=timestamp_expiry))
        repository.renew()
    try:
        app = make_app(repository, password_file=passwords, max_upload=max_upload)
    except ValueError as error:  # passlib's refusal of the htpasswd file, read when the app is made
        if passwords is None:
            raise
        raise click.ClickException(
            f"{passwords} is not an htpasswd file ({error}). Each line is USER:HASH, as `htpasswd -c -B FILE USER`"
            " writes."
        ) from None
    try:
        server = create_server(
            app,
            host=host,
            port=port,
            threads=_THREADS,
            max_request_body_size=max_upload + 64 * 1024,
            ident="symphony-registry",
        )
    except OSError as error:  # the port is taken, the address is not this machine's, a privileged port...
        raise click.ClickException(
            f"Cannot listen on {host}:{port}: {error.strerror or error}. Choose another --port (0 picks a free"
            " one) or --host, or stop what is listening there."
        ) from None
    stop = threading.Event()
    interval = max(0.5, min(60.0, timestamp_expiry / 8))
    threading.Thread(target=_renew_forever, args=(repository, interval, stop), daemon=True).start()

    def terminate(number: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, terminate)
    click.echo(f"Serving http://{host}:{server.effective_port}/")
    sys.stdout.flush()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.close()


@click.group()
def publisher() -> None:
    """Register publishers and their keys, or revoke a key."""


@publisher.command("add")
@_DIR
@click.argument("name")
@click.argument("key")
def publisher_add(directory: Path, name: str, key: str) -> None:
    """Trust KEY (ed25519:...) to sign NAME's extensions on this index."""
    with user_errors():
        _open(directory).add_publisher_key(name, key)
    click.echo(f"{name!r} may now sign with {key}.")


@publisher.command("revoke")
@_DIR
@click.argument("name")
@click.argument("key")
def publisher_revoke(directory: Path, name: str, key: str) -> None:
    """Revoke NAME's KEY: signatures by it are refused from now on, here and at install."""
    with user_errors():
        _open(directory).revoke_publisher_key(name, key)
    click.echo(f"Revoked {key} of {name!r}.")


@click.group()
def keys() -> None:
    """The registry's own signing keys (TUF roles): list, rotate, revoke."""


@keys.command("list")
@_DIR
def keys_list(directory: Path) -> None:
    """Each role and its key IDs."""
    for role, keyids in _open(directory).role_keys().items():
        click.echo(f"{role:10} {' '.join(keyids)}")


@keys.command("rotate")
@_DIR
@click.argument("role", type=click.Choice(ROLES))
def keys_rotate(directory: Path, role: str) -> None:
    """Give ROLE a new key; clients holding an older root still update (the new root is signed by the old key)."""
    with user_errors():
        old, new = _open(directory).rotate(role)
    click.echo(f"{role}: key {old[:16]} replaced by {new[:16]}.")


@keys.command("revoke")
@_DIR
@click.argument("keyid")
def keys_revoke(directory: Path, keyid: str) -> None:
    """Stop trusting the registry key KEYID (at least 8 hex digits): its role gets a new key at once."""
    with user_errors():
        role, old, new = _open(directory).revoke_role_key(keyid)
    click.echo(f"Revoked {old[:16]} ({role}); {role} is now signed by {new[:16]}.")


@click.command()
@_DIR
@click.argument("distribution")
@click.argument("version")
@click.option("--reason", help="Shown to users who resolve or install it.")
def yank(directory: Path, distribution: str, version: str, reason: str | None) -> None:
    """Mark DISTRIBUTION VERSION yanked: only an exact pin (==VERSION) still installs it, with a warning."""
    with user_errors():
        files = _open(directory).yank(distribution, version, reason)
    click.echo(f"Yanked {', '.join(files)}.")
