"""``symphony ext keygen`` and ``symphony ext publish``: a publisher's key, and validate → build → sign → upload.

``publish`` checks the manifest with the host's own ``symphony ext validate``
(reached through the root click group, never by importing the host), builds
a wheel with ``build``, signs its statement, and sends the signature before
the wheel: the index checks the key at once, so a wrong or revoked key
uploads nothing.  The wheel then goes up with ``twine``, the tool publishers
already use, and the index attaches the waiting signature to it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Final

import click
import httpx
import msgspec

from symphony.hookspecs import key_id

from . import signing
from ._cli import user_errors
from .wheels import read_wheel

__all__ = ["DEFAULT_KEY", "keygen", "publish"]

#: Where ``keygen`` writes and ``publish`` reads a publisher key unless told otherwise.
DEFAULT_KEY: Final = Path(click.get_app_dir("symphony")) / "publisher-key.pem"
_TIMEOUT: Final = httpx.Timeout(60.0, connect=10.0)
_TWINE: Final = (sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar")


@click.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def keygen(path: Path | None) -> None:
    """Create a publisher key at PATH (default: your Symphony config directory); an existing key is never replaced."""
    target = path or DEFAULT_KEY
    key = signing.generate_key()
    with user_errors(f"Cannot write a key to {target}", "Choose a PATH in a directory you can write."):
        signing.save_private_key(key, target)
    public = signing.public_text(key)
    click.echo(f"Wrote a private key to {target} (readable by you only; back it up, never share it).")
    click.echo(f"Public key (id {key_id(public)}): {public}")
    click.echo("Send the public key to the index's operator, who registers it with:")
    click.echo(f'  symphony registry publisher add DIR "<publisher name in your manifest>" {public}')


def _validate(ctx: click.Context, project: Path) -> None:
    """Run the host's ``symphony ext validate`` on ``project``; a ClickException when it finds problems."""
    root = ctx.find_root()
    group = root.command
    ext = group.get_command(root, "ext") if isinstance(group, click.Group) else None
    validate = ext.get_command(root, "validate") if isinstance(ext, click.Group) else None
    if validate is None:
        raise click.ClickException("the host has no `symphony ext validate` command; is symphony-host installed?")
    try:
        ctx.invoke(validate, path=project, as_json=False)
    except click.exceptions.Exit as done:
        if done.exit_code != 0:
            raise click.ClickException(
                f"{project} does not validate; fix the problems above and publish again"
            ) from None


def _backend_importable(project: Path) -> str | None:
    """The build backend's module when it is importable here (then an isolated build env is not needed)."""
    try:
        document = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise click.ClickException(f"cannot read {project / 'pyproject.toml'}: {error}") from None
    backend = str(document.get("build-system", {}).get("build-backend", "setuptools.build_meta:__legacy__"))
    module = backend.split(":", 1)[0]
    try:
        found = importlib.util.find_spec(module.split(".", 1)[0]) is not None
    except (ImportError, ValueError):
        found = False
    return module if found else None


def _build(project: Path, outdir: Path, *, isolated: bool) -> Path:
    backend = None if isolated else _backend_importable(project)
    command = [sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir)]
    if backend is not None:
        click.echo(f"Building without isolation ({backend} is installed here; --isolated builds in a fresh env).")
        command.append("--no-isolation")
    result = subprocess.run([*command, str(project)], check=False, capture_output=True, text=True)
    if result.returncode != 0:
        raise click.ClickException(f"building {project} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    wheels = sorted(outdir.glob("*.whl"))
    if len(wheels) != 1:
        raise click.ClickException(f"building {project} made {len(wheels)} wheels; expected one")
    return wheels[0]


def _auth(username: str | None, password: str | None) -> httpx.BasicAuth | None:
    return httpx.BasicAuth(username, password or "") if username else None


@click.command()
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--repository-url",
    envvar="SYMPHONY_PUBLISH_URL",
    required=True,
    help="The index to publish to, e.g. http://127.0.0.1:8080/ (or $SYMPHONY_PUBLISH_URL).",
)
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SYMPHONY_PUBLISHER_KEY",
    default=DEFAULT_KEY,
    show_default=True,
    help="Your publisher key (PEM), from `symphony ext keygen`.",
)
@click.option("--username", envvar="TWINE_USERNAME", help="The index's login, when it has --passwords.")
@click.option("--password", envvar="TWINE_PASSWORD", help="The password of --username.")
@click.option("--isolated", is_flag=True, help="Build in an isolated environment even when the backend is installed.")
@click.pass_context
def publish(
    ctx: click.Context,
    path: Path,
    *,
    repository_url: str,
    key_path: Path,
    username: str | None,
    password: str | None,
    isolated: bool,
) -> None:
    """Validate, build, sign and upload the extension project at PATH (default: here)."""
    url = repository_url.rstrip("/") + "/"
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter(
            f"{repository_url!r} is not an http(s) URL (e.g. http://127.0.0.1:8080/)", param_hint="--repository-url"
        )
    project = path.resolve()
    with user_errors():
        key = signing.load_private_key(key_path)
    _validate(ctx, project)
    with tempfile.TemporaryDirectory(prefix="symphony-publish-") as scratch:
        wheel = _build(project, Path(scratch), isolated=isolated)
        with user_errors():
            statement = read_wheel(wheel).statement()
        signature = signing.sign(key, statement)
        try:
            answer = httpx.post(
                f"{url}symphony/signatures",
                content=msgspec.json.encode(signature),
                auth=_auth(username, password),
                timeout=_TIMEOUT,
            )
        except httpx.HTTPError as error:
            raise click.ClickException(
                f"Cannot reach the index at {url}: {error}. Check --repository-url and that the index is running;"
                " nothing was uploaded."
            ) from None
        if answer.status_code not in {200, 202}:
            raise click.ClickException(f"the index refused the signature ({answer.status_code}): {answer.text.strip()}")
        _upload(wheel, url, username, password)
    click.echo(f"Published {wheel.name} to {url}, signed by {statement.publisher!r} with key {key_id(signature.key)}.")


def _upload(wheel: Path, url: str, username: str | None, password: str | None) -> None:
    environment = {**os.environ, "TWINE_USERNAME": username or "symphony", "TWINE_PASSWORD": password or "-"}
    result = subprocess.run(
        [*_TWINE, "--repository-url", url, str(wheel)],
        check=False,
        capture_output=True,
        text=True,
        env=environment,
    )
    if result.returncode != 0:
        raise click.ClickException(
            f"twine could not upload {wheel.name}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
