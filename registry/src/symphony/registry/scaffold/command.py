"""``symphony ext new NAME --runtime ...``: a project that validates, tests and publishes as generated."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import cast

import click

from .._cli import user_errors
from . import RUNTIMES, Runtime

__all__ = ["new"]


@click.command("new")
@click.argument("name")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option("--runtime", type=click.Choice(RUNTIMES), default="subprocess", show_default=True, help="Where it runs.")
@click.option("--publisher", help="The identity your signing key is registered under (default: your user name).")
@click.option("--description", help="One line saying what it does.")
def new(name: str, directory: Path | None, runtime: str, publisher: str | None, description: str | None) -> None:
    """Create extension NAME in DIRECTORY (default ./NAME): pyproject, manifest, handler, tests, README."""
    from . import new_project

    target = directory if directory is not None else Path(name)
    with user_errors(f"Cannot create {name} in {target}", "Choose a DIRECTORY you can write."):
        new_project(name, cast(Runtime, runtime), publisher or getpass.getuser(), target, description=description)
    click.echo(f"Created {name} ({runtime}) in {target}. Next:")
    click.echo(f"  cd {target}")
    # A wasm component is built into the wheel, so an editable install would have none.
    click.echo("  pip install --no-build-isolation '.[test]'" if runtime == "wasm" else "  pip install -e '.[test]'")
    click.echo("  symphony ext validate . && pytest")
