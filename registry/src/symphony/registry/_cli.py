"""What the registry's commands share: errors that are the user's to fix become one line, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from symphony.hookspecs import RegistryError

__all__ = ["user_errors"]


@contextmanager
def user_errors(failed: str | None = None, fix: str = "") -> Iterator[None]:
    """A RegistryError's message as the command's error; with ``failed``, an OSError too: what failed, why, ``fix``."""
    try:
        yield
    except RegistryError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        if failed is None:
            raise
        where = f" ({error.filename})" if error.filename else ""
        raise click.ClickException(f"{failed}: {error.strerror or error}{where}. {fix}".rstrip()) from None
